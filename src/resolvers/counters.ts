// Counters: increments, top keys of a period, and a counter's series.

import { createHash } from 'node:crypto';
import { BitmapError, LONE_SURROGATE_PROBLEM, hasLoneSurrogate } from '../bitmap/errors.ts';
import { assertCounterHit, assertCounterKey, counterIncrements, listCounters } from '../bitmap/counters.ts';
import type { CounterHit } from '../bitmap/counters.ts';
import { assertEventName } from '../bitmap/errors.ts';
import type { CounterEntries } from '../bitmap/program.ts';
import { resolvePeriod } from '../bitmap/sets.ts';
import type { PeriodRange, PeriodSpec } from '../bitmap/sets.ts';
import { resolveTime } from '../bitmap/period.ts';
import type { Granularity, Period, TimeInput } from '../bitmap/period.ts';
import type { SetContext } from '../bitmap/sets.ts';
import { counterMinuteCheck, counterMinutesNotTracked, coverCounterKeys, mayCutHours, zonedCounterCost } from '../bitmap/zones.ts';
import type { Answer, Query } from '../bitmap/plan.ts';
import type { Context } from '../context.ts';
import { PAGE_PER_UNIT, granularityOf, keysPerPeriod } from '../limits.ts';
import { averageWindow, inZone, periodsBefore, seriesPeriods, seriesReads, withAverages, zonedContext } from './analytics.ts';
import type { SeriesPointData, SeriesRange } from './analytics.ts';

export interface IncrementArgs {
  readonly name: string;
  readonly key: string;
  readonly by?: number | null;
  readonly at?: TimeInput | null;
}

/** Longest idempotency key: it is stored beside the counters for a day. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/**
 * The batch as the client sent it, hashed: a retry must send the same inputs (an `at` left out
 * stays left out, so a retry a second later still matches).
 */
function batchDigest(inputs: readonly IncrementArgs[]): string {
  const canonical = inputs.map((c) => [c.name, c.key, c.by ?? 1, c.at == null ? null : c.at instanceof Date ? c.at.getTime() : String(c.at)]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 32);
}

function assertIdempotencyKey(key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BitmapError('BAD_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}`);
  }
  if (hasLoneSurrogate(key)) throw new BitmapError('BAD_INPUT', `idempotencyKey ${LONE_SURROGATE_PROBLEM}`);
  return key;
}

/**
 * The whole batch is validated before anything is written. Under an idempotency key the batch
 * is applied at most once (Engine.increment's Once): a retry answers as the first call did, with
 * `replayed: true`.
 */
export async function incrementCounters(
  ctx: Context,
  inputs: readonly IncrementArgs[],
  idempotencyKey?: string | null,
): Promise<{ incremented: number; replayed: boolean }> {
  const { engine, layout, tz, config } = ctx.services;
  if (inputs.length > config.maxBatch) {
    throw new BitmapError('TOO_LARGE', `a batch holds at most ${config.maxBatch} increments, got ${inputs.length}; split it`, {
      limit: config.maxBatch,
    });
  }
  const hits: CounterHit[] = inputs.map((c, i) => {
    try {
      return assertCounterHit({ name: c.name, key: c.key, by: c.by ?? 1, at: c.at ? resolveTime(c.at, tz) : ctx.setContext.now });
    } catch (e) {
      if (e instanceof BitmapError) throw new BitmapError(e.code, `input[${i}]: ${e.message}`, { index: i });
      throw e;
    }
  });
  const once = idempotencyKey == null ? undefined : { key: assertIdempotencyKey(idempotencyKey), digest: batchDigest(inputs) };
  const { replayed } = await engine.increment(counterIncrements(layout, tz, hits, config.trackMinutely), once);
  if (!replayed) ctx.services.tally.counterIncrements(hits.length);
  return { incremented: hits.length, replayed };
}

/** How many top keys are asked for (default 10), checked against MAX_PAGE_SIZE. */
function topSize(ctx: Context, top: number | null | undefined): number {
  const limit = top ?? 10;
  const max = ctx.services.config.maxPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new BitmapError(limit > max ? 'TOO_COMPLEX' : 'BAD_INPUT', `top must be from 1 to ${max}, got ${limit}`, { limit: max });
  }
  return limit;
}

/** True when a zoned question may read minute hashes: its zone is not always whole hours from the storage zone. */
const cutsHours = (sc: SetContext): boolean => sc.zone !== undefined && mayCutHours(sc.zone, sc.tz);

/**
 * Hashes `n` consecutive periods are read as, one run: their own (a YEAR its 12 months), or in
 * another zone at most their covering ones, with the minute checks of the run's two edges.
 */
export const counterRunCost = (sc: SetContext, g: Granularity, n = 1): number =>
  sc.zone ? zonedCounterCost(g, n, cutsHours(sc)) : n * keysPerPeriod(g);

/** Storage hours whose minute hashes a counter question reads, each with the field its answer takes (null: all of them). */
export type CounterChecks = Map<string, { readonly name: string; readonly hour: number; readonly field: string | null }>;

