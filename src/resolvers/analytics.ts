// Series, cohort tables and funnels: every point, cell and step goes through the request's one loader.

import { cohortCsv, cohortTable, funnelSteps, rollingAverages } from '../bitmap/analytics.ts';
import type { CohortTableData, FunnelStepData } from '../bitmap/analytics.ts';
import { BitmapError } from '../bitmap/errors.ts';
import { andOf } from '../bitmap/expr.ts';
import { firstPeriod, periodAt, periodLabel, resolveTime, shiftPeriod } from '../bitmap/period.ts';
import type { Granularity, Period, TimeInput, TimeZone } from '../bitmap/period.ts';
import { checkPeriods, namingZone, rangePeriods, rangeSpan, resolveSet } from '../bitmap/sets.ts';
import type { PeriodRange, SetContext, SetSpec } from '../bitmap/sets.ts';
import type { Answer, Query } from '../bitmap/plan.ts';
import { hoursNotTracked, minutesNotTracked, sameZone, untrackedExpr, zoneNamed } from '../bitmap/zones.ts';
import type { Context } from '../context.ts';
import { setShapeCost } from '../limits.ts';

/** A period named in a request's time zone (`zone`), or in the storage zone (no `zone`). */
export interface ZonedPeriod extends Period {
  readonly zone?: TimeZone;
}

/** The period in the request's zone, when that is not the storage zone. */
export const inZone = (p: Period, sc: SetContext): ZonedPeriod => (sc.zone ? { granularity: p.granularity, index: p.index, zone: sc.zone } : p);

/**
 * The set context of a question asked in `timeZone` (IANA name; null or the storage zone: the
 * context as it is). Its periods are named in that zone and read as the storage keys covering
 * them; the storage days whose hours they read are gathered for askChecked.
 */
export function zonedContext(ctx: Context, timeZone: string | null | undefined): SetContext {
  if (timeZone == null) return ctx.setContext;
  const zone = zoneNamed(timeZone);
  if (sameZone(zone, ctx.setContext.tz)) return ctx.setContext;
  return { ...ctx.setContext, zone, hourDays: new Map(), minuteHours: new Map() };
}

/**
 * Asks the questions, and with them, for each storage day whose hour keys they read, whether the
 * day key holds users none of its 24 hour keys holds: marks without hour keys, which hour keys
 * cannot answer for; likewise for each storage hour whose minute keys they read (an end inside a
 * storage hour), its hour key against its 60 minute keys. One round trip; HOURS_NOT_TRACKED names
 * the first such event and day, else MINUTES_NOT_TRACKED the first such event and hour.
 */
export async function askChecked(ctx: Context, sc: SetContext, questions: readonly Query[]): Promise<Answer[]> {
  const days = sc.hourDays ? [...sc.hourDays.values()] : [];
  const hours = sc.minuteHours ? [...sc.minuteHours.values()] : [];
  if (!days.length && !hours.length) return ctx.ask(questions);
  const checks = [
    ...days.map(({ name, day }): Query => ({ kind: 'exists', expr: untrackedExpr(sc.layout, name, 'DAY', day) })),
    ...hours.map(({ name, hour }): Query => ({ kind: 'exists', expr: untrackedExpr(sc.layout, name, 'HOUR', hour) })),
  ];
  const answers = await ctx.ask([...questions, ...checks]);
  days.forEach(({ name, day }, i) => {
    if (answers[questions.length + i]) throw hoursNotTracked(name, day, sc.zone!, sc.tz);
  });
  hours.forEach(({ name, hour }, i) => {
    if (answers[questions.length + days.length + i]) throw minutesNotTracked(name, hour, sc.zone!, sc.tz);
  });
  return answers.slice(0, questions.length);
}

export interface SeriesPointData {
  period: ZonedPeriod;
  count: number;
  average: number | null;
}

const DEFAULT_POINTS = 30;

const withDefault = (range: PeriodRange): PeriodRange => (range.from == null && range.last == null ? { ...range, last: DEFAULT_POINTS } : range);

/** The periods of a series: from..to, or the last N (default 30) ending at `to` (default now). */
export function seriesPeriods(ctx: Context, range: PeriodRange, sc: SetContext = ctx.setContext): Period[] {
  return rangePeriods(withDefault(range), { tz: namingZone(sc), now: sc.now }, ctx.services.config.maxPoints, 'the series has');
}

/** How many points a series has, checked against MAX_POINTS, without making them. */
export function seriesLength(ctx: Context, range: PeriodRange, sc: SetContext = ctx.setContext): number {
  const { n } = rangeSpan(withDefault(range), { tz: namingZone(sc), now: sc.now });
  checkPeriods(n, ctx.services.config.maxPoints, 'the series has');
  return n;
}

