// Breakdowns: one question asked of every event under a name prefix, or of a counter's top keys and the rest.

import { BitmapError, assertEventName } from '../bitmap/errors.ts';
import type { CounterEntries } from '../bitmap/program.ts';
import { listEvents } from '../bitmap/events.ts';
import { resolveSet } from '../bitmap/sets.ts';
import type { PeriodRange, PeriodSpec, SetSpec } from '../bitmap/sets.ts';
import type { Query } from '../bitmap/plan.ts';
import type { Context } from '../context.ts';
import { PAGE_PER_UNIT, setShapeCost } from '../limits.ts';
import { askCounters, counterKeysOver, counterRunCost } from './counters.ts';
import type { CounterChecks } from './counters.ts';
import { MINUTE_CHECK_COST, mayCutHours } from '../bitmap/zones.ts';
import { askChecked, averageWindow, inZone, periodsBefore, seriesCost, seriesLength, seriesPeriods, seriesReads, withAverages, zonedContext } from './analytics.ts';
import type { SeriesPointData, SeriesRange } from './analytics.ts';

export interface BreakdownCountData {
  readonly name: string;
  readonly value: string;
  readonly count: number;
}

export interface BreakdownSeriesData {
  readonly name: string;
  readonly value: string;
  readonly total: number;
  readonly points: SeriesPointData[];
}

export interface CounterBreakdownData {
  /** null: every key outside the top ones. */
  readonly key: string | null;
  readonly total: number;
  readonly points: SeriesPointData[];
}

const byTotalThenName = <T>(total: (x: T) => number, name: (x: T) => string) => (a: T, b: T): number =>
  total(b) - total(a) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);

/** One value's set: the event, in `period` (none: the point's), ANDed with the filter when there is one. */
const valueSet = (name: string, period: PeriodSpec | null, filter: SetSpec | null | undefined): SetSpec => {
  const event: SetSpec = { event: { name, period } };
  return filter ? { and: [event, filter] } : event;
};

/**
 * The events a breakdown asks about, found by the events listing's SCAN. More than
 * MAX_BREAKDOWN_VALUES is refused rather than cut short: a chart missing some values would look
 * complete.
 */
async function valuesUnder(ctx: Context, prefix: string): Promise<string[]> {
  if (prefix) assertEventName(prefix, 'prefix');
  const { engine, layout, config } = ctx.services;
  const names = await listEvents(engine, layout, prefix);
  const max = config.maxBreakdownValues;
  if (names.length > max) {
    throw new BitmapError(
      'TOO_COMPLEX',
      `${names.length} events start with ${JSON.stringify(prefix)}; a breakdown has at most ${max} values (MAX_BREAKDOWN_VALUES): use a longer prefix`,
      { limit: max },
    );
  }
  return names;
}

/**
 * Costs before the scan, from the shape alone: the number of values is not known until the names
 * are listed, so a breakdown is priced as MAX_BREAKDOWN_VALUES values, never below what it asks.
 */
export const countBreakdownCost = (ctx: Context, a: { period: PeriodSpec; set?: SetSpec | null; timeZone?: string | null }): number =>
  ctx.services.config.maxBreakdownValues * setShapeCost(valueSet('_', a.period, a.set), zonedContext(ctx, a.timeZone));

export const seriesBreakdownCost = (ctx: Context, a: SeriesRange & { set?: SetSpec | null }): number =>
  ctx.services.config.maxBreakdownValues * seriesCost(ctx, valueSet('_', null, a.set), a);

export async function countBreakdown(
  ctx: Context,
  prefix: string,
  period: PeriodSpec,
  filter: SetSpec | null | undefined,
  timeZone?: string | null,
): Promise<BreakdownCountData[]> {
  ctx.cost.assertWithin(); // the request is already over MAX_COST: not even the scan
  const sc = zonedContext(ctx, timeZone);
  const names = await valuesUnder(ctx, prefix);
  const sets = names.map((name) => valueSet(name, period, filter));
  ctx.cost.assertRoomFor(sets.reduce((sum, s) => sum + setShapeCost(s, sc), 0));
  const counts = (await askChecked(ctx, sc, sets.map((s): Query => ({ kind: 'count', expr: resolveSet(s, sc) })))) as number[];
  return names
    .map((name, i) => ({ name, value: name.slice(prefix.length), count: counts[i]! }))
    .sort(byTotalThenName((x) => x.count, (x) => x.name));
}

