// Counters: occurrences per key and period (which bitmaps cannot record), in hashes beside the bitmaps.

import type { CounterIncrement } from './engines/engine.ts';
import { BitmapError, assertEventName } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import { periodAt } from './period.ts';
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
  if (hit.key.length === 0 || hit.key.length > MAX_COUNTER_KEY_LENGTH) {
    throw new BitmapError('BAD_INPUT', `key must be 1 to ${MAX_COUNTER_KEY_LENGTH} characters, got ${hit.key.length}`);
  }
  // Counts only grow: a Count is never negative.
  if (!Number.isSafeInteger(hit.by) || hit.by < 1) throw new BitmapError('BAD_INPUT', `by must be a whole number ≥ 1, got ${hit.by}`);
  return hit;
}

/** One increment per stored period (hour, day, ISO week, month); a year is read as its months. */
export function counterIncrements(layout: KeyLayout, tz: TimeZone, hits: readonly CounterHit[]): CounterIncrement[] {
  return hits.flatMap((h) =>
    COUNTER_GRANULARITIES.flatMap((g) => layout.counterKeys(h.name, periodAt(g, h.at, tz)).map((key) => ({ key, field: h.key, by: h.by }))),
  );
}
