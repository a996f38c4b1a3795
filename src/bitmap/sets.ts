// From a set as a caller writes it (events, periods, ranges, ids) to a canonical expression over keys.

import { BitmapError, assertEventName, assertUserId } from './errors.ts';
import { canonical } from './expr.ts';
import type { Expr, RawExpr } from './expr.ts';
import type { KeyLayout } from './keys.ts';
import { periodAt, resolveTime, shiftPeriod } from './period.ts';
import type { Granularity, Period, TimeInput, TimeZone } from './period.ts';
import { coverKeys, sameZone } from './zones.ts';

/**
 * Inputs below are GraphQL @oneOf objects: exactly one field is set. They are flat records
 * of optional fields (the shape Pothos gives recursive inputs), read field by field.
 */
export interface PeriodSpec {
  readonly at?: { readonly granularity: Granularity; readonly date: TimeInput } | null;
  readonly current?: Granularity | null;
  readonly ago?: { readonly granularity: Granularity; readonly periods: number } | null;
}

/** Consecutive periods: `from`..`to` (to defaults to now), or the `last` N up to `to` (default now). */
export interface PeriodRange {
  readonly granularity: Granularity;
  readonly from?: TimeInput | null;
  readonly to?: TimeInput | null;
  readonly last?: number | null;
}

export interface RangeSpec extends PeriodRange {
  readonly name: string;
}

export interface EventSpec {
  readonly name: string;
  readonly period?: PeriodSpec | null;
  readonly shift?: number | null;
}

export interface SetSpec {
  readonly event?: EventSpec | null;
  readonly unique?: string | null;
  readonly range?: RangeSpec | null;
  readonly and?: readonly SetSpec[] | null;
  readonly or?: readonly SetSpec[] | null;
  readonly xor?: readonly SetSpec[] | null;
  readonly minus?: { readonly from: SetSpec; readonly subtract: readonly SetSpec[] } | null;
  readonly not?: SetSpec | null;
  readonly ids?: readonly number[] | null;
}

export interface SetLimits {
  /** Operators and leaves in one expression. */
  readonly maxNodes: number;
  /** Nesting depth of one expression. */
  readonly maxDepth: number;
  /** Periods one leaf may expand to (a YEAR is 12 months; a range its length). */
  readonly maxPeriodsPerLeaf: number;
  /** Ids in one `ids` literal. */
  readonly maxIds: number;
}

export const DEFAULT_SET_LIMITS: SetLimits = { maxNodes: 1000, maxDepth: 32, maxPeriodsPerLeaf: 2000, maxIds: 10_000 };

export interface SetContext {
  readonly layout: KeyLayout;
  readonly tz: TimeZone;
  readonly now: number;
  readonly limits: SetLimits;
  /** The period that event leaves without one of their own are bound to (series and cohort). */
  readonly bound?: Period;
  /**
   * The request's time zone (`timeZone` of series, cohort, funnel), when it is not the storage
   * zone `tz`: periods are named on its wall clock and read as the storage keys that cover them
   * (src/bitmap/zones.ts); the storage days whose hour keys that reads are recorded in `hourDays`.
   */
  readonly zone?: TimeZone;
  /** Storage days whose hour keys the sets read, by event (`<name>\n<day index>`): checked for untracked hours. */
  readonly hourDays?: Map<string, { readonly name: string; readonly day: number }>;
  /** Storage hours whose minute keys the sets read (an end inside a storage hour), by event (`<name>\n<hour index>`): checked for untracked minutes. */
  readonly minuteHours?: Map<string, { readonly name: string; readonly hour: number }>;
}

/** The zone periods are named in: the request's, else the storage zone. */
export const namingZone = (ctx: Pick<SetContext, 'tz' | 'zone'>): TimeZone => ctx.zone ?? ctx.tz;

/**
 * The keys of an event over the periods first..last of one granularity (consecutive): the stored
 * keys of each in the storage zone, else the storage keys covering their instants.
 */
export function periodsKeys(ctx: SetContext, name: string, first: Period, last: Period): readonly string[] {
  if (sameZone(ctx.zone, ctx.tz)) {
    if (first.index === last.index) return ctx.layout.eventKeys(name, first);
    const keys: string[] = [];
    for (let i = first.index; i <= last.index; i++) keys.push(...ctx.layout.eventKeys(name, { granularity: first.granularity, index: i }));
    return keys;
  }
  const cover = coverKeys(ctx.layout, name, first, last, ctx.tz, ctx.zone!);
  for (const day of cover.hourDays) ctx.hourDays?.set(`${name}\n${day}`, { name, day });
  for (const hour of cover.minuteHours) ctx.minuteHours?.set(`${name}\n${hour}`, { name, hour });
  return cover.keys;
}