export async function seriesBreakdown(
  ctx: Context,
  prefix: string,
  filter: SetSpec | null | undefined,
  range: PeriodRange & { readonly timeZone?: string | null },
  rollingAverage: number | null | undefined,
): Promise<BreakdownSeriesData[]> {
  ctx.cost.assertWithin();
  const window = averageWindow(ctx, rollingAverage);
  const sc = zonedContext(ctx, range.timeZone);
  seriesLength(ctx, range, sc); // a range over MAX_POINTS is refused before the scan
  const names = await valuesUnder(ctx, prefix);
  const sets = names.map((name) => valueSet(name, null, filter));
  ctx.cost.assertRoomFor(sets.reduce((sum, s) => sum + seriesCost(ctx, s, { ...range, rollingAverage: window }), 0));
  const periods = seriesPeriods(ctx, range, sc);
  const before = periodsBefore(periods[0]!, window);
  const all = [...before, ...periods];
  const named = sc.zone ? periods.map((p) => inZone(p, sc)) : periods;
  // Every value's every point in one ask: the request's one program.
  const counts = (await askChecked(
    ctx,
    sc,
    sets.flatMap((s) => all.map((bound): Query => ({ kind: 'count', expr: resolveSet(s, { ...sc, bound }) }))),
  )) as number[];
  return names
    .map((name, i) => {
      const points = withAverages(named, counts.slice(i * all.length, (i + 1) * all.length), window, before.length);
      return { name, value: name.slice(prefix.length), total: points.reduce((sum, p) => sum + p.count, 0), points };
    })
    .sort(byTotalThenName((x) => x.total, (x) => x.name));
}

/** How many top keys a counter breakdown has (default 10), from 1 to MAX_BREAKDOWN_VALUES. */
function breakdownTop(ctx: Context, top: number | null | undefined): number {
  const n = top ?? 10;
  const max = ctx.services.config.maxBreakdownValues;
  if (!Number.isInteger(n) || n < 1) throw new BitmapError('BAD_INPUT', `top must be at least 1, got ${n}`);
  if (n > max) throw new BitmapError('TOO_COMPLEX', `top is ${n}; a breakdown has at most ${max} values (MAX_BREAKDOWN_VALUES): ask for fewer`, { limit: max });
  return n;
}

/**
 * A counter breakdown's cost: the top over the range (its hashes, and its size by the hundred),
 * then each top key's series and the total's, each point's hashes. In a zone not always whole
 * hours from the storage zone a point's hashes include its edges' minute hashes, and each point
 * adds the checks of its two edge hours once (they are of all fields: counterBreakdown).
 */
export const counterBreakdownCost = (ctx: Context, a: SeriesRange & { top?: number | null }): number => {
  const top = breakdownTop(ctx, a.top);
  const sc = zonedContext(ctx, a.timeZone);
  const checks = sc.zone !== undefined && mayCutHours(sc.zone, sc.tz) ? 2 * MINUTE_CHECK_COST : 0;
  const perPoint = (top + 1) * (counterRunCost(sc, a.granularity) - checks) + checks;
  return counterRunCost(sc, a.granularity, seriesLength(ctx, a, sc)) + Math.ceil(top / PAGE_PER_UNIT) + seriesReads(ctx, a, sc) * perPoint;
};

/**
 * The top keys of a counter over the whole range, each as a series, and then the rest as one
 * series (key null): the total less the top keys, point by point. Two round trips: the top keys
 * are known only once the range has been summed.
 */
export async function counterBreakdown(
  ctx: Context,
  name: string,
  range: PeriodRange & { readonly timeZone?: string | null },
  rollingAverage: number | null | undefined,
  top: number | null | undefined,
): Promise<CounterBreakdownData[]> {
  ctx.cost.assertWithin();
  assertEventName(name);
  const n = breakdownTop(ctx, top);
  const window = averageWindow(ctx, rollingAverage);
  ctx.cost.assertRoomFor(counterBreakdownCost(ctx, { ...range, rollingAverage: window, top: n }));
  const sc = zonedContext(ctx, range.timeZone);
  const periods = seriesPeriods(ctx, range, sc);
  const before = periodsBefore(periods[0]!, window);
  const all = [...before, ...periods];
  // In another zone, hours read by minute are checked of all fields (the total): increments only
  // add, so a total that matches means every key's does.
  const topChecks: CounterChecks = new Map();
  const runKeys = counterKeysOver(sc, name, periods, topChecks, null);
  const [entries] = (await askCounters(ctx, sc, [{ kind: 'counterTop', keys: runKeys, top: n }], topChecks)) as [CounterEntries];
  const keys = entries.map(([key]) => key);
  // Per point: the total first, then each top key.
  const checks: CounterChecks = new Map();
  const values = (await askCounters(
    ctx,
    sc,
    all.flatMap((p) => {
      const hashes = counterKeysOver(sc, name, [p], checks, null);
      return [null, ...keys].map((field): Query => ({ kind: 'counter', keys: hashes, field }));
    }),
    checks,
  )) as number[];
  const named = sc.zone ? periods.map((p) => inZone(p, sc)) : periods;
  const at = (point: number, series: number): number => values[point * (keys.length + 1) + series]!;
  const seriesOf = (counts: number[]): { total: number; points: SeriesPointData[] } => {
    const points = withAverages(named, counts, window, before.length);
    return { total: points.reduce((sum, p) => sum + p.count, 0), points };
  };
  const topSeries = keys
    .map((key, k) => ({ key, ...seriesOf(all.map((_, i) => at(i, k + 1))) }))
    .sort(byTotalThenName((x) => x.total, (x) => x.key));
  const other = seriesOf(all.map((_, i) => at(i, 0) - keys.reduce((sum, _k, k) => sum + at(i, k + 1), 0)));
  return [...topSeries, { key: null, ...other }];
}
