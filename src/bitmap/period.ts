// Periods: MINUTE, HOUR, DAY, ISO WEEK, MONTH and YEAR as integer indexes in one configured time zone.
//
// A period is (granularity, index). Indexes count wall-clock periods since 1970 in the zone,
// so shifting is integer addition and no DST arithmetic is needed except when a period's
// start or end is turned back into an instant.

import { BitmapError } from './errors.ts';

export const GRANULARITIES = ['MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export interface Period {
  readonly granularity: Granularity;
  readonly index: number;
}

/** Wall-clock date and time in the configured zone. month is 1-12. */
export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 1970-01-01 was a Thursday; week index 0 is the ISO week starting Monday 1969-12-29. */
const mondayOfWeek = (week: number): number => week * 7 - 3;
const weekOfDay = (days: number): number => Math.floor((days + 3) / 7);

/** ISO week-year and week number of the week with the given index. */
export function isoWeek(week: number): { year: number; week: number } {
  const thursday = mondayOfWeek(week) + 3;
  const { year } = civilFromDays(thursday);
  return { year, week: Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1 };
}

export function weekIndexOfIso(year: number, week: number): number {
  // The week that holds January 4th is week 1.
  return weekOfDay(daysFromCivil(year, 1, 4)) + week - 1;
}

/** Wall-clock fields by instant for each zone (by TimeZone.id): every spelling of a zone shares them, so there are at most as many as zones Intl knows. */
const knownByZone = new Map<string, Map<number, Readonly<Civil>>>();

/** A time zone turns instants into wall-clock fields and back. */
export class TimeZone {
  private readonly format?: Intl.DateTimeFormat;
  /**
   * Wall-clock fields of instants already turned, by instant: formatToParts costs a few µs, and
   * a request asks about the same few instants (each date it names, in the same days) every time.
   * Exact instants only, so no time zone rule is assumed; full, it starts again empty.
   */
  private readonly known: Map<number, Readonly<Civil>>;
  /**
   * The zone's name as Intl knows it (`america/NEW_york` is America/New_York), for what is worked
   * out once per zone: every spelling of one zone shares it, so made-up spellings cannot grow a cache.
   */
  readonly id: string;

