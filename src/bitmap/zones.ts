// Periods of another time zone than the one keys are written in: each is the union of the
// storage keys that cover its instants exactly.
//
// A request's zone names periods by its own wall clock; keys are named by the storage zone's
// (TIME_ZONE). A request-zone period is the instants [start, end); on the storage wall clock
// that is a run of whole storage hours when both ends fall on a storage hour boundary. The run
// is covered by the largest storage keys that lie wholly inside it (months, then ISO weeks, then
// days) and hour keys at its two ends: exact, because a mark sets the key of every granularity
// of its instant, so a user is in the union exactly when marked at one of those instants.

import { BitmapError } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import { civilFromDays, daysFromCivil, periodAt, periodEnd, periodLabel, periodStart } from './period.ts';
import { TimeZone } from './period.ts';
import type { Granularity, Period } from './period.ts';

/** Storage keys of an event over an instant range, and the storage days whose hour keys they include. */
export interface Cover {
  readonly keys: string[];
  /** DAY indexes (storage zone) of which some hour keys are read: those hours must have been tracked. */
  readonly hourDays: number[];
}

/** True when the request zone is the storage zone: periods are the stored ones, read as before. */
export const sameZone = (zone: TimeZone | undefined, storage: TimeZone): boolean => zone === undefined || zone.name === storage.name;

/**
 * The storage HOUR index that starts at instant `ms`, or a coded refusal: a boundary inside a
 * storage hour (a zone whose offset from the storage zone is not a whole number of hours), or
 * between the two occurrences of a storage hour repeated by a DST change (one key holds both).
 */
function hourAt(ms: number, storage: TimeZone, zone: TimeZone): number {
  const h = periodAt('HOUR', ms, storage).index;
  const c = storage.civil(ms);
  if (c.minute !== 0 || c.second !== 0 || c.ms !== 0) {
    throw new BitmapError(
      'TIME_ZONE_UNALIGNED',
      `${zone.name} is not a whole number of hours from the storage time zone ${storage.name} at ${new Date(ms).toISOString()}: its periods cannot be built from hour keys`,
      { timeZone: zone.name, storageTimeZone: storage.name, reason: 'offset' },
    );
  }
  if (periodAt('HOUR', ms - 1, storage).index === h) {
    throw new BitmapError(
      'TIME_ZONE_UNALIGNED',
      `a ${zone.name} period starts or ends at ${new Date(ms).toISOString()}, inside the storage hour ${periodLabel({ granularity: 'HOUR', index: h })} that ${storage.name} repeats at its DST change: one hour key holds both occurrences and cannot be split`,
      { timeZone: zone.name, storageTimeZone: storage.name, reason: 'repeated-hour' },
    );
  }
  return h;
}

const firstDayOfMonth = (m: number): number => daysFromCivil(Math.floor(m / 12), (m % 12) + 1, 1);
const mondayOfWeek = (w: number): number => w * 7 - 3;
const weekOfDay = (d: number): number => Math.floor((d + 3) / 7);

/** Storage periods covering the storage days [d0, d1) exactly: whole months, then whole ISO weeks, then days. */
export function coverDays(d0: number, d1: number): Period[] {
  const out: Period[] = [];
  if (d1 <= d0) return out;
  const c = civilFromDays(d0);
  let m = c.year * 12 + c.month - 1 + (c.day === 1 ? 0 : 1);
  const mFirst = m;
  while (firstDayOfMonth(m + 1) <= d1) out.push({ granularity: 'MONTH', index: m++ });
  if (m === mFirst) return weeksAndDays(d0, d1);
  return [...weeksAndDays(d0, firstDayOfMonth(mFirst)), ...out, ...weeksAndDays(firstDayOfMonth(m), d1)];
}

function weeksAndDays(d0: number, d1: number): Period[] {
  const out: Period[] = [];
  let w = weekOfDay(d0);
  if (mondayOfWeek(w) < d0) w++;
  const wFirst = w;
  const days = (a: number, b: number): void => {
    for (let d = a; d < b; d++) out.push({ granularity: 'DAY', index: d });
  };
  if (mondayOfWeek(w + 1) > d1) {
    days(d0, d1);
    return out;
  }
  days(d0, mondayOfWeek(wFirst));
  while (mondayOfWeek(w + 1) <= d1) out.push({ granularity: 'WEEK', index: w++ });
  days(mondayOfWeek(w), d1);
  return out;
}

/** Storage periods covering the instants [start, end) exactly, and the days whose hours they read. */
export function coverPeriods(start: number, end: number, storage: TimeZone, zone: TimeZone): { periods: Period[]; hourDays: number[] } {
  const h0 = hourAt(start, storage, zone);
  const h1 = hourAt(end, storage, zone);
  const periods: Period[] = [];
  const hourDays = new Set<number>();
  const hours = (a: number, b: number): void => {
    for (let h = a; h < b; h++) {
      periods.push({ granularity: 'HOUR', index: h });
      hourDays.add(Math.floor(h / 24));
    }
  };
  const d0 = Math.ceil(h0 / 24);
  const d1 = Math.floor(h1 / 24);
  if (d1 <= d0) hours(h0, h1);
  else {
    hours(h0, d0 * 24);
    periods.push(...coverDays(d0, d1));
    hours(d1 * 24, h1);
  }
  return { periods, hourDays: [...hourDays] };
}