export function resolvePeriod(spec: PeriodSpec, tz: TimeZone, now: number): Period {
  if (spec.at) return periodAt(spec.at.granularity, resolveTime(spec.at.date, tz), tz);
  if (spec.current) return periodAt(spec.current, now, tz);
  if (!spec.ago) throw oneOf('PeriodInput');
  if (!Number.isInteger(spec.ago.periods) || spec.ago.periods < 0) {
    throw new BitmapError('BAD_INPUT', `ago.periods must be a whole number ≥ 0, got ${spec.ago.periods}`);
  }
  return shiftPeriod(periodAt(spec.ago.granularity, now, tz), -spec.ago.periods);
}

/** Periods of a range: from..to, or the last N ending with the period of `to` (default: the current one). */
export function rangePeriods(
  spec: PeriodRange,
  ctx: Pick<SetContext, 'tz' | 'now'>,
  maxPeriods: number,
  what = 'one set leaf expands to',
): Period[] {
  const { first, n } = rangeSpan(spec, ctx);
  checkPeriods(n, maxPeriods, what);
  return Array.from({ length: n }, (_, i) => shiftPeriod(first, i));
}

/** A range's first period and length, without making its periods: what a cost is worked out from (src/limits.ts). */
export function rangeSpan(spec: PeriodRange, ctx: Pick<SetContext, 'tz' | 'now'>): { first: Period; n: number } {
  const g = spec.granularity;
  let first: Period;
  let last: Period;
  if (spec.last != null) {
    if (spec.from != null) throw new BitmapError('BAD_INPUT', 'a range takes `last` (optionally with `to`) or `from`/`to`, not both');
    if (!Number.isInteger(spec.last) || spec.last < 1) {
      throw new BitmapError('BAD_INPUT', `range.last must be a whole number ≥ 1, got ${spec.last}`);
    }
    last = periodAt(g, spec.to != null ? resolveTime(spec.to, ctx.tz) : ctx.now, ctx.tz);
    // Not shiftPeriod yet: `last: 2000000000` is over the period limit (the news), not only out of range.
    first = { granularity: g, index: last.index + 1 - spec.last };
  } else {
    if (spec.from == null) throw new BitmapError('BAD_INPUT', 'a range needs `last` (optionally with `to`), or `from` (and optionally `to`)');
    first = periodAt(g, resolveTime(spec.from, ctx.tz), ctx.tz);
    last = spec.to != null ? periodAt(g, resolveTime(spec.to, ctx.tz), ctx.tz) : periodAt(g, ctx.now, ctx.tz);
    if (last.index < first.index) throw new BitmapError('BAD_INPUT', 'range.to is before range.from');
  }
  return { first, n: last.index - first.index + 1 };
}

export function checkPeriods(n: number, max: number, what = 'one set leaf expands to'): void {
  if (n > max) {
    throw new BitmapError(
      'TOO_COMPLEX',
      `${what} ${n} periods; the limit is ${max} (narrow the range or use a coarser granularity)`,
      { limit: max },
    );
  }
}

const oneOf = (type: string): BitmapError => new BitmapError('BAD_INPUT', `${type} needs exactly one field set`);

export const tooComplex = (what: string, limit: number, fix: string): BitmapError =>
  new BitmapError('TOO_COMPLEX', `the set expression has more than ${limit} ${what}; ${fix}`, { limit });

const SET_FIELDS = new Set(['event', 'unique', 'range', 'and', 'or', 'xor', 'minus', 'not', 'ids']);
const NESTING_FIELDS = new Set(['and', 'or', 'xor', 'not', 'from', 'subtract']);

/**
 * Checks size and depth without recursion, so a hostile 5,000-deep input cannot overflow the
 * stack. Walks any JSON value (so it also guards raw GraphQL variables before coercion);
 * depth grows only through set operands, and only set objects count as nodes.
 */
