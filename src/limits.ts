// The cost limit: how much storage work one request may ask for, counted over all its questions.
//
// Two lines, one rule. First, the request's cost is worked out from its shape — the document,
// its variables, fragments and aliases, field by field (src/plugins/cost.ts) — with no key named
// and no period made: points × the keys each point's set reads, a range its length, a YEAR 12
// months, a cohort its rows, activity periods and cells. Over the limit, the request is refused
// in the same tick, before any resolver runs, so a hostile read costs a parse and a walk. Each
// leaf counts as written (the same leaf twice counts twice): that needs no keys, and it is never
// below the exact cost.
//
// Second, the exact meter, in the request's context, on every ctx.ask (each field's list of
// questions, already resolved to keys) and again in the loader batch before it plans. It sums per
// question from the canonical expression, so it depends only on what was asked — not on what the
// planner happens to share — and it over-counts shared sub-expressions, which errs on the safe
// side. Resolvers first check the field's shape cost against what is left (`assertRoomFor`), so
// without the first line too no field names thousands of keys before it is refused.

import { BitmapError } from './bitmap/errors.ts';
import { subExpressions } from './bitmap/expr.ts';
import type { Expr } from './bitmap/expr.ts';
import type { Granularity } from './bitmap/period.ts';
import type { Query } from './bitmap/plan.ts';
import { checkPeriods, namingZone, rangeSpan, tooComplex } from './bitmap/sets.ts';
import { mayCutHours, sameZone, zonedRunCost } from './bitmap/zones.ts';
import type { PeriodSpec, SetContext, SetLimits, SetSpec } from './bitmap/sets.ts';

/** Ids of an `ids` literal that cost as much as reading one key. */
export const IDS_PER_UNIT = 100;
/** Ids of a `members` page (or fields of a `counters` top) that cost as much as reading one key. */
export const PAGE_PER_UNIT = 100;

/** Keys a set expression reads, plus its id literals by the hundred; at least 1. */
export function setCost(e: Expr): number {
  let cost = 0;
  for (const s of subExpressions(e).values()) {
    if (s.op === 'key') cost += 1;
    else if (s.op === 'ids') cost += Math.ceil(s.ids.length / IDS_PER_UNIT);
  }
  return Math.max(1, cost);
}

/**
 * One question's cost: a set question costs the keys it reads (a YEAR leaf is 12 month keys, a
 * 90-day range 90); a `members` page adds its size by the hundred; a counter question costs the
 * hashes it reads, a `counters` top adds its size by the hundred.
 */
export function questionCost(q: Query): number {
  switch (q.kind) {
    case 'count':
    case 'exists':
    case 'contains':
      return setCost(q.expr);
    case 'members':
      return setCost(q.expr) + Math.ceil(q.limit / PAGE_PER_UNIT);
    case 'counter':
      return Math.max(1, q.keys.length);
    case 'counterTop':
      return Math.max(1, q.keys.length) + Math.ceil(q.top / PAGE_PER_UNIT);
  }
}

/** Keys one period is read as: a YEAR has no key of its own, it is its 12 months. */
export const keysPerPeriod = (g: Granularity): number => (g === 'YEAR' ? 12 : 1);

/** The granularity of a period as given, or undefined when none of its fields is set. */
export const granularityOf = (p: PeriodSpec | null | undefined): Granularity | undefined =>
  p?.at?.granularity ?? p?.current ?? p?.ago?.granularity ?? undefined;

/**
 * One set question's cost from the set as written: the keys its leaves read (a YEAR 12, a range its
 * length) plus its id literals by the hundred, at least 1; never below `setCost` of the resolved
 * set. No key is named and no period made. `bound`: the granularity event leaves without a period
 * take (a series point's, a cohort row's). Throws the resolver's own TOO_COMPLEX for more nodes
 * than MAX_EXPR_NODES or a leaf over MAX_PERIODS_PER_LEAF, and its BAD_INPUT for a malformed range.
 */
