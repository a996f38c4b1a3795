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
import { diffOf, keyExpr, orOf } from './expr.ts';
import type { Expr } from './expr.ts';
import type { KeyLayout } from './keys.ts';
import { civilFromDays, daysFromCivil, periodAt, periodEnd, periodLabel, periodStart } from './period.ts';
import { TimeZone } from './period.ts';
import type { Granularity, Period } from './period.ts';

/** Storage keys of an event over an instant range, and the storage days whose hour keys they include. */
export interface Cover {
  readonly keys: readonly string[];
  /** DAY indexes (storage zone) of which some hour keys are read: those hours must have been tracked. */
  readonly hourDays: readonly number[];
  /** HOUR indexes (storage zone) of which some minute keys are read: those minutes must have been tracked. */
  readonly minuteHours: readonly number[];
}

/** Storage periods covering an instant range, with the days whose hours and the hours whose minutes they read. */
export interface StorageCover {
  readonly periods: Period[];
  readonly hourDays: number[];
  readonly minuteHours: number[];
}

/** True when the request zone is the storage zone: periods are the stored ones, read as before. */
export const sameZone = (zone: TimeZone | undefined, storage: TimeZone): boolean => zone === undefined || zone.name === storage.name;

/** Where a request-zone period starts or ends on the storage clock: a storage hour boundary, or inside one at a minute boundary. */
type Edge = { readonly hour: number } | { readonly minute: number };

/** Real length of the storage hour `h`, in ms: 3,600,000 except for an hour a DST change repeats (longer) or skips (0). */
function hourLength(h: number, storage: TimeZone): number {
  return periodEnd({ granularity: 'HOUR', index: h }, storage) - periodStart({ granularity: 'HOUR', index: h }, storage);
}

const HOUR_MS = 3_600_000;

/**
 * Where instant `ms` is on the storage clock, or a coded refusal. A storage hour boundary is an
 * hour edge (hour keys). Inside a storage hour (a zone not a whole number of hours from the storage
 * zone), with `minutes`, a minute boundary of an hour that happens once is a minute edge (minute
 * keys); else TIME_ZONE_UNALIGNED: an end not on a storage minute, inside an hour a DST change
 * repeats (one key holds both occurrences and cannot be split), or without `minutes`.
 */
