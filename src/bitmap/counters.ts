// Counters: occurrences per key and period (which bitmaps cannot record), in hashes beside the bitmaps.

import type { CounterIncrement, Engine } from './engines/engine.ts';
import { BitmapError, LONE_SURROGATE_PROBLEM, assertEventName, hasLoneSurrogate } from './errors.ts';
import { namesUnder } from './events.ts';
import { parseSuffix } from './keys.ts';
import type { KeyLayout } from './keys.ts';
import { periodAt, periodOfMinute } from './period.ts';
import type { TimeZone } from './period.ts';

export interface CounterHit {
  readonly name: string;
  /** What is counted, e.g. a song id or a provider. */
  readonly key: string;
  readonly by: number;
  /** Instant, ms since the epoch. */
  readonly at: number;
}

export const COUNTER_GRANULARITIES = ['HOUR', 'DAY', 'WEEK', 'MONTH'] as const;
export const MAX_COUNTER_KEY_LENGTH = 500;

export function assertCounterHit(hit: CounterHit): CounterHit {
  assertEventName(hit.name, 'name');
  assertCounterKey(hit.key);
  // Counts only grow: a Count is never negative.
  if (!Number.isSafeInteger(hit.by) || hit.by < 1) throw new BitmapError('BAD_INPUT', `by must be a whole number ≥ 1, got ${hit.by}`);
  return hit;
}

/** What is counted becomes a hash field: the importer checks its keys here too, so both refuse the same. */
export function assertCounterKey(key: string): string {
  if (key.length === 0 || key.length > MAX_COUNTER_KEY_LENGTH) {
    throw new BitmapError('BAD_INPUT', `key must be 1 to ${MAX_COUNTER_KEY_LENGTH} characters, got ${key.length}`);
  }
  if (hasLoneSurrogate(key)) throw new BitmapError('BAD_EVENT_NAME', `key ${LONE_SURROGATE_PROBLEM}: ${JSON.stringify(key.slice(0, 60))}`);
  return key;
}

/**
 * One increment per stored period (hour, day, ISO week, month, and the minute when `minutely`:
 * TRACK_MINUTELY); a year is read as its months.
 */
export function counterIncrements(layout: KeyLayout, tz: TimeZone, hits: readonly CounterHit[], minutely = false): CounterIncrement[] {
  return hits.flatMap((h) =>
    counterKeysAtMinute(layout, h.name, periodAt('MINUTE', h.at, tz).index, minutely).map((key) => ({ key, field: h.key, by: h.by })),
  );
}

/** The hashes a hit in the wall-clock minute `minute` (the index of its MINUTE period in the zone) adds to. */
export function counterKeysAtMinute(layout: KeyLayout, name: string, minute: number, minutely: boolean): string[] {
  const keys = COUNTER_GRANULARITIES.flatMap((g) => layout.counterKeys(name, periodOfMinute(g, minute)));
  if (minutely) keys.push(...layout.counterKeys(name, periodOfMinute('MINUTE', minute)));
  return keys;
}

/** The hashes a hit in the wall-clock hour `hour` adds to, minute hashes aside. */
export const counterKeysAtHour = (layout: KeyLayout, name: string, hour: number): string[] => counterKeysAtMinute(layout, name, hour * 60, false);

/**
 * The counter name of a hash key `<counter prefix><name>:<period suffix>`, or null for any other
 * key. Names may hold `:`; the suffix is the last `:`-part and must be a period's (2026-11-22,
 * W2026-47, …), so the string id and import keys beside the counters are never taken for one.
 */
export function counterNameOf(layout: KeyLayout, key: string): string | null {
  if (!key.startsWith(layout.counterPrefix)) return null;
  const rest = key.slice(layout.counterPrefix.length);
  const cut = rest.lastIndexOf(':');
  if (cut < 1) return null;
  const name = rest.slice(0, cut);
  const info = parseSuffix(`${name}_${rest.slice(cut + 1)}`);
  // The whole last part must be the suffix (a `_` inside it would move the split).
  return info !== null && 'period' in info && info.name === name ? name : null;
}

/** Names of counters with at least one period hash, sorted; found by SCAN, never KEYS. */
export const listCounters = (engine: Engine, layout: KeyLayout, namePrefix = ''): Promise<string[]> =>
  namesUnder(engine, layout.counterPrefix, namePrefix, (key) => counterNameOf(layout, key));
