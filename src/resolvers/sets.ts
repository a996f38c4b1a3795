// Set queries: GraphQL arguments in, one load on the request's set loader out.

import type { FieldNode } from 'graphql';
import { BitmapError } from '../bitmap/errors.ts';
import type { Expr } from '../bitmap/expr.ts';
import type { MemberPage } from '../bitmap/program.ts';
import { userRef } from '../bitmap/ids.ts';
import { periodAt } from '../bitmap/period.ts';
import { resolveSet } from '../bitmap/sets.ts';
import type { SetContext, SetSpec } from '../bitmap/sets.ts';
import type { Answer, Query } from '../bitmap/plan.ts';
import type { Context } from '../context.ts';
import { PAGE_PER_UNIT, granularityOf, setShapeCost } from '../limits.ts';
import { askChecked, zonedContext } from './analytics.ts';
import { userIds } from './ids.ts';
import { namesVariable } from '../schema/literal.ts';

/** One question's answer, with the untracked hours and minutes checks of a set in another zone (`sc`). */
const askOne = async (ctx: Context, q: Query, sc?: SetContext): Promise<Answer> => (await (sc ? askChecked(ctx, sc, [q]) : ctx.ask([q])))[0]!;

/** Cost of a count, hasEvents or contains, from the set as written (src/limits.ts), its periods named in `timeZone` (default the storage zone). */
export const setQuestionCost = (ctx: Context, set: SetSpec, timeZone?: string | null): number => setShapeCost(set, zonedContext(ctx, timeZone));

/** The set over keys, once the request has room for what it may cost: an oversized set is refused before a key is named. */
function resolveWithin(ctx: Context, set: SetSpec, cost: number, sc: SetContext = ctx.setContext): Expr {
  ctx.cost.assertRoomFor(cost);
  return resolveSet(set, sc);
}

/**
 * A field's set, resolved: its shape cost, and the set over keys once the request has room for
 * `cost` (its own or more). `zoned`: the set context of a set named in another time zone, whose
 * hour and minute checks go with its question (askOne).
 */
interface FieldSet {
  readonly cost: number;
  within(cost: number): Expr;
  readonly zoned?: SetContext;
}

/**
 * A set resolved for a field of a parsed document, and the wall-clock hour of `now` it was
 * resolved in (and its minute, for a set that names a MINUTE period: that moves within the hour).
 */
interface Resolved {
  readonly hour: number;
  readonly minute?: number;
  readonly cost: number;
  readonly expr: Expr;
}

/** True when some leaf of the set names MINUTE periods (its `current` or `ago` minute is not a function of the hour). */
function namesMinutes(spec: SetSpec): boolean {
  const stack: SetSpec[] = [spec];
  while (stack.length) {
    const s = stack.pop()!;
    if (s.event) {
      if (granularityOf(s.event.period) === 'MINUTE') return true;
    } else if (s.range) {
      if (s.range.granularity === 'MINUTE') return true;
    } else {
      if (s.not) stack.push(s.not);
      if (s.minus) stack.push(s.minus.from, ...s.minus.subtract);
      for (const list of [s.and, s.or, s.xor]) if (list) stack.push(...list);
    }
  }
  return false;
}

/**
 * Sets already resolved, by the field node that wrote them (null: its arguments name a variable,
 * so they may differ each time), per gateway (key layout, time zone and limits). yoga hands back
 * the same parsed document for the same text, so a dashboard refreshed every few seconds names
 * the same nodes, and resolving 50 sets cost about as much as the rest of its fields' work. Kept
 * per node, so entries go with the document when yoga's parse cache lets go of it.
 */
const resolvedSets = new WeakMap<Context['services'], WeakMap<FieldNode, Resolved | null>>();

/**
 * The field's set: from the field node when it was resolved before in the same wall-clock hour,
 * else resolved (and kept, when written without variables). Exact: a set as written names
 * periods from its own dates, and from `now` (current, ago, a range's default end) only through
 * the zone's wall-clock hour that holds it, of which every DAY, WEEK, MONTH and YEAR is a
 * function; a set naming MINUTE periods, through the minute. A field without its node (a live
 * evaluation) or with a bound period resolves anew.
 */