/** Granularities another zone's periods can be asked in: those made of whole hours. */
const COVERED = new Set<Granularity>(['HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR']);

/** The storage keys of an event over the request-zone periods `first`..`last` (one run of instants). */
export function coverKeys(layout: KeyLayout, name: string, first: Period, last: Period, storage: TimeZone, zone: TimeZone): Cover {
  const { periods, hourDays } = coverStorage(first, last, storage, zone);
  return { keys: periods.flatMap((p) => layout.eventKeys(name, p)), hourDays };
}

/**
 * The counter hashes of a counter over the request-zone periods `first`..`last`: the same storage
 * periods' hashes, summed. Counters always write per-hour hashes, so no hours can be missing.
 */
export const coverCounterKeys = (layout: KeyLayout, name: string, first: Period, last: Period, storage: TimeZone, zone: TimeZone): string[] =>
  coverStorage(first, last, storage, zone).periods.flatMap((p) => layout.counterKeys(name, p));

/** Storage periods covering the request-zone periods `first`..`last` exactly (one run of instants). */
export function coverStorage(first: Period, last: Period, storage: TimeZone, zone: TimeZone): { periods: Period[]; hourDays: number[] } {
  if (!COVERED.has(first.granularity)) {
    throw new BitmapError('TIME_ZONE_UNALIGNED', `${first.granularity} periods are asked in the storage time zone ${storage.name} only, not in ${zone.name}`, {
      timeZone: zone.name,
      storageTimeZone: storage.name,
      reason: 'granularity',
    });
  }
  return coverPeriods(periodStart(first, zone), periodEnd(last, zone), storage, zone);
}

/** At most how many storage hours one request-zone period spans (a day has 23 to 25). */
const maxHours = (g: Granularity): number => (g === 'DAY' ? 25 : g === 'WEEK' ? 7 * 24 + 1 : g === 'MONTH' ? 31 * 24 + 1 : g === 'YEAR' ? 366 * 24 + 1 : 1);

/**
 * At most what `n` consecutive request-zone periods of a granularity cost, read as one run: its
 * keys and the untracked-hours checks of its (at most two) edge days, HOUR_CHECK_COST each. For
 * cost from the shape, with no period made. Each edge is at most 23 hour keys; inside them, D
 * whole storage days are at most D keys, and at most 32 + ceil(D / 28): whole months, and before
 * and after them a run shorter than a month (at most 4 weeks and 12 days).
 */
export const zonedRunCost = (g: Granularity, n: number): number => zonedRunKeys(g, n) + 2 * HOUR_CHECK_COST;

/** At most how many storage keys `n` consecutive request-zone periods are read as (zonedRunCost without the checks: counters). */
export function zonedRunKeys(g: Granularity, n: number): number {
  const hours = n * maxHours(g);
  const days = Math.ceil(hours / 24) + 1;
  return Math.min(hours, Math.min(days, 32 + Math.ceil(days / 28)) + 46);
}

/** What checking one storage day for untracked hours reads: the day key and its 24 hour keys. */
export const HOUR_CHECK_COST = 25;

/** Storage keys of one storage day and of its 24 hours, for the untracked-hours check. */
export function dayAndHourKeys(layout: KeyLayout, name: string, day: number): { day: string; hours: string[] } {
  return {
    day: layout.eventKeys(name, { granularity: 'DAY', index: day })[0]!,
    hours: Array.from({ length: 24 }, (_, i) => layout.eventKeys(name, { granularity: 'HOUR', index: day * 24 + i })[0]!),
  };
}

export function hoursNotTracked(name: string, day: number, zone: TimeZone, storage: TimeZone): BitmapError {
  const label = periodLabel({ granularity: 'DAY', index: day });
  return new BitmapError(
    'HOURS_NOT_TRACKED',
    `event "${name}" has marks on ${label} (storage time zone ${storage.name}) without hour keys, and the ${zone.name} periods asked for need that day's hours: mark with trackHourly (TRACK_HOURLY=true) to ask in other time zones, or ask in ${storage.name}`,
    { event: name, day: label, timeZone: zone.name, storageTimeZone: storage.name },
  );
}

/** Zones by name: each keeps the wall-clock fields of the instants it has turned. */
const zones = new Map<string, TimeZone>();

/** The zone of an IANA name (BAD_INPUT for an unknown one), made once per name. */
export function zoneNamed(name: string): TimeZone {
  let z = zones.get(name);
  if (z === undefined) {
    z = new TimeZone(name);
    if (zones.size >= 1000) zones.clear();
    zones.set(name, z);
  }
  return z;
}