  /** `fresh`: a cache of its own, not the zone's shared one (for a sweep of instants no request asks about). */
  constructor(
    readonly name: string = 'UTC',
    fresh = false,
  ) {
    if (name !== 'UTC') {
      try {
        this.format = new Intl.DateTimeFormat('en-US', {
          timeZone: name,
          hourCycle: 'h23',
          // Without the era, year 0 reads as 1 (1 BC) and -1 as 2.
          era: 'short',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
      } catch {
        throw new BitmapError('BAD_INPUT', `unknown time zone ${JSON.stringify(name)}`);
      }
    }
    this.id = this.format?.resolvedOptions().timeZone ?? 'UTC';
    let known = fresh ? undefined : knownByZone.get(this.id);
    if (known === undefined) {
      known = new Map();
      if (!fresh) knownByZone.set(this.id, known);
    }
    this.known = known;
  }

  civil(ms: number): Readonly<Civil> {
    if (!this.format) {
      const d = new Date(ms);
      return {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
        ms: d.getUTCMilliseconds(),
      };
    }
    let c = this.known.get(ms);
    if (c !== undefined) return c;
    const f: Record<string, number> = {};
    let beforeChrist = false;
    for (const p of this.format.formatToParts(new Date(ms))) {
      if (p.type === 'era') beforeChrist = p.value === 'BC';
      else if (p.type !== 'literal') f[p.type] = Number(p.value);
    }
    c = Object.freeze({
      year: beforeChrist ? 1 - f.year! : f.year!,
      month: f.month!,
      day: f.day!,
      hour: f.hour!,
      minute: f.minute!,
      second: f.second!,
      ms: ((ms % 1000) + 1000) % 1000,
    });
    if (this.known.size >= 10_000) this.known.clear();
    this.known.set(ms, c);
    return c;
  }

  /** Offset of the zone from UTC at an instant, in ms. */
  offsetAt(ms: number): number {
    if (!this.format) return 0;
    const c = this.civil(ms);
    return civilToUtcMs(c) - ms;
  }

  /**
   * The instant at which the wall clock shows `c`: the first of two in a DST overlap; in a DST
   * gap, as far past the gap as `c` is into it (02:00 in a gap from 02:00 to 03:00 is 03:00), so
   * a day that a change at midnight starts at 01:00 starts on its own date, not the day before.
   */
  instant(c: Civil): number {
    const asUtc = civilToUtcMs(c);
    if (!this.format) return asUtc;
    // A wall-clock time is at most 14 hours from UTC: a change near it is between these two.
    const before = asUtc - this.offsetAt(asUtc - 86_400_000);
    const after = asUtc - this.offsetAt(asUtc + 86_400_000);
    if (before === after) return before;
    const shows = (t: number): boolean => civilToUtcMs(this.civil(t)) === asUtc;
    const [early, late] = before < after ? [before, after] : [after, before];
    if (shows(early)) return early;
    // `late` shows it, or `c` is in the gap: the offset from before the gap carries it as far past.
    return late;
  }
}

function civilToUtcMs(c: Civil): number {
  return (daysFromCivil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second) * 1000 + c.ms;
}

/** The period holding a wall-clock time; `minute` (default 0) matters only to MINUTE. */
export function periodOfCivil(granularity: Granularity, c: Pick<Civil, 'year' | 'month' | 'day' | 'hour'> & { readonly minute?: number }): Period {
  const days = daysFromCivil(c.year, c.month, c.day);
  switch (granularity) {
    case 'MINUTE':
      return { granularity, index: (days * 24 + c.hour) * 60 + (c.minute ?? 0) };
    case 'HOUR':
      return { granularity, index: days * 24 + c.hour };
    case 'DAY':
      return { granularity, index: days };
    case 'WEEK':
      return { granularity, index: weekOfDay(days) };
    case 'MONTH':
      return { granularity, index: c.year * 12 + c.month - 1 };
    case 'YEAR':
      return { granularity, index: c.year };
  }
}

export function periodAt(granularity: Granularity, ms: number, tz: TimeZone): Period {
  return periodOfCivil(granularity, tz.civil(ms));
}

/**
 * The period that holds the wall-clock hour with index `hour` (hours since 1970 in the zone):
 * for callers that already know an instant's hour, so the zone is asked once, not once a granularity.
 * A MINUTE is the hour's first (periodOfMinute knows which minute).
 */
export function periodOfHour(granularity: Granularity, hour: number): Period {
  if (granularity === 'HOUR') return { granularity, index: hour };
  const days = Math.floor(hour / 24);
  return periodOfCivil(granularity, { ...civilFromDays(days), hour: hour - days * 24 });
}

/** The period that holds the wall-clock minute with index `minute` (minutes since 1970 in the zone). */
export function periodOfMinute(granularity: Granularity, minute: number): Period {
  if (granularity === 'MINUTE') return { granularity, index: minute };
  return periodOfHour(granularity, Math.floor(minute / 60));
}

/**
 * Periods are those that hold some wall-clock hour of the years 0000 to 9999 (the years a
 * DateTime can name): shifting past them would leave the dates a Date can print.
 */
const FIRST_HOUR = { year: 0, month: 1, day: 1, hour: 0 };
const LAST_HOUR = { year: 9999, month: 12, day: 31, hour: 23, minute: 59 };
const PERIOD_BOUNDS = Object.fromEntries(
  GRANULARITIES.map((g) => [g, [periodOfCivil(g, FIRST_HOUR), periodOfCivil(g, LAST_HOUR)] as const]),
) as Record<Granularity, readonly [Period, Period]>;

/** The first period of a granularity: nothing before it can be shifted to. */
export const firstPeriod = (g: Granularity): Period => PERIOD_BOUNDS[g][0];

export function shiftPeriod(p: Period, by: number): Period {
  const index = p.index + by;
  const [first, last] = PERIOD_BOUNDS[p.granularity];
  if (!(index >= first.index && index <= last.index)) {
    throw new BitmapError(
      'BAD_INPUT',
      `period out of range: ${periodLabel(p)} moved by ${by} leaves the ${p.granularity} periods of the years 0000 to 9999 (${periodLabel(first)} to ${periodLabel(last)}); move by less`,
    );
  }
  return { granularity: p.granularity, index };
}

/** Wall-clock start of a period. */
export function periodStartCivil(p: Period): Civil {
  const at = (days: number, hour = 0, minute = 0): Civil => ({ ...civilFromDays(days), hour, minute, second: 0, ms: 0 });
  switch (p.granularity) {
    case 'MINUTE': {
      const hour = Math.floor(p.index / 60);
      return at(Math.floor(hour / 24), ((hour % 24) + 24) % 24, ((p.index % 60) + 60) % 60);
    }
    case 'HOUR':
      return at(Math.floor(p.index / 24), ((p.index % 24) + 24) % 24);
    case 'DAY':
      return at(p.index);
    case 'WEEK':
      return at(mondayOfWeek(p.index));
    case 'MONTH':
      return at(daysFromCivil(Math.floor(p.index / 12), (((p.index % 12) + 12) % 12) + 1, 1));
    case 'YEAR':
      return at(daysFromCivil(p.index, 1, 1));
  }
}

/** First instant of the period. */
export const periodStart = (p: Period, tz: TimeZone): number => tz.instant(periodStartCivil(p));
/** Exclusive end: the first instant of the next period. */
export const periodEnd = (p: Period, tz: TimeZone): number => periodStart({ granularity: p.granularity, index: p.index + 1 }, tz);

/**
 * A year as ISO 8601 prints it: four digits, and outside 0000-9999 a sign and six digits
 * (-000001, +010000), the expanded form Date.parse reads, so the sign of year -1 is not lost.
 */
export const yearText = (year: number): string =>
  year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;

/** Human label: 2026-11-22T09:05, 2026-11-22T09, 2026-11-22, 2026-W47, 2026-11, 2026. */
export function periodLabel(p: Period): string {
  const c = periodStartCivil(p);
  const pad = (n: number): string => String(n).padStart(2, '0');
  switch (p.granularity) {
    case 'MINUTE':
      return `${yearText(c.year)}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}`;
    case 'HOUR':
      return `${yearText(c.year)}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}`;
    case 'DAY':
      return `${yearText(c.year)}-${pad(c.month)}-${pad(c.day)}`;
    case 'WEEK': {
      const w = isoWeek(p.index);
      return `${yearText(w.year)}-W${pad(w.week)}`;
    }
    case 'MONTH':
      return `${yearText(c.year)}-${pad(c.month)}`;
    case 'YEAR':
      return yearText(c.year);
  }
}

/** Months a year period covers (a year has no key of its own in bitmapist). */
export function monthsOfYear(p: Period): Period[] {
  return Array.from({ length: 12 }, (_, i) => ({ granularity: 'MONTH' as const, index: p.index * 12 + i }));
}

/** Consecutive periods from `from` to `to`, both inclusive. */
export function periodRange(from: Period, to: Period): Period[] {
  const out: Period[] = [];
  for (let i = from.index; i <= to.index; i++) out.push({ granularity: from.granularity, index: i });
  return out;
}

// ---- time input ----------------------------------------------------------------------

/** A DateTime as given: an instant (it had an offset) or a wall-clock time in the configured zone. */
export type TimeInput = { readonly utcMs: number } | { readonly local: Civil };

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Dashboards repeat the same few dates; parsed values are immutable, so they are kept. */
const parsed = new Map<string, TimeInput>();

export function parseTimeInput(text: string): TimeInput {
  let t = parsed.get(text);
  if (t === undefined) {
    t = parseTimeText(text);
    if (parsed.size >= 10_000) parsed.clear();
    parsed.set(text, t);
  }
  return t;
}

function parseTimeText(text: string): TimeInput {
  const m = ISO.exec(text.trim());
  const bad = (): never => {
    throw new BitmapError(
      'BAD_DATETIME',
      `${JSON.stringify(text)} is not an ISO-8601 date or date-time (e.g. 2026-11-22, 2026-11-22T09:05:00Z)`,
    );
  };
  if (!m) return bad();
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const civil: Civil = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
    ms: frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0,
  };
  const back = civilFromDays(daysFromCivil(civil.year, civil.month, civil.day));
  if (
    civil.month < 1 ||
    civil.month > 12 ||
    back.day !== civil.day ||
    back.month !== civil.month ||
    civil.hour > 23 ||
    civil.minute > 59 ||
    civil.second > 59
  ) {
    return bad();
  }
  if (!zone) return Object.freeze({ local: Object.freeze(civil) });
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || 0);
    // RFC 3339's bounds: no zone is a day or more away from UTC.
    if (hours > 23 || minutes > 59) {
      throw new BitmapError('BAD_DATETIME', `${JSON.stringify(text)} has the UTC offset ${zone}: an offset is -23:59 to +23:59 (e.g. +01:00, -05:30)`);
    }
    offsetMin = sign * (hours * 60 + minutes);
  }
  return Object.freeze({ utcMs: civilToUtcMs(civil) - offsetMin * 60_000 });
}

