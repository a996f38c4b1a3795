// Periods and bitmapist key names, checked against the layout table (no server needed).

import { describe, expect, it } from 'vitest';
import { bitmapistLayout, periodSuffix } from '../../src/bitmap/keys.ts';
import {
  TimeZone,
  formatInstant,
  parseTimeInput,
  periodAt,
  periodEnd,
  periodLabel,
  periodStart,
  resolveTime,
  shiftPeriod,
} from '../../src/bitmap/period.ts';
import type { Granularity } from '../../src/bitmap/period.ts';
import { markKeys } from '../../src/bitmap/events.ts';

const UTC = new TimeZone('UTC');
const at = (iso: string): number => Date.parse(iso);
const key = (g: Granularity, iso: string, tz = UTC): string[] =>
  bitmapistLayout().eventKeys('active', periodAt(g, at(iso), tz));

describe('bitmapist key layout', () => {
  it('names month, ISO week, day and hour keys without zero padding', () => {
    expect(key('MONTH', '2026-11-22T09:05:00Z')).toEqual(['trackist_active_2026-11']);
    expect(key('WEEK', '2026-11-22T09:05:00Z')).toEqual(['trackist_active_W2026-47']);
    expect(key('DAY', '2026-11-22T09:05:00Z')).toEqual(['trackist_active_2026-11-22']);
    expect(key('HOUR', '2026-11-22T09:05:00Z')).toEqual(['trackist_active_2026-11-22-9']);
    expect(key('DAY', '2026-01-05T00:00:00Z')).toEqual(['trackist_active_2026-1-5']);
    expect(key('HOUR', '2026-01-05T00:59:59Z')).toEqual(['trackist_active_2026-1-5-0']);
    expect(bitmapistLayout().uniqueKey('active')).toBe('trackist_active_u');
  });

  it('uses the ISO week-year at year boundaries', () => {
    expect(key('WEEK', '2024-12-30T12:00:00Z')).toEqual(['trackist_active_W2025-1']);
    expect(key('WEEK', '2021-01-01T12:00:00Z')).toEqual(['trackist_active_W2020-53']);
    expect(key('WEEK', '2021-01-04T00:00:00Z')).toEqual(['trackist_active_W2021-1']);
    expect(key('WEEK', '2027-01-03T23:59:59Z')).toEqual(['trackist_active_W2026-53']);
  });

  it('spreads a YEAR over its 12 month keys', () => {
    expect(key('YEAR', '2026-05-01T00:00:00Z')).toEqual(Array.from({ length: 12 }, (_, i) => `trackist_active_2026-${i + 1}`));
  });

  it('takes a configurable prefix (bitmapist4 uses bitmapist_)', () => {
    const layout = bitmapistLayout('bitmapist_');
    expect(layout.eventKeys('x', periodAt('DAY', at('2026-11-22T00:00:00Z'), UTC))).toEqual(['bitmapist_x_2026-11-22']);
    expect(layout.tempPrefix).toBe('bitmapist_bitop_');
  });

  it('writes month, week, day (+hour, +unique) for a mark, as bitmapist mark_event does', () => {
    const layout = bitmapistLayout();
    const m = { name: 'played', userId: 1, at: at('2026-11-22T09:05:00Z') };
    expect(markKeys(layout, UTC, { ...m, hourly: false, unique: false })).toEqual([
      'trackist_played_2026-11',
      'trackist_played_W2026-47',
      'trackist_played_2026-11-22',
    ]);
    expect(markKeys(layout, UTC, { ...m, hourly: true, unique: true }).slice(3)).toEqual([
      'trackist_played_2026-11-22-9',
      'trackist_played_u',
    ]);
  });

  it('parses its own keys back, and refuses temporary and foreign keys', () => {
    const layout = bitmapistLayout();
    for (const g of ['HOUR', 'DAY', 'WEEK', 'MONTH'] as const) {
      for (const iso of ['2024-12-30T00:00:00Z', '2021-01-01T23:00:00Z', '2026-11-22T09:05:00Z']) {
        const p = periodAt(g, at(iso), UTC);
        expect(layout.parse(layout.eventKeys('my_event', p)[0]!)).toEqual({ name: 'my_event', period: p });
      }
    }
    expect(layout.parse('trackist_a_b_u')).toEqual({ name: 'a_b', unique: true });
    expect(layout.parse('trackist_bitop_abc_1')).toBeNull();
    expect(layout.parse('trackist_x_2026-13')).toBeNull();
    expect(layout.parse('trackist_x_2026-2-31')).toBeNull();
    expect(layout.parse('other_x_2026-11')).toBeNull();
  });
});