export function setShapeCost(spec: SetSpec, ctx: Pick<SetContext, 'tz' | 'now' | 'limits' | 'zone'>, bound?: Granularity): number {
  const { limits } = ctx;
  // Another zone than the storage zone: a period costs at most its covering keys and hour checks.
  const zoned = !sameZone(ctx.zone, ctx.tz);
  // ...and minute keys at ends inside a storage hour, for a zone not always whole hours from it.
  const minutes = zoned && mayCutHours(ctx.zone!, ctx.tz);
  let cost = 0;
  let nodes = 1;
  const stack: SetSpec[] = [spec];
  while (stack.length) {
    const s = stack.pop()!;
    if (s.event) {
      const g = granularityOf(s.event.period) ?? bound;
      cost += g ? (zoned ? zonedRunCost(g, 1, minutes) : keysPerPeriod(g)) : 1; // no period at all: the resolver refuses it (MISSING_PERIOD)
    } else if (s.unique != null) cost += 1;
    else if (s.range) {
      const { n } = rangeSpan(s.range, zoned ? { tz: namingZone(ctx), now: ctx.now } : ctx);
      checkPeriods(n, limits.maxPeriodsPerLeaf);
      const keys = n * keysPerPeriod(s.range.granularity);
      checkPeriods(keys, limits.maxPeriodsPerLeaf);
      cost += zoned ? zonedRunCost(s.range.granularity, n, minutes) : keys;
    } else if (s.ids) cost += Math.ceil(s.ids.length / IDS_PER_UNIT);
    else {
      if (s.not) nodes = pushCounted(stack, s.not, nodes, limits);
      if (s.minus) {
        nodes = pushCounted(stack, s.minus.from, nodes, limits);
        for (const x of s.minus.subtract) nodes = pushCounted(stack, x, nodes, limits);
      }
      for (const list of [s.and, s.or, s.xor]) if (list) for (const x of list) nodes = pushCounted(stack, x, nodes, limits);
    }
  }
  return Math.max(1, cost);
}

/**
 * An operand counted as it is pushed, so a list of a million operands is refused after maxNodes
 * of them; the new node count. A function, not a closure made on every call of setShapeCost,
 * which runs for every set of a request.
 */
function pushCounted(stack: SetSpec[], s: SetSpec, nodes: number, limits: SetLimits): number {
  if (++nodes > limits.maxNodes) throw tooComplex('nodes', limits.maxNodes, 'split it into several queries');
  stack.push(s);
  return nodes;
}

/** TOO_COMPLEX for a request over the limit; both lines refuse with it. */
export const tooCostly = (cost: number, limit: number): BitmapError =>
  new BitmapError(
    'TOO_COMPLEX',
    `the request costs at least ${cost} (keys its questions read: series points and cohort cells each count); the limit is ${limit}: ask for fewer or smaller sets, or split the request`,
    { cost, limit },
  );

export interface CostMeter {
  /** Adds these questions' cost to the request's; throws TOO_COMPLEX once the total is over the limit. */
  charge(queries: readonly Query[]): void;
  /** Throws TOO_COMPLEX when the request is already over the limit. */
  assertWithin(): void;
  /**
   * Throws TOO_COMPLEX, before a field names any key, when up to `cost` more (its shape cost) would
   * take the request over the limit; the request then counts as over, so its other fields and the
   * loader batch are refused too.
   */
  assertRoomFor(cost: number): void;
  /** The request's cost so far. */
  readonly spent: number;
}

/** A request's meter; a limit of 0 turns it off. */
export function costMeter(limit: number): CostMeter {
  let spent = 0;
  const check = (): void => {
    if (limit > 0 && spent > limit) throw tooCostly(spent, limit);
  };
  return {
    charge(queries) {
      if (limit <= 0) return;
      for (const q of queries) spent += questionCost(q);
      check();
    },
    assertWithin: check,
    assertRoomFor(cost) {
      if (limit <= 0 || spent + cost <= limit) return;
      spent += cost;
      check();
    },
    get spent() {
      return spent;
    },
  };
}