/** A series' range with its rolling average: what its cost is worked out from. */
export interface SeriesRange extends PeriodRange {
  readonly rollingAverage?: number | null;
  /** IANA zone the periods are named in (default: the storage zone). */
  readonly timeZone?: string | null;
}

/** The window of a rolling average (null: none), from 1 to MAX_POINTS points. */
export function averageWindow(ctx: Context, window: number | null | undefined): number | null {
  if (window == null) return null;
  const max = ctx.services.config.maxPoints;
  if (!Number.isInteger(window) || window < 1) throw new BitmapError('BAD_INPUT', `rollingAverage must be at least 1, got ${window}`);
  if (window > max) {
    throw new BitmapError('TOO_COMPLEX', `rollingAverage is ${window} points; the limit is ${max} (MAX_POINTS): average over fewer points`, { limit: max });
  }
  return window;
}

/** Points a series reads: its own, and the window - 1 before them its first averages need. */
export const seriesReads = (ctx: Context, range: SeriesRange, sc: SetContext = ctx.setContext): number =>
  seriesLength(ctx, range, sc) + (averageWindow(ctx, range.rollingAverage) ?? 1) - 1;

/** A series' cost from its shape: the points it reads × the keys one point's set reads (event leaves bound to the point's granularity). */
export function seriesCost(ctx: Context, set: SetSpec, range: SeriesRange): number {
  const sc = zonedContext(ctx, range.timeZone);
  return seriesReads(ctx, range, sc) * setShapeCost(set, sc, range.granularity);
}

/**
 * The periods before a series' first point that its rolling average reads, oldest first: every
 * point averages a full window, as a 7-day average on a chart does, rather than the first
 * window - 1 points having none. Only the first periods of the year 0000 lack some.
 */
export function periodsBefore(first: Period, window: number | null): Period[] {
  const n = Math.min((window ?? 1) - 1, first.index - firstPeriod(first.granularity).index);
  return Array.from({ length: n }, (_, i) => ({ granularity: first.granularity, index: first.index - n + i }));
}

/** Points with their averages, from the counts of `before` periods and then of the points. */
export function withAverages(periods: readonly Period[], counts: readonly number[], window: number | null, before = 0): SeriesPointData[] {
  const averages = rollingAverages(counts, window);
  return periods.map((period, i) => ({ period, count: counts[before + i]!, average: averages[before + i]! }));
}

export async function series(
  ctx: Context,
  set: SetSpec,
  range: PeriodRange & { readonly timeZone?: string | null },
  rollingAverage: number | null | undefined,
): Promise<SeriesPointData[]> {
  ctx.cost.assertWithin(); // the request is already over MAX_COST: resolve nothing more
  const window = averageWindow(ctx, rollingAverage);
  ctx.cost.assertRoomFor(seriesCost(ctx, set, { ...range, rollingAverage: window }));
  const sc = zonedContext(ctx, range.timeZone);
  const periods = seriesPeriods(ctx, range, sc);
  const before = periodsBefore(periods[0]!, window);
  const counts = await askChecked(ctx, sc, [...before, ...periods].map((bound) => ({ kind: 'count', expr: resolveSet(set, { ...sc, bound }) })));
  return withAverages(sc.zone ? periods.map((p) => inZone(p, sc)) : periods, counts as number[], window, before.length);
}

export interface CohortArgs {
  cohort: SetSpec;
  activity: SetSpec;
  granularity: Granularity;
  rows?: number | null;
  columns?: number | null;
  from?: TimeInput | null;
  to?: TimeInput | null;
  asPercent?: boolean | null;
  /** IANA zone the periods are named in (default: the storage zone). */
  timeZone?: string | null;
}

export interface CohortResult extends CohortTableData {
  periods: ZonedPeriod[];
  csv: string;
}

const DEFAULT_ROWS = 12;

/**
 * The first row period, rows and columns: `from` is the first row, `to` the last; neither: the last
 * row is now. The cell limit is checked before any period is made, so a huge from..to is refused at once.
 */