export function checkSetShape(input: unknown, limits: SetLimits): void {
  const stack: Array<[unknown, number]> = [[input, 1]];
  let nodes = 0;
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const n of node) if (n !== null && typeof n === 'object') stack.push([n, depth]);
      continue;
    }
    let isSet = false;
    for (const k in node) {
      const v = (node as Record<string, unknown>)[k];
      if (SET_FIELDS.has(k)) isSet = true;
      if (k === 'ids' && Array.isArray(v)) {
        if (v.length > limits.maxIds) throw tooComplex('ids in one list', limits.maxIds, 'page through them');
        continue;
      }
      if (v !== null && typeof v === 'object') stack.push([v, NESTING_FIELDS.has(k) ? depth + 1 : depth]);
    }
    if (isSet) {
      nodes++;
      if (nodes > limits.maxNodes) throw tooComplex('nodes', limits.maxNodes, 'split it into several queries');
      if (depth > limits.maxDepth) throw tooComplex('levels of nesting', limits.maxDepth, 'flatten it');
    }
  }
}

/** Resolves a set to its canonical expression over this layout's keys. */
export function resolveSet(spec: SetSpec, ctx: SetContext): Expr {
  return canonical(toRaw(spec, ctx, 1, { nodes: 0 }));
}

const orOfKeys = (keys: readonly string[]): RawExpr =>
  keys.length === 1 ? { op: 'key', key: keys[0]! } : { op: 'or', args: keys.map((key) => ({ op: 'key', key })) };

/** Depth and node limits are checked on the way down, so recursion never goes past maxDepth. */
function toRaw(spec: SetSpec, ctx: SetContext, depth: number, seen: { nodes: number }): RawExpr {
  const { limits } = ctx;
  if (++seen.nodes > limits.maxNodes) throw tooComplex('nodes', limits.maxNodes, 'split it into several queries');
  if (depth > limits.maxDepth) throw tooComplex('levels of nesting', limits.maxDepth, 'flatten it');
  if (spec.event) {
    const { name, period, shift } = spec.event;
    assertEventName(name, 'event.name');
    let p: Period;
    if (period) p = resolvePeriod(period, namingZone(ctx), ctx.now);
    else if (ctx.bound) p = ctx.bound;
    else {
      throw new BitmapError(
        'MISSING_PERIOD',
        `event "${name}" has no period: give it \`period\` (e.g. { current: DAY }) — only series and cohort bind one for you`,
      );
    }
    if (shift) p = shiftPeriod(p, shift);
    return orOfKeys(periodsKeys(ctx, name, p, p));
  }
  if (spec.unique != null) return { op: 'key', key: ctx.layout.uniqueKey(assertEventName(spec.unique, 'unique')) };
  if (spec.range) {
    const { name } = spec.range;
    assertEventName(name, 'range.name');
    const max = ctx.limits.maxPeriodsPerLeaf;
    const periods = rangePeriods(spec.range, { tz: namingZone(ctx), now: ctx.now }, max);
    // A YEAR is read as its 12 months: refused before thousands of month keys are named.
    if (spec.range.granularity === 'YEAR') checkPeriods(periods.length * 12, max);
    return orOfKeys(periodsKeys(ctx, name, periods[0]!, periods[periods.length - 1]!));
  }
  if (spec.ids) {
    if (spec.ids.length > limits.maxIds) throw tooComplex('ids in one list', limits.maxIds, 'page through them');
    return { op: 'ids', ids: spec.ids.map((id, i) => assertUserId(id, `ids[${i}]`)) };
  }
  if (spec.not) return { op: 'not', arg: toRaw(spec.not, ctx, depth + 1, seen) };
  if (spec.minus) return { op: 'minus', from: toRaw(spec.minus.from, ctx, depth + 1, seen), subtract: toRawAll(spec.minus.subtract, ctx, depth + 1, seen) };
  const [op, args] = spec.and ? (['and', spec.and] as const) : spec.or ? (['or', spec.or] as const) : (['xor', spec.xor] as const);
  if (!args) throw oneOf('SetExpr');
  if (args.length === 0) throw new BitmapError('BAD_INPUT', `\`${op}\` needs at least one operand`);
  return { op, args: toRawAll(args, ctx, depth + 1, seen) };
}

// A loop, not a closure made on every call: this runs for every operand of every set of a request.
function toRawAll(specs: readonly SetSpec[], ctx: SetContext, depth: number, seen: { nodes: number }): RawExpr[] {
  const out = new Array<RawExpr>(specs.length);
  for (let i = 0; i < specs.length; i++) out[i] = toRaw(specs[i]!, ctx, depth, seen);
  return out;
}
