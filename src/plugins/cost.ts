// The cost check before execution: a query's cost worked out from its shape (src/limits.ts) and refused with TOO_COMPLEX before any resolver runs.
//
// It runs at onExecute, synchronously: the document is valid by then, and the variables are
// coerced here as execution would coerce them. Root fields are collected as graphql-js collects
// them (fragments once each, inline fragments, @skip/@include, one execution per response key),
// and each field's cost comes from its resolver module's shape-cost function, from the arguments
// alone: no key is named, no period made, so the refusal of a request asking for millions of keys
// costs no more than reading it. A field whose arguments its cost function refuses is left to its
// resolver, which refuses it with the same error before any work.

import { GraphQLError, GraphQLIncludeDirective, GraphQLSkipDirective, Kind, getArgumentValues, getDirectiveValues, getOperationAST, getVariableValues } from 'graphql';
import type { FieldNode, FragmentDefinitionNode, GraphQLField, SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BitmapError } from '../bitmap/errors.ts';
import type { Context } from '../context.ts';
import { tooCostly } from '../limits.ts';
import { cohortCost, funnelCost, seriesCost } from '../resolvers/analytics.ts';
import type { CohortArgs } from '../resolvers/analytics.ts';
import { counterBreakdownCost, countBreakdownCost, seriesBreakdownCost } from '../resolvers/breakdown.ts';
import { counterSeriesCost, topCountersCost } from '../resolvers/counters.ts';
import { memberPageCost, setQuestionCost } from '../resolvers/sets.ts';
import { namesVariable } from '../schema/literal.ts';

/** Query fields that ask set or counter questions, and their cost from their coerced arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arguments as graphql-js coerced them, typed by the schema
const FIELD_COSTS: Record<string, (ctx: Context, args: any) => number> = {
  count: (ctx, a) => setQuestionCost(ctx, a.set, a.timeZone),
  hasEvents: (ctx, a) => setQuestionCost(ctx, a.set, a.timeZone),
  contains: (ctx, a) => setQuestionCost(ctx, a.set, a.timeZone),
  members: (ctx, a) => memberPageCost(ctx, a.set, a.first, a.timeZone),
  series: (ctx, a) => seriesCost(ctx, a.set, a),
  cohort: (ctx, a) => cohortCost(ctx, a as CohortArgs),
  funnel: (ctx, a) => funnelCost(ctx, a.steps, a.timeZone),
  counters: (ctx, a) => topCountersCost(ctx, a.period, a.top, a.timeZone),
  counterSeries: (ctx, a) => counterSeriesCost(ctx, a),
  // Priced as MAX_BREAKDOWN_VALUES values: how many match is known only after the scan.
  countBreakdown: (ctx, a) => countBreakdownCost(ctx, a),
  seriesBreakdown: (ctx, a) => seriesBreakdownCost(ctx, a),
  counterBreakdown: (ctx, a) => counterBreakdownCost(ctx, a),
};

/** Over MAX_TIME_ZONES: refused before any zone is looked up. */
export const tooManyTimeZones = (zones: number, limit: number): BitmapError =>
  new BitmapError(
    'TOO_COMPLEX',
    `the request names at least ${zones} distinct time zones; the limit is ${limit} (MAX_TIME_ZONES): ask in fewer zones, or split the request`,
    { timeZones: zones, limit },
  );

/**
 * Refuses a query, or a subscription (its fields take the arguments of the queries of their
 * names, and each evaluation costs what the query does), whose cost from its shape is over
 * `limit` (MAX_COST; 0: off), or whose root fields name more than `maxTimeZones` distinct
 * `timeZone`s (MAX_TIME_ZONES; 0: off). The zones are counted first, as written: pricing a
 * field in a zone new to the process works out once whether that zone is ever a fraction of an
 * hour from the storage zone (about 15 ms), and a thousand aliases each in its own zone (or its
 * own spelling of one) would block the event loop for seconds before the cost was known.
 */