describe('periods', () => {
  it('has inclusive starts and exclusive ends, and shifts by whole periods', () => {
    const w = periodAt('WEEK', at('2026-11-22T09:05:00Z'), UTC);
    expect(formatInstant(periodStart(w, UTC), UTC)).toBe('2026-11-16T00:00:00Z');
    expect(formatInstant(periodEnd(w, UTC), UTC)).toBe('2026-11-23T00:00:00Z');
    expect(periodLabel(shiftPeriod(w, 7))).toBe('2027-W01');
    const m = periodAt('MONTH', at('2026-01-31T00:00:00Z'), UTC);
    expect(periodLabel(shiftPeriod(m, -1))).toBe('2025-12');
    expect(periodLabel(shiftPeriod(m, 13))).toBe('2027-02');
    const h = periodAt('HOUR', at('2026-03-01T00:30:00Z'), UTC);
    expect(periodSuffix(shiftPeriod(h, -1))).toBe('2026-2-28-23');
  });

  it('agrees with Date for every day over several years', () => {
    for (let ms = at('2019-12-25T12:00:00Z'); ms < at('2028-01-10T00:00:00Z'); ms += 86_400_000) {
      const d = new Date(ms);
      const p = periodAt('DAY', ms, UTC);
      expect(periodSuffix(p)).toBe(`${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`);
      expect(periodStart(p, UTC)).toBe(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      // ISO week: the Thursday of the week decides the week-year.
      const thursday = new Date(ms + (3 - ((d.getUTCDay() + 6) % 7)) * 86_400_000);
      const weekYear = thursday.getUTCFullYear();
      const week = Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / (7 * 86_400_000)) + 1;
      expect(periodSuffix(periodAt('WEEK', ms, UTC))).toBe(`W${weekYear}-${week}`);
    }
  });

  it('uses the configured time zone for keys, starts and ends (DST included)', () => {
    const berlin = new TimeZone('Europe/Berlin');
    // 23:30 UTC on Nov 21 is already Nov 22 in Berlin.
    expect(key('DAY', '2026-11-21T23:30:00Z', berlin)).toEqual(['trackist_active_2026-11-22']);
    const day = periodAt('DAY', at('2026-03-29T12:00:00Z'), berlin); // spring forward: 23 hours
    expect(formatInstant(periodStart(day, berlin), berlin)).toBe('2026-03-29T00:00:00+01:00');
    expect(formatInstant(periodEnd(day, berlin), berlin)).toBe('2026-03-30T00:00:00+02:00');
    expect(periodEnd(day, berlin) - periodStart(day, berlin)).toBe(23 * 3600_000);
    expect(resolveTime(parseTimeInput('2026-07-01T10:00'), berlin)).toBe(at('2026-07-01T08:00:00Z'));
  });

  it('parses ISO-8601 dates and instants, and refuses the rest', () => {
    expect(parseTimeInput('2026-11-22T09:05:00.250+01:30')).toEqual({ utcMs: at('2026-11-22T07:35:00.250Z') });
    expect(parseTimeInput('2026-11-22')).toEqual({ local: { year: 2026, month: 11, day: 22, hour: 0, minute: 0, second: 0, ms: 0 } });
    for (const bad of ['2026-02-30', '2026-13-01', 'yesterday', '2026-11-22T25:00', '']) {
      expect(() => parseTimeInput(bad)).toThrow(expect.objectContaining({ code: 'BAD_DATETIME' }));
    }
  });
});