/**
 * A counter's hashes over consecutive periods (one run): the stored ones, or in another zone the
 * storage periods' covering the run (src/bitmap/zones.ts), whose storage hours read by minute go
 * into `checks` for `field`.
 */
export function counterKeysOver(sc: SetContext, name: string, periods: readonly Period[], checks: CounterChecks, field: string | null): string[] {
  if (!sc.zone) return periods.flatMap((p) => sc.layout.counterKeys(name, p));
  const { keys, minuteHours } = coverCounterKeys(sc.layout, name, periods[0]!, periods[periods.length - 1]!, sc.tz, sc.zone);
  for (const hour of minuteHours) checks.set(JSON.stringify([name, hour, field]), { name, hour, field });
  return keys;
}

/**
 * Asks the questions, and with them, for each storage hour whose minute hashes they read, its
 * hour hash's value and its 60 minute hashes' sum (of the field, or of all fields): one round
 * trip. They differ when some increment of that hour has no minute: MINUTES_NOT_TRACKED, naming
 * the counter and the storage hour.
 */
export async function askCounters(ctx: Context, sc: SetContext, questions: readonly Query[], checks: CounterChecks): Promise<Answer[]> {
  const list = [...checks.values()];
  if (!list.length) return ctx.ask(questions);
  const asks = list.flatMap(({ name, hour, field }): Query[] => {
    const k = counterMinuteCheck(sc.layout, name, hour);
    return [
      { kind: 'counter', keys: k.hour, field },
      { kind: 'counter', keys: k.minutes, field },
    ];
  });
  const answers = await ctx.ask([...questions, ...asks]);
  const n = questions.length;
  list.forEach(({ name, hour, field }, i) => {
    if (answers[n + 2 * i] !== answers[n + 2 * i + 1]) throw counterMinutesNotTracked(name, field, hour, sc.zone!, sc.tz);
  });
  return answers.slice(0, n);
}

/** Cost of a counters top from its shape: the hashes of its period (a YEAR 12) plus its size by the hundred. */
export const topCountersCost = (ctx: Context, period: PeriodSpec, top: number | null | undefined, timeZone?: string | null): number =>
  counterRunCost(zonedContext(ctx, timeZone), granularityOf(period) ?? 'DAY') + Math.ceil(topSize(ctx, top) / PAGE_PER_UNIT);

export async function topCounters(
  ctx: Context,
  name: string,
  period: PeriodSpec,
  top: number | null | undefined,
  timeZone?: string | null,
): Promise<Array<{ key: string; value: number }>> {
  const limit = topSize(ctx, top);
  ctx.cost.assertRoomFor(topCountersCost(ctx, period, top, timeZone));
  const sc = zonedContext(ctx, timeZone);
  const checks: CounterChecks = new Map();
  const keys = counterKeysOver(sc, assertEventName(name), [resolvePeriod(period, sc.zone ?? sc.tz, sc.now)], checks, null);
  const [entries] = (await askCounters(ctx, sc, [{ kind: 'counterTop', keys, top: limit }], checks)) as [CounterEntries];
  return entries.map(([key, value]) => ({ key, value }));
}

/** Cost of a counter series from its shape: the points it reads (its own and its average's earlier ones) × the hashes of one point (a YEAR 12). */
export function counterSeriesCost(ctx: Context, range: SeriesRange): number {
  const sc = zonedContext(ctx, range.timeZone);
  return seriesReads(ctx, range, sc) * counterRunCost(sc, range.granularity);
}

export async function counterSeries(
  ctx: Context,
  name: string,
  key: string | null | undefined,
  range: PeriodRange & { readonly timeZone?: string | null },
  rollingAverage: number | null | undefined,
): Promise<SeriesPointData[]> {
  assertEventName(name);
  if (key != null) assertCounterKey(key);
  const window = averageWindow(ctx, rollingAverage);
  ctx.cost.assertRoomFor(counterSeriesCost(ctx, { ...range, rollingAverage: window }));
  const sc = zonedContext(ctx, range.timeZone);
  const periods = seriesPeriods(ctx, range, sc);
  const before = periodsBefore(periods[0]!, window);
  const checks: CounterChecks = new Map();
  const field = key ?? null;
  const values = await askCounters(
    ctx,
    sc,
    [...before, ...periods].map((p): Query => ({ kind: 'counter', keys: counterKeysOver(sc, name, [p], checks, field), field })),
    checks,
  );
  return withAverages(sc.zone ? periods.map((p) => inZone(p, sc)) : periods, values as number[], window, before.length);
}

/** Counters that have data, by name (optionally those starting with `prefix`). */
export async function counterNames(ctx: Context, prefix: string | null | undefined): Promise<string[]> {
  const { engine, layout } = ctx.services;
  if (prefix) assertEventName(prefix, 'prefix');
  return listCounters(engine, layout, prefix ?? '');
}