export function costCheck(limit: number, maxTimeZones = 0): Plugin {
  // A field whose arguments name no variable has the same coerced arguments every time its
  // document runs, and yoga hands back the same parsed document for the same text: a dashboard
  // refreshed every few seconds is coerced here once, not on every request (coercing 50 counts'
  // sets costs as much as the rest of this check). Kept per field node, so the entries go with the
  // document when yoga's parse cache lets go of it. The cost functions only read their arguments.
  const literalArguments = new WeakMap<FieldNode, { readonly [name: string]: unknown } | null>();
  const argumentsOf = (field: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>): { readonly [name: string]: unknown } => {
    let args = literalArguments.get(node);
    if (args === undefined) {
      args = namesVariable(node) ? null : getArgumentValues(field, node);
      literalArguments.set(node, args);
    }
    return args ?? getArgumentValues(field, node, variables);
  };
  const check = ({ args, setResultAndStopExecution }: Pick<Parameters<NonNullable<Plugin['onExecute']>>[0], 'args' | 'setResultAndStopExecution'>): void => {
    if (limit <= 0 && maxTimeZones <= 0) return;
    const operation = getOperationAST(args.document, args.operationName);
    const query = operation?.operation === 'subscription' ? args.schema.getSubscriptionType() : operation?.operation === 'query' ? args.schema.getQueryType() : null;
    if (!operation || !query) return;
    const vars = getVariableValues(args.schema, operation.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>, {
      maxErrors: 1,
    });
    if (vars.errors) return; // execution reports them, before any resolver runs
    const ctx = args.contextValue as unknown as Context; // yoga has merged createContext() into it
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of args.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const fieldsOfQuery = query.getFields();
    const refuse = (refusal: BitmapError, node: FieldNode, key: string): void => {
      const error = new GraphQLError(refusal.message, {
        nodes: node,
        path: [key],
        originalError: refusal,
        extensions: { code: refusal.code, ...refusal.details },
      });
      setResultAndStopExecution({ data: null, errors: [error] });
    };
    const fields = rootFields(operation.selectionSet, fragments, vars.coerced);
    if (maxTimeZones > 0) {
      const zones = new Set<string>();
      for (const [key, node] of fields) {
        const field = fieldsOfQuery[node.name.value];
        if (!field?.args.some((a: { name: string }) => a.name === 'timeZone')) continue;
        let zone: unknown;
        try {
          zone = argumentsOf(field as GraphQLField<unknown, unknown>, node, vars.coerced).timeZone;
        } catch {
          continue; // execution reports it, before any resolver runs
        }
        if (typeof zone !== 'string' || zones.has(zone)) continue;
        zones.add(zone);
        if (zones.size > maxTimeZones) return refuse(tooManyTimeZones(zones.size, maxTimeZones), node, key);
      }
    }
    if (limit <= 0) return;
    let total = 0;
    for (const [key, node] of fields) {
      const cost = FIELD_COSTS[node.name.value];
      const field = fieldsOfQuery[node.name.value];
      if (!cost || !field) continue;
      try {
        total += cost(ctx, argumentsOf(field as GraphQLField<unknown, unknown>, node, vars.coerced));
      } catch (e) {
        if (e instanceof BitmapError || e instanceof GraphQLError) continue; // its resolver refuses it, before any work
        throw e;
      }
      if (total > limit) return refuse(tooCostly(total, limit), node, key);
    }
  };
  return { onExecute: check, onSubscribe: check };
}

/**
 * The operation's root fields in execution order, one per response key (graphql-js runs fields
 * sharing a key once; validation has made their arguments equal), through fragments (each spread
 * once) and inline fragments, leaving out what @skip/@include leave out.
 */
export function rootFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): Map<string, FieldNode> {
  const fields = new Map<string, FieldNode>();
  const spread = new Set<string>();
  const included = (node: FieldNode | SelectionSetNode['selections'][number]): boolean =>
    getDirectiveValues(GraphQLSkipDirective, node, variables)?.if !== true && getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  const collect = (set: SelectionSetNode): void => {
    for (const s of set.selections) {
      if (!included(s)) continue;
      if (s.kind === Kind.FIELD) {
        const key = s.alias?.value ?? s.name.value;
        if (!fields.has(key)) fields.set(key, s);
      } else if (s.kind === Kind.INLINE_FRAGMENT) collect(s.selectionSet);
      else if (!spread.has(s.name.value)) {
        spread.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) collect(f.selectionSet);
      }
    }
  };
  collect(selectionSet);
  return fields;
}
