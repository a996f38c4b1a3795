// Marking events: which keys one mark writes, and the list of events that have data.

import type { BitWrite, Engine } from './engines/engine.ts';
import type { KeyLayout } from './keys.ts';
import { periodAt, periodOfMinute } from './period.ts';
import type { TimeZone } from './period.ts';

export interface Mark {
  readonly name: string;
  readonly userId: number;
  /** Instant of the event, ms since the epoch. */
  readonly at: number;
  readonly hourly: boolean;
  /** Also the minute key (TRACK_MINUTELY; not bitmapist's: see periodSuffix). */
  readonly minutely?: boolean;
  readonly unique: boolean;
}

/** bitmapist's mark_event: month, week and day keys, plus hour and unique when asked for (and our minute key). */
export function markKeys(layout: KeyLayout, tz: TimeZone, mark: Mark): string[] {
  return markKeysAtMinute(layout, periodAt('MINUTE', mark.at, tz).index, mark);
}

/**
 * The keys of markKeys for a mark in the wall-clock minute `minute` (the index of its MINUTE
 * period in the zone); without `minutely`, any minute of the hour gives the same keys.
 */
export function markKeysAtMinute(layout: KeyLayout, minute: number, mark: Pick<Mark, 'name' | 'hourly' | 'minutely' | 'unique'>): string[] {
  const keys = (['MONTH', 'WEEK', 'DAY'] as const).flatMap((g) => layout.eventKeys(mark.name, periodOfMinute(g, minute)));
  if (mark.hourly) keys.push(...layout.eventKeys(mark.name, periodOfMinute('HOUR', minute)));
  if (mark.minutely) keys.push(...layout.eventKeys(mark.name, periodOfMinute('MINUTE', minute)));
  if (mark.unique) keys.push(layout.uniqueKey(mark.name));
  return keys;
}

/** markKeysAtMinute for a mark in the wall-clock hour `hour`, minute keys aside. */
export const markKeysAtHour = (layout: KeyLayout, hour: number, mark: Pick<Mark, 'name' | 'hourly' | 'unique'>): string[] =>
  markKeysAtMinute(layout, hour * 60, { ...mark, minutely: false });

export function markWrites(layout: KeyLayout, tz: TimeZone, marks: readonly Mark[], bit: 0 | 1): BitWrite[] {
  // Marks of a batch mostly share their instant (now) and a few names: their keys are worked
  // out once per (instant, name, options), not once per mark.
  const keysOf = new Map<string, string[]>();
  const writes: BitWrite[] = [];
  for (const m of marks) {
    const id = `${m.at} ${m.hourly ? 1 : 0}${m.minutely ? 1 : 0}${m.unique ? 1 : 0} ${m.name}`;
    let keys = keysOf.get(id);
    if (!keys) keysOf.set(id, (keys = markKeys(layout, tz, m)));
    for (const key of keys) writes.push({ key, offset: m.userId, bit });
  }
  return writes;
}

/** Names of events with at least one key, sorted; found by SCAN, never KEYS. */
export const listEvents = (engine: Engine, layout: KeyLayout, namePrefix = ''): Promise<string[]> =>
  namesUnder(engine, layout.prefix, namePrefix, (key) => layout.parse(key)?.name ?? null);

/**
 * The distinct names (starting with `namePrefix`) of the keys under `keyPrefix`, sorted; `nameOf`
 * reads a key's name, or null for a key that is not one of them. Found by SCAN, never KEYS.
 */
export async function namesUnder(
  engine: Engine,
  keyPrefix: string,
  namePrefix: string,
  nameOf: (key: string) => string | null,
): Promise<string[]> {
  const names = new Set<string>();
  for await (const batch of engine.scan(`${keyPrefix}${namePrefix}`)) {
    for (const key of batch) {
      const name = nameOf(key);
      if (name !== null && name.startsWith(namePrefix)) names.add(name);
    }
  }
  return [...names].sort();
}