function edgeAt(ms: number, storage: TimeZone, zone: TimeZone, minutes: boolean): Edge {
  const h = periodAt('HOUR', ms, storage).index;
  const c = storage.civil(ms);
  const refuse = (reason: 'offset' | 'repeated-hour', message: string): BitmapError =>
    new BitmapError('TIME_ZONE_UNALIGNED', message, { timeZone: zone.name, storageTimeZone: storage.name, reason });
  const onHour = c.minute === 0 && c.second === 0 && c.ms === 0;
  const sameHourBefore = periodAt('HOUR', ms - 1, storage).index === h;
  if (onHour && !sameHourBefore) return { hour: h };
  const repeated = (): BitmapError =>
    refuse(
      'repeated-hour',
      `a ${zone.name} period starts or ends at ${new Date(ms).toISOString()}, inside the storage hour ${periodLabel({ granularity: 'HOUR', index: h })} that ${storage.name} repeats at its DST change: one key holds both occurrences and cannot be split`,
    );
  if (onHour) throw repeated(); // the start of the hour's second occurrence
  if (!minutes) {
    throw refuse(
      'offset',
      `${zone.name} is not a whole number of hours from the storage time zone ${storage.name} at ${new Date(ms).toISOString()}: its periods cannot be built from hour keys`,
    );
  }
  if (hourLength(h, storage) !== HOUR_MS) throw repeated();
  if (c.second !== 0 || c.ms !== 0) {
    throw refuse(
      'offset',
      `${zone.name} is not a whole number of minutes from the storage time zone ${storage.name} at ${new Date(ms).toISOString()}: its periods cannot be built from minute keys`,
    );
  }
  return { minute: periodAt('MINUTE', ms, storage).index };
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

/**
 * Storage periods covering the instants [start, end) exactly, and the days whose hours and the
 * hours whose minutes they read. An end inside a storage hour is covered, with `minutes`, by that
 * hour's minute keys on the period's side of it (what lies beyond is another period's).
 */
export function coverPeriods(start: number, end: number, storage: TimeZone, zone: TimeZone, minutes = false): StorageCover {
  const e0 = edgeAt(start, storage, zone, minutes);
  const e1 = edgeAt(end, storage, zone, minutes);
  const periods: Period[] = [];
  const hourDays = new Set<number>();
  const minuteHours = new Set<number>();
  const mins = (a: number, b: number): void => {
    for (let m = a; m < b; m++) periods.push({ granularity: 'MINUTE', index: m });
    if (b > a) {
      // Minute keys are checked against their hour key, and that hour against its day.
      for (const h of new Set([Math.floor(a / 60), Math.floor((b - 1) / 60)])) {
        minuteHours.add(h);
        hourDays.add(Math.floor(h / 24));
      }
    }
  };
  // The whole storage hours between the edges, and the minutes at an edge inside an hour.
  const h0 = 'hour' in e0 ? e0.hour : Math.ceil(e0.minute / 60);
  const h1 = 'hour' in e1 ? e1.hour : Math.floor(e1.minute / 60);
  if (h1 < h0) {
    mins((e0 as { minute: number }).minute, (e1 as { minute: number }).minute); // both inside one storage hour
    return { periods, hourDays: [...hourDays], minuteHours: [...minuteHours] };
  }
  if ('minute' in e0) mins(e0.minute, h0 * 60);
  coverHours(h0, h1, periods, hourDays);
  if ('minute' in e1) mins(h1 * 60, e1.minute);
  return { periods, hourDays: [...hourDays], minuteHours: [...minuteHours] };
}

/** Storage periods covering the storage hours [h0, h1) exactly: hour keys at the edges, days, weeks and months inside. */
function coverHours(h0: number, h1: number, periods: Period[], hourDays: Set<number>): void {
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
}

/** Granularities another zone's periods can be asked in: those made of whole hours. */
const COVERED = new Set<Granularity>(['HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR']);

/**
 * The storage keys of an event over the request-zone periods `first`..`last` (one run of
 * instants), with minute keys at an end inside a storage hour.
 */
export function coverKeys(layout: KeyLayout, name: string, first: Period, last: Period, storage: TimeZone, zone: TimeZone): Cover {
  const memo = memoOf(coverMemo, layout);
  // By Intl's names: every spelling of a zone has the same cover.
  const id = `${zone.id}\n${storage.id}\n${first.granularity}\n${first.index}\n${last.index}\n${name}`;
  let cover = memo.get(id);
  if (cover === undefined) {
    const { periods, hourDays, minuteHours } = coverStorage(first, last, storage, zone, true);
    cover = Object.freeze({ keys: Object.freeze(periods.flatMap((p) => layout.eventKeys(name, p))), hourDays: Object.freeze(hourDays), minuteHours: Object.freeze(minuteHours) });
    remember(memo, id, cover);
  }
  return cover;
}

/**
 * Covers and checks already worked out, per key layout: a dashboard asks about the same periods
 * of the same events in the same zone every few seconds, and naming a New York month's keys, or a
 * day's 24 hour keys for its check, cost about as much as reading them. Exact: a cover depends
 * only on the zones' rules and the periods, a check only on the event and the storage day or hour.
 */
const coverMemo = new WeakMap<KeyLayout, Map<string, Cover>>();
const checkMemo = new WeakMap<KeyLayout, Map<string, Expr>>();
const MEMO_ENTRIES = 20_000;

function memoOf<T>(memos: WeakMap<KeyLayout, Map<string, T>>, layout: KeyLayout): Map<string, T> {
  let memo = memos.get(layout);
  if (!memo) memos.set(layout, (memo = new Map()));
  return memo;
}

function remember<T>(memo: Map<string, T>, id: string, value: T): void {
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  memo.set(id, value);
}

/** The users of a storage day no hour key of it holds (`unit` DAY), or of a storage hour no minute key of it holds (`unit` HOUR): marks without the finer keys. */
export function untrackedExpr(layout: KeyLayout, name: string, unit: 'DAY' | 'HOUR', index: number): Expr {
  const memo = memoOf(checkMemo, layout);
  const id = `${unit}\n${index}\n${name}`;
  let e = memo.get(id);
  if (e === undefined) {
    if (unit === 'DAY') {
      const k = dayAndHourKeys(layout, name, index);
      e = diffOf(keyExpr(k.day), orOf(k.hours.map(keyExpr)));
    } else {
      const k = hourAndMinuteKeys(layout, name, index);
      e = diffOf(keyExpr(k.hour), orOf(k.minutes.map(keyExpr)));
    }
    remember(memo, id, e);
  }
  return e;
}

/**
 * The counter hashes of a counter over the request-zone periods `first`..`last`: the same storage
 * periods' hashes, summed, and the storage hours whose minute hashes that reads (an end inside a
 * storage hour). Counters always write per-hour hashes, so no hours can be missing; their minute
 * hashes exist only while TRACK_MINUTELY is on, so each such hour is checked against its hour hash
 * (counterMinuteCheck).
 */
export function coverCounterKeys(
  layout: KeyLayout,
  name: string,
  first: Period,
  last: Period,
  storage: TimeZone,
  zone: TimeZone,
): { keys: string[]; minuteHours: readonly number[] } {
  const { periods, minuteHours } = coverStorage(first, last, storage, zone, true);
  return { keys: periods.flatMap((p) => layout.counterKeys(name, p)), minuteHours };
}

/**
 * At most what `n` consecutive request-zone periods of a counter cost, read as one run: its hashes
 * (zonedRunKeys), and with `minutes` (mayCutHours) at each of the two edges 59 minute hashes and
 * the check of their hour, MINUTE_CHECK_COST (its hour hash and 60 minute hashes).
 */
export const zonedCounterCost = (g: Granularity, n: number, minutes = false): number =>
  zonedRunKeys(g, n) + (minutes ? 2 * (59 + MINUTE_CHECK_COST) : 0);

/**
 * The check of a storage hour whose minute hashes a counter question reads: the hour hash's value
 * and the sum of its 60 minute hashes' values, for one field (null: all fields). Increments are
 * whole numbers ≥ 1 and add to the hour's hash always and to the minute's only with minutes
 * tracked, so the two are equal exactly when every increment of that hour (of that field) has
 * its minute: then the minute hashes answer for any part of the hour.
 */
export function counterMinuteCheck(layout: KeyLayout, name: string, hour: number): { hour: string[]; minutes: string[] } {
  return {
    hour: layout.counterKeys(name, { granularity: 'HOUR', index: hour }),
    minutes: Array.from({ length: 60 }, (_, i) => layout.counterKeys(name, { granularity: 'MINUTE', index: hour * 60 + i })).flat(),
  };
}

export function counterMinutesNotTracked(name: string, field: string | null, hour: number, zone: TimeZone, storage: TimeZone): BitmapError {
  const label = periodLabel({ granularity: 'HOUR', index: hour });
  const what = field === null ? `counter "${name}"` : `counter "${name}" key ${JSON.stringify(field)}`;
  return new BitmapError(
    'MINUTES_NOT_TRACKED',
    `${what} has increments in the hour ${label} (storage time zone ${storage.name}) without minute hashes (its hour hash holds more than its 60 minute hashes), and the ${zone.name} periods asked for start or end inside that hour: increment with TRACK_MINUTELY=true to ask in zones that are not a whole number of hours from ${storage.name}, or ask in ${storage.name}`,
    { counter: name, ...(field === null ? {} : { key: field }), hour: label, timeZone: zone.name, storageTimeZone: storage.name },
  );
}

/** Storage periods covering the request-zone periods `first`..`last` exactly (one run of instants); `minutes`: minute keys at ends inside a storage hour. */
export function coverStorage(first: Period, last: Period, storage: TimeZone, zone: TimeZone, minutes = false): StorageCover {
  if (!COVERED.has(first.granularity)) {
    throw new BitmapError('TIME_ZONE_UNALIGNED', `${first.granularity} periods are asked in the storage time zone ${storage.name} only, not in ${zone.name}`, {
      timeZone: zone.name,
      storageTimeZone: storage.name,
      reason: 'granularity',
    });
  }
  return coverPeriods(periodStart(first, zone), periodEnd(last, zone), storage, zone, minutes);
}

/** At most how many storage hours one request-zone period spans (a day has 23 to 25). */
const maxHours = (g: Granularity): number => (g === 'DAY' ? 25 : g === 'WEEK' ? 7 * 24 + 1 : g === 'MONTH' ? 31 * 24 + 1 : g === 'YEAR' ? 366 * 24 + 1 : 1);

/**
 * At most what `n` consecutive request-zone periods of a granularity cost, read as one run: its
 * keys and the untracked-hours checks of its (at most two) edge days, HOUR_CHECK_COST each. For
 * cost from the shape, with no period made. Each edge is at most 23 hour keys; inside them, D
 * whole storage days are at most D keys, and at most 32 + ceil(D / 28): whole months, and before
 * and after them a run shorter than a month (at most 4 weeks and 12 days). With `minutes` (a zone
 * that is not always a whole number of hours from the storage zone: mayCutHours), each edge adds
 * at most 59 minute keys and the untracked-minutes check of its hour, MINUTE_CHECK_COST.
 */
export const zonedRunCost = (g: Granularity, n: number, minutes = false): number =>
  zonedRunKeys(g, n) + 2 * HOUR_CHECK_COST + (minutes ? 2 * (59 + MINUTE_CHECK_COST) : 0);

/** At most how many storage keys `n` consecutive request-zone periods are read as (zonedRunCost without the checks: counters). */
export function zonedRunKeys(g: Granularity, n: number): number {
  const hours = n * maxHours(g);
  const days = Math.ceil(hours / 24) + 1;
  return Math.min(hours, Math.min(days, 32 + Math.ceil(days / 28)) + 46);
}

/** What checking one storage hour for untracked minutes reads: the hour key and its 60 minute keys. */
export const MINUTE_CHECK_COST = 61;

/** Zone pairs (`<storage>\n<zone>`) by whether their offsets ever differ by other than whole hours. */
const cutsHours = new Map<string, boolean>();

/**
 * True when the zone's offset from the storage zone is not a whole number of hours at some time
 * from 1900 to 2100 (sampled every 30 days, on fresh zones so no cache fills; once a pair): its periods may
 * end inside a storage hour and be read with minute keys, so the cost from the shape prices them.
 */
export function mayCutHours(zone: TimeZone, storage: TimeZone): boolean {
  // By Intl's names: spellings of a zone (America/New_York, AMERICA/new_york, …) are one pair.
  const id = `${storage.id}\n${zone.id}`;
  let cuts = cutsHours.get(id);
  if (cuts === undefined) {
    const z = new TimeZone(zone.id, true);
    const s = new TimeZone(storage.id, true);
    cuts = false;
    const step = 30 * 86_400_000;
    for (let t = Date.UTC(1900, 0, 1); t < Date.UTC(2100, 0, 1) && !cuts; t += step) {
      cuts = (z.offsetAt(t) - s.offsetAt(t)) % HOUR_MS !== 0;
    }
    if (cutsHours.size >= 1000) cutsHours.clear();
    cutsHours.set(id, cuts);
  }
  return cuts;
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

/** Storage keys of one storage hour and of its 60 minutes, for the untracked-minutes check. */
export function hourAndMinuteKeys(layout: KeyLayout, name: string, hour: number): { hour: string; minutes: string[] } {
  return {
    hour: layout.eventKeys(name, { granularity: 'HOUR', index: hour })[0]!,
    minutes: Array.from({ length: 60 }, (_, i) => layout.eventKeys(name, { granularity: 'MINUTE', index: hour * 60 + i })[0]!),
  };
}

export function minutesNotTracked(name: string, hour: number, zone: TimeZone, storage: TimeZone): BitmapError {
  const label = periodLabel({ granularity: 'HOUR', index: hour });
  return new BitmapError(
    'MINUTES_NOT_TRACKED',
    `event "${name}" has marks in the hour ${label} (storage time zone ${storage.name}) without minute keys, and the ${zone.name} periods asked for start or end inside that hour: mark with trackMinutely (TRACK_MINUTELY=true) to ask in zones that are not a whole number of hours from ${storage.name}, or ask in ${storage.name}`,
    { event: name, hour: label, timeZone: zone.name, storageTimeZone: storage.name },
  );
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