describe('the edges of the calendar (years 0000 to 9999)', () => {
  const DAY_MS = 86_400_000;
  /** Independent of period.ts: Date knows the proleptic Gregorian calendar and expanded years. */
  const dayIndex = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

  it('prints the sign of negative years: the week holding 0000-01-01 starts on -000001-12-27', () => {
    const w = periodAt('WEEK', at('0000-01-01T00:00:00Z'), UTC);
    // 0000-01-01 was a Saturday; its week's Thursday is in year -1.
    expect(new Date(periodStart(w, UTC)).toISOString()).toBe('-000001-12-27T00:00:00.000Z');
    expect(formatInstant(periodStart(w, UTC), UTC)).toBe('-000001-12-27T00:00:00Z');
    expect(Date.parse(formatInstant(periodStart(w, UTC), UTC))).toBe(periodStart(w, UTC)); // JS clients read it back
    expect(formatInstant(periodEnd(w, UTC), UTC)).toBe('0000-01-03T00:00:00Z');
    expect(periodLabel(w)).toBe('-000001-W52');
    expect(periodSuffix(w)).toBe('W-1-52');
    // Its key is read back like any other.
    const layout = bitmapistLayout();
    expect(layout.parse(layout.eventKeys('x', w)[0]!)).toEqual({ name: 'x', period: w });
    // Years 0 to 999 keep four digits; years past 9999 get a sign too.
    expect(periodLabel(periodAt('DAY', at('0042-03-04T00:00:00Z'), UTC))).toBe('0042-03-04');
    const y9999 = periodAt('YEAR', at('9999-06-01T00:00:00Z'), UTC);
    expect(formatInstant(periodEnd(y9999, UTC), UTC)).toBe('+010000-01-01T00:00:00Z');
    expect(Date.parse(formatInstant(periodEnd(y9999, UTC), UTC))).toBe(Date.UTC(10000, 0, 1));
  });

  it('reads year 0 and year -1 right in a named zone (Intl calls them 1 BC and 2 BC)', () => {
    const plus5 = new TimeZone('Etc/GMT-5'); // UTC+05:00 all year, ever
    expect(plus5.civil(at('0000-01-01T00:00:00Z'))).toMatchObject({ year: 0, month: 1, day: 1, hour: 5 });
    expect(plus5.civil(at('-000001-12-31T12:00:00Z'))).toMatchObject({ year: -1, month: 12, day: 31, hour: 17 });
    const w = periodAt('WEEK', resolveTime(parseTimeInput('0000-01-01'), plus5), plus5);
    expect(formatInstant(periodStart(w, plus5), plus5)).toBe('-000001-12-27T00:00:00+05:00');
    expect(periodStart(w, plus5)).toBe(Date.parse('-000001-12-26T19:00:00Z'));
  });

  it('refuses a shift past the periods of the years 0000 to 9999 with BAD_INPUT, not NaN', () => {
    const today = periodAt('DAY', at('2026-11-22T09:05:00Z'), UTC);
    const outOfRange = expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/out of range.*0000 to 9999/) });
    expect(() => shiftPeriod(today, 2_000_000_000)).toThrow(outOfRange);
    expect(() => shiftPeriod(today, -2_000_000_000)).toThrow(outOfRange);
    for (const g of ['HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR'] as const) {
      expect(() => shiftPeriod(periodAt(g, at('2026-11-22T09:05:00Z'), UTC), 2_000_000_000)).toThrow(outOfRange);
    }
    // The bounds exactly: the first and last periods are reachable, one more is not.
    const first = dayIndex('0000-01-01');
    const last = dayIndex('9999-12-31');
    expect(periodLabel(shiftPeriod(today, first - today.index))).toBe('0000-01-01');
    expect(periodLabel(shiftPeriod(today, last - today.index))).toBe('9999-12-31');
    expect(() => shiftPeriod(today, first - today.index - 1)).toThrow(outOfRange);
    expect(() => shiftPeriod(today, last - today.index + 1)).toThrow(outOfRange);
    const y = periodAt('YEAR', at('2026-11-22T09:05:00Z'), UTC);
    expect(periodLabel(shiftPeriod(y, 9999 - 2026))).toBe('9999');
    expect(() => shiftPeriod(y, 9999 - 2026 + 1)).toThrow(outOfRange);
    expect(() => shiftPeriod(y, -2027)).toThrow(outOfRange);
    // A week counts while it holds a day of those years: the one holding 0000-01-01 is in, the one before is not.
    const w0 = periodAt('WEEK', at('0000-01-01T00:00:00Z'), UTC);
    const thisWeek = periodAt('WEEK', at('2026-11-22T09:05:00Z'), UTC);
    expect(shiftPeriod(thisWeek, w0.index - thisWeek.index)).toEqual(w0);
    expect(() => shiftPeriod(w0, -1)).toThrow(outOfRange);
    // An end is not a shift: the last period still has one.
    expect(periodEnd(shiftPeriod(today, last - today.index), UTC)).toBe(Date.UTC(10000, 0, 1));
  });

  it('refuses UTC offsets beyond ±23:59, and instants outside the years 0000 to 9999 on the zone’s clock', () => {
    for (const bad of ['2026-11-22T10:00:00+99:99', '2026-11-22T10:00:00+24:00', '2026-11-22T10:00:00-23:60', '2026-11-22T10:00:00+0575']) {
      expect(() => parseTimeInput(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_DATETIME', message: expect.stringContaining('offset') }));
    }
    expect(parseTimeInput('2026-11-22T10:00:00+23:59')).toEqual({ utcMs: Date.parse('2026-11-22T10:00:00+23:59') });
    expect(parseTimeInput('2026-11-22T10:00:00-0530')).toEqual({ utcMs: Date.parse('2026-11-22T10:00:00-05:30') });
    expect(parseTimeInput('2026-11-22T10:00:00+05')).toEqual({ utcMs: Date.parse('2026-11-22T10:00:00+05:00') });
    // 0000-01-01T00:00+05:00 is still year -1 in UTC.
    expect(() => resolveTime(parseTimeInput('0000-01-01T00:00:00+05:00'), UTC)).toThrow(expect.objectContaining({ code: 'BAD_DATETIME' }));
    expect(resolveTime(parseTimeInput('0000-01-01T00:00:00+05:00'), new TimeZone('Etc/GMT-5'))).toBe(Date.parse('-000001-12-31T19:00:00Z'));
    expect(() => resolveTime(parseTimeInput('9999-12-31T23:00:00-05:00'), UTC)).toThrow(expect.objectContaining({ code: 'BAD_DATETIME' }));
    expect(resolveTime(parseTimeInput('9999-12-31T23:59:59.999Z'), UTC)).toBe(Date.UTC(10000, 0, 1) - 1);
  });
});
