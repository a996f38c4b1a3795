// The cost limit: how much storage work one request may ask for, counted over all its questions.
//
// Where it is counted: in the request's context, on every ctx.ask (each field's list of
// questions: a count, a series' points, a cohort's cells), and checked again by the loader batch
// before it plans. That is the one place every question of a request passes through, already
// resolved to keys, before any planning or storage work. The cost is summed per question from
// the expression (not read off the planned Program): so it depends only on what was asked —
// a caller can work it out from the query — and not on what the planner happens to share; it
// over-counts shared sub-expressions, which errs on the safe side. Charging on each ask (not only
// in the batch) lets the fields after the one that crossed the limit fail at once, and
// `assertWithin` lets series and cohorts stop before resolving thousands of sets.

import { BitmapError } from './bitmap/errors.ts';
import { subExpressions } from './bitmap/expr.ts';
import type { Expr } from './bitmap/expr.ts';
import type { Query } from './bitmap/plan.ts';

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

export interface CostMeter {
  /** Adds these questions' cost to the request's; throws TOO_COMPLEX once the total is over the limit. */
  charge(queries: readonly Query[]): void;
  /** Throws TOO_COMPLEX when the request is already over the limit. */
  assertWithin(): void;
  /** The request's cost so far. */
  readonly spent: number;
}

/** A request's meter; a limit of 0 turns it off. */
export function costMeter(limit: number): CostMeter {
  let spent = 0;
  const check = (): void => {
    if (limit > 0 && spent > limit) {
      throw new BitmapError(
        'TOO_COMPLEX',
        `the request costs at least ${spent} (keys its questions read: series points and cohort cells each count); the limit is ${limit}: ask for fewer or smaller sets, or split the request`,
        { cost: spent, limit },
      );
    }
  };
  return {
    charge(queries) {
      if (limit <= 0) return;
      for (const q of queries) spent += questionCost(q);
      check();
    },
    assertWithin: check,
    get spent() {
      return spent;
    },
  };
}