function cohortShape(ctx: Context, a: CohortArgs, sc: SetContext): { first: Period; rows: number; columns: number } {
  const { now } = sc;
  const tz = namingZone(sc);
  const at = (t: TimeInput): Period => periodAt(a.granularity, resolveTime(t, tz), tz);
  let first: Period;
  let n: number;
  if (a.from != null && a.to != null) {
    first = at(a.from);
    n = at(a.to).index - first.index + 1;
    if (n < 1) throw new BitmapError('BAD_INPUT', 'cohort `to` is before `from`');
    if (a.rows != null && a.rows !== n) {
      throw new BitmapError('BAD_INPUT', `from..to spans ${n} periods but rows is ${a.rows}: give two of from, to, rows`);
    }
  } else {
    n = a.rows ?? DEFAULT_ROWS;
    // Not shiftPeriod yet: 2e9 rows are TOO_COMPLEX (the limit is news), not a period out of range.
    first = a.from != null ? at(a.from) : { granularity: a.granularity, index: at(a.to ?? { utcMs: now }).index + 1 - n };
  }
  if (!Number.isInteger(n) || n < 1) throw new BitmapError('BAD_INPUT', `rows must be at least 1, got ${n}`);
  const columns = a.columns ?? n;
  if (!Number.isInteger(columns) || columns < 1) throw new BitmapError('BAD_INPUT', `columns must be at least 1, got ${columns}`);
  const max = ctx.services.config.maxCohortCells;
  if (n * columns > max) {
    throw new BitmapError('TOO_COMPLEX', `the cohort table has ${n} × ${columns} cells; the limit is ${max}`, { limit: max });
  }
  return { first, rows: n, columns };
}

/**
 * A cohort's cost from its shape: each row's cohort set, each activity period's set (rows + columns
 * - 1 of them) and each cell, which reads both.
 */
export function cohortCost(ctx: Context, a: CohortArgs): number {
  const sc = zonedContext(ctx, a.timeZone);
  const { rows, columns } = cohortShape(ctx, a, sc);
  const c = setShapeCost(a.cohort, sc, a.granularity);
  const act = setShapeCost(a.activity, sc, a.granularity);
  return rows * c + (rows + columns - 1) * act + rows * columns * (c + act);
}

export async function cohort(ctx: Context, a: CohortArgs): Promise<CohortResult> {
  ctx.cost.assertWithin(); // the request is already over MAX_COST: resolve nothing more
  ctx.cost.assertRoomFor(cohortCost(ctx, a));
  const sc = zonedContext(ctx, a.timeZone);
  const shape = cohortShape(ctx, a, sc);
  const periods = Array.from({ length: shape.rows }, (_, i) => shiftPeriod(shape.first, i));
  const { columns } = shape;
  const rowSets = periods.map((p) => resolveSet(a.cohort, { ...sc, bound: p }));
  // Activity periods overlap from row to row (p+k): each is resolved, and asked about, once.
  const first = periods[0]!.index;
  const activity = Array.from({ length: periods.length + columns - 1 }, (_, d) =>
    resolveSet(a.activity, { ...sc, bound: shiftPeriod(periods[0]!, d) }),
  );
  const questions: Query[] = [
    ...rowSets.map((expr): Query => ({ kind: 'count', expr })),
    ...activity.map((expr): Query => ({ kind: 'exists', expr })),
  ];
  rowSets.forEach((cohortSet, r) => {
    for (let k = 0; k < columns; k++) questions.push({ kind: 'count', expr: andOf([cohortSet, activity[r + k]!]) });
  });
  const answers = await askChecked(ctx, sc, questions);
  const sizes = answers.slice(0, periods.length) as number[];
  const hasData = answers.slice(periods.length, periods.length + activity.length) as boolean[];
  let at = periods.length + activity.length;
  const overlaps = periods.map(() => answers.slice(at, (at += columns)) as number[]);
  const exists = periods.map((p) => Array.from({ length: columns }, (_, k) => hasData[p.index - first + k]!));
  const table = cohortTable(sizes, overlaps, exists, a.asPercent ?? false);
  return { ...table, periods: sc.zone ? periods.map((p) => inZone(p, sc)) : periods, csv: cohortCsv(periods.map(periodLabel), table) };
}

/** A funnel's cost from its shape: step k reads the sets of steps 1..k. */
export function funnelCost(ctx: Context, steps: readonly SetSpec[], timeZone?: string | null): number {
  const sc = zonedContext(ctx, timeZone);
  let upToHere = 0;
  let cost = 0;
  for (const s of steps) {
    upToHere += setShapeCost(s, sc);
    cost += upToHere;
  }
  return cost;
}

export async function funnel(ctx: Context, steps: readonly SetSpec[], timeZone?: string | null): Promise<FunnelStepData[]> {
  if (steps.length === 0) throw new BitmapError('BAD_INPUT', 'a funnel needs at least one step');
  ctx.cost.assertRoomFor(funnelCost(ctx, steps, timeZone));
  const sc = zonedContext(ctx, timeZone);
  const sets = steps.map((s) => resolveSet(s, sc));
  const counts = await askChecked(ctx, sc, sets.map((_, k) => ({ kind: 'count', expr: andOf(sets.slice(0, k + 1)) })));
  return funnelSteps(counts as number[]);
}