/** Labels coarser than a day, as periodLabel prints them (days, hours and minutes print as ISO dates already). */
const LABEL = /^([+-]\d{6}|\d{4})(?:-(\d{2})|-W(\d{2}))?$/i;

/**
 * A DateTime as the API takes it: an ISO-8601 date or date-time, or a period's label (2026,
 * 2026-11, 2026-W47), so a label from an answer can be asked about again. A label stands for
 * the first instant of its period, as a date stands for its midnight. Imports take only
 * dates and date-times (parseTimeInput): a line stamped "2026" is more likely broken than meant.
 */
export function parseDateTime(text: string): TimeInput {
  const m = LABEL.exec(text.trim());
  if (!m) {
    if (!ISO.test(text.trim())) {
      throw new BitmapError(
        'BAD_DATETIME',
        `${JSON.stringify(text)} is neither an ISO-8601 date or date-time (e.g. 2026-11-22, 2026-11-22T09:05:00Z) nor a period label (2026, 2026-11, 2026-W47, 2026-11-22, 2026-11-22T09, 2026-11-22T09:05)`,
      );
    }
    return parseTimeInput(text);
  }
  const [, y, mo, w] = m;
  const year = Number(y);
  let p: Period;
  if (w !== undefined) {
    p = { granularity: 'WEEK', index: weekIndexOfIso(year, Number(w)) };
    const back = isoWeek(p.index);
    if (back.year !== year || back.week !== Number(w)) {
      throw new BitmapError('BAD_DATETIME', `${JSON.stringify(text)} names no ISO week: the ISO year ${yearText(year)} has weeks W01 to W${isoWeek(weekIndexOfIso(year + 1, 1) - 1).week}`);
    }
  } else if (mo !== undefined) {
    if (Number(mo) < 1 || Number(mo) > 12) throw new BitmapError('BAD_DATETIME', `${JSON.stringify(text)} names no month: months are 01 to 12`);
    p = { granularity: 'MONTH', index: year * 12 + Number(mo) - 1 };
  } else {
    p = { granularity: 'YEAR', index: year };
  }
  const [first, last] = PERIOD_BOUNDS[p.granularity];
  if (p.index < first.index || p.index > last.index) {
    throw new BitmapError(
      'BAD_DATETIME',
      `${JSON.stringify(text)} is outside the ${p.granularity} periods of the years 0000 to 9999 (${periodLabel(first)} to ${periodLabel(last)})`,
    );
  }
  // The week of 0000-01-01 starts in the year -1, where no date is: it stands for 0000-01-01.
  const start = p.index === first.index ? { ...FIRST_HOUR, minute: 0, second: 0, ms: 0 } : periodStartCivil(p);
  return Object.freeze({ local: Object.freeze(start) });
}