function fieldSet(ctx: Context, set: SetSpec, node: FieldNode | undefined, timeZone?: string | null): FieldSet {
  const sc = zonedContext(ctx, timeZone);
  if (sc !== ctx.setContext) {
    // Another zone: resolved anew each time, with its own record of the hours and minutes it reads.
    const cost = setShapeCost(set, sc);
    return { cost, within: (total) => resolveWithin(ctx, set, total, sc), zoned: sc };
  }
  let nodes: WeakMap<FieldNode, Resolved | null> | undefined;
  let hour = 0;
  let minute = 0;
  let seen: Resolved | null | undefined;
  if (node && !ctx.setContext.bound) {
    nodes = resolvedSets.get(ctx.services);
    if (!nodes) resolvedSets.set(ctx.services, (nodes = new WeakMap()));
    minute = periodAt('MINUTE', ctx.setContext.now, ctx.setContext.tz).index;
    hour = Math.floor(minute / 60);
    seen = nodes.get(node);
    if (seen && seen.hour === hour && (seen.minute === undefined || seen.minute === minute)) {
      const { expr } = seen;
      return {
        cost: seen.cost,
        within: (cost) => {
          ctx.cost.assertRoomFor(cost);
          return expr;
        },
      };
    }
  }
  const cost = setQuestionCost(ctx, set);
  return {
    cost,
    within: (total) => {
      const expr = resolveWithin(ctx, set, total);
      if (nodes && node && seen !== null) {
        if (seen === undefined && namesVariable(node)) nodes.set(node, null);
        else nodes.set(node, namesMinutes(set) ? { hour, minute, cost, expr } : { hour, cost, expr });
      }
      return expr;
    },
  };
}

export async function countSet(ctx: Context, set: SetSpec, node?: FieldNode, timeZone?: string | null): Promise<number> {
  const s = fieldSet(ctx, set, node, timeZone);
  const expr = s.within(s.cost);
  return (await askOne(ctx, { kind: 'count', expr }, s.zoned)) as number;
}

export async function hasMembers(ctx: Context, set: SetSpec, node?: FieldNode, timeZone?: string | null): Promise<boolean> {
  const s = fieldSet(ctx, set, node, timeZone);
  const expr = s.within(s.cost);
  return (await askOne(ctx, { kind: 'exists', expr }, s.zoned)) as boolean;
}

export async function containsUser(
  ctx: Context,
  set: SetSpec,
  userId: number | null | undefined,
  externalId: string | null | undefined,
  node?: FieldNode,
  timeZone?: string | null,
): Promise<boolean> {
  const s = fieldSet(ctx, set, node, timeZone);
  const ref = userRef(userId, externalId, ctx.services.config.idMapping);
  if ('id' in ref) {
    // A dense id asks in this tick, joining the request's one program.
    return (await askOne(ctx, { kind: 'contains', expr: s.within(s.cost), id: ref.id }, s.zoned)) as boolean;
  }
  // An external id is looked up first; the set is resolved after it, in the tick it is asked in, so
  // the request's other fields see its cost.
  const id = (await userIds(ctx, [ref], false))[0];
  const expr = s.within(s.cost);
  if (id === null || id === undefined) return false; // never mapped: in no set
  return (await askOne(ctx, { kind: 'contains', expr, id }, s.zoned)) as boolean;
}

export interface MemberPageResult extends MemberPage {
  endCursor: number | null;
}

/** The page size asked for (default 100), checked against MAX_PAGE_SIZE. */
function pageSize(ctx: Context, first: number | null | undefined): number {
  const max = ctx.services.config.maxPageSize;
  const limit = first ?? Math.min(100, max);
  if (!Number.isInteger(limit) || limit < 1) throw new BitmapError('BAD_INPUT', `first must be at least 1, got ${limit}`);
  if (limit > max) {
    throw new BitmapError('TOO_COMPLEX', `first is ${limit}; the largest page is ${max} (page with \`after\`)`, { limit: max });
  }
  return limit;
}

/** Cost of a members page: its set's keys plus its size by the hundred. */
export const memberPageCost = (ctx: Context, set: SetSpec, first: number | null | undefined, timeZone?: string | null): number =>
  setShapeCost(set, zonedContext(ctx, timeZone)) + Math.ceil(pageSize(ctx, first) / PAGE_PER_UNIT);

export async function memberPage(
  ctx: Context,
  set: SetSpec,
  first: number | null | undefined,
  after: number | null | undefined,
  node?: FieldNode,
  timeZone?: string | null,
): Promise<MemberPageResult> {
  const limit = pageSize(ctx, first);
  const s = fieldSet(ctx, set, node, timeZone);
  const expr = s.within(s.cost + Math.ceil(limit / PAGE_PER_UNIT));
  const page = (await askOne(ctx, { kind: 'members', expr, after: after ?? null, limit }, s.zoned)) as MemberPage;
  return { ...page, endCursor: page.ids.length ? page.ids[page.ids.length - 1]! : null };
}