const DAY_MS = 86_400_000;
const FIRST_MS = daysFromCivil(0, 1, 1) * DAY_MS;
const END_MS = daysFromCivil(10000, 1, 1) * DAY_MS;

/**
 * The instant of a DateTime. One with an offset may fall in year -1 or 10000 on the zone's wall
 * clock (0000-01-01T00:00+05:00 in UTC), where no period is: refused like an impossible date.
 */
export function resolveTime(t: TimeInput, tz: TimeZone): number {
  if (!('utcMs' in t)) return tz.instant(t.local);
  const ms = t.utcMs;
  // Zones and offsets stay within a day of UTC, so only instants near the edges need the zone's year.
  if (ms < FIRST_MS + DAY_MS || ms >= END_MS - DAY_MS) {
    const { year } = tz.civil(ms);
    if (year < 0 || year > 9999) {
      throw new BitmapError(
        'BAD_DATETIME',
        `${formatInstant(ms, new TimeZone('UTC'))} is in the year ${yearText(year)} in the gateway time zone (${tz.name}): dates run from 0000-01-01 to 9999-12-31 there`,
      );
    }
  }
  return ms;
}

/** ISO-8601 with the zone's offset at that instant (Z for UTC). */
export function formatInstant(ms: number, tz: TimeZone): string {
  const offset = tz.offsetAt(ms);
  const c = new TimeZone('UTC').civil(ms + offset);
  const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');
  const base = `${yearText(c.year)}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}:${pad(c.second)}`;
  const frac = c.ms ? `.${pad(c.ms, 3)}` : '';
  if (offset === 0) return `${base}${frac}Z`;
  const om = Math.round(Math.abs(offset) / 60_000);
  return `${base}${frac}${offset < 0 ? '-' : '+'}${pad(Math.floor(om / 60))}:${pad(om % 60)}`;
}
