// Period labels as dates: every label the API prints reads back as a date in its own period.

import { describe, expect, it } from 'vitest';
import { BitmapError } from '../../src/bitmap/errors.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { GRANULARITIES, TimeZone, parseDateTime, periodAt, periodEnd, periodLabel, periodStart, resolveTime, shiftPeriod } from '../../src/bitmap/period.ts';
import type { Granularity, Period } from '../../src/bitmap/period.ts';

const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'America/Havana', 'Pacific/Kiritimati'].map((z) => new TimeZone(z));

/** The period a DateTime text stands for, at granularity g, in zone tz. */
const periodOf = (g: Granularity, text: string, tz: TimeZone): Period => periodAt(g, resolveTime(parseDateTime(text), tz), tz);

/** `n` consecutive periods of g, starting with the one holding the UTC instant `iso`. */
function around(g: Granularity, iso: string, n: number): Period[] {
  const first = periodAt(g, Date.parse(iso), new TimeZone('UTC'));
  return Array.from({ length: n }, (_, i) => shiftPeriod(first, i));
}

/** Stretches across year ends, ISO week-years (2020 has 53 weeks, 2024-12-30 is in 2025-W01), leap days and DST changes, and the years' edges. */
const STRETCHES: Record<Granularity, Period[]> = {
  // Labels are read in each zone: 2026-03-08T02:00 and 02:01 are in New York's gap, 2026-03-08T00:00 in Havana's, 2026-03-29T02:00 in Berlin's.
  MINUTE: [...around('MINUTE', '2026-03-07T23:59Z', 2), ...around('MINUTE', '2026-03-08T01:58Z', 4), ...around('MINUTE', '2026-03-29T01:59Z', 2), ...around('MINUTE', '2026-11-01T01:58Z', 4), ...around('MINUTE', '2026-12-31T23:58Z', 4), ...around('MINUTE', '0000-01-01T00:00Z', 3), ...around('MINUTE', '9999-12-31T23:57Z', 3)],
  HOUR: [...around('HOUR', '2026-03-07T20:00Z', 60), ...around('HOUR', '2026-10-31T20:00Z', 36), ...around('HOUR', '2026-12-31T20:00Z', 8), ...around('HOUR', '0000-01-01T00:00Z', 3), ...around('HOUR', '9999-12-31T21:00Z', 3)],
  DAY: [...around('DAY', '2026-03-06', 4), ...around('DAY', '2026-10-31', 3), ...around('DAY', '2020-12-25', 14), ...around('DAY', '2024-02-27', 4), ...around('DAY', '2024-12-27', 10), ...around('DAY', '0000-01-01', 3), ...around('DAY', '9999-12-29', 3)],
  WEEK: [...around('WEEK', '2019-12-01', 60), ...around('WEEK', '2020-11-30', 10), ...around('WEEK', '2024-11-25', 10), ...around('WEEK', '2026-11-23', 8), ...around('WEEK', '0000-01-01', 3), ...around('WEEK', '9999-12-13', 3)],
  MONTH: [...around('MONTH', '2025-10-01', 6), ...around('MONTH', '0000-01-01', 2), ...around('MONTH', '9999-11-01', 2)],
  YEAR: [...around('YEAR', '2019-01-01', 10), ...around('YEAR', '0000-01-01', 2), ...around('YEAR', '9998-01-01', 2)],
};

describe('a period label is a date', () => {
  it.each(GRANULARITIES)('label → period → label round-trips for every %s of the stretches, in every zone', (g) => {
    for (const tz of ZONES) {
      let skipped = 0;
      for (const p of STRETCHES[g]) {
        // An hour or minute a DST change skips holds no instant, so no date can stand for it (its start is the first instant after it).
        if (periodEnd(p, tz) === periodStart(p, tz) || periodAt(g, periodStart(p, tz), tz).index !== p.index) {
          skipped++;
          continue;
        }
        const label = periodLabel(p);
        expect(periodOf(g, label, tz), `${label} in ${tz.name}`).toEqual(p);
      }
      const gaps: Partial<Record<Granularity, Record<string, number>>> = {
        HOUR: { 'America/New_York': 1, 'America/Havana': 1 },
        MINUTE: { 'America/New_York': 2, 'America/Havana': 1, 'Europe/Berlin': 1 },
      };
      expect(skipped, tz.name).toBe(gaps[g]?.[tz.name] ?? 0);
    }
  });

  it('names the ISO week of its ISO week-year, across year ends (checked against the bitmapist keys)', () => {
    const utc = new TimeZone('UTC');
    const week = (text: string): string => bitmapistLayout().eventKeys('a', periodOf('WEEK', text, utc))[0]!;
    // 2024-12-30 belongs to 2025-W01; 2021-01-01 to 2020-W53; 2026 has 53 weeks.
    expect(week('2025-W01')).toBe('trackist_a_W2025-1');
    expect(periodStart(periodOf('WEEK', '2025-W01', utc), utc)).toBe(Date.parse('2024-12-30T00:00:00Z'));
    expect(periodStart(periodOf('WEEK', '2020-W53', utc), utc)).toBe(Date.parse('2020-12-28T00:00:00Z'));
    expect(periodOf('WEEK', '2020-W53', utc)).toEqual(periodOf('WEEK', '2021-01-01', utc));
    expect(periodStart(periodOf('WEEK', '2026-W53', utc), utc)).toBe(Date.parse('2026-12-28T00:00:00Z'));
    expect(periodStart(periodOf('WEEK', '2027-W01', utc), utc)).toBe(Date.parse('2027-01-04T00:00:00Z'));
    expect(periodStart(periodOf('WEEK', '2026-w47', utc), utc)).toBe(Date.parse('2026-11-16T00:00:00Z'));
  });

  it('stands for the first instant of its period, at any granularity', () => {
    const ny = new TimeZone('America/New_York');
    const first = (text: string, tz: TimeZone): number => resolveTime(parseDateTime(text), tz);
    expect(first('2026', ny)).toBe(Date.parse('2026-01-01T00:00:00-05:00'));
    expect(first('2026-11', ny)).toBe(Date.parse('2026-11-01T00:00:00-04:00')); // before the change back on the 1st at 02:00
    expect(first('2026-W47', ny)).toBe(Date.parse('2026-11-16T00:00:00-05:00'));
    expect(periodLabel(periodOf('DAY', '2025-W01', ny))).toBe('2024-12-30');
    expect(periodLabel(periodOf('MONTH', '2025-W01', ny))).toBe('2024-12');
    expect(periodLabel(periodOf('HOUR', '2026-11', ny))).toBe('2026-11-01T00');
    expect(periodLabel(periodOf('MINUTE', '2026-11', ny))).toBe('2026-11-01T00:00');
    expect(first('2026-11-30T13:05', ny)).toBe(Date.parse('2026-11-30T13:05:00-05:00'));
    expect(periodLabel(periodOf('MINUTE', '2026-11-30T13:05', ny))).toBe('2026-11-30T13:05');
    expect(periodLabel(periodOf('HOUR', '2026-11-30T13:05', ny))).toBe('2026-11-30T13');
    // The week of 0000-01-01 starts in the year -1, where no date is: it stands for 0000-01-01.
    expect(periodLabel(periodOf('DAY', '-000001-W52', new TimeZone('UTC')))).toBe('0000-01-01');
  });

  it('DST changes: a date whose midnight a change skips is still its own day, and hours around a change have their true bounds', () => {
    // Havana moves its clocks from 00:00 to 01:00 on 2026-03-08: that day starts at 01:00 (05:00Z).
    const havana = new TimeZone('America/Havana');
    expect(periodLabel(periodOf('DAY', '2026-03-08', havana))).toBe('2026-03-08');
    expect(resolveTime(parseDateTime('2026-03-08'), havana)).toBe(Date.parse('2026-03-08T05:00:00Z'));
    // New York skips 02:00-03:00 on 2026-03-08 and repeats 01:00-02:00 on 2026-11-01.
    const ny = new TimeZone('America/New_York');
    const bounds = (label: string): [string, string] => {
      const p = periodOf('HOUR', label, ny);
      return [new Date(periodStart(p, ny)).toISOString(), new Date(periodEnd(p, ny)).toISOString()];
    };
    expect(bounds('2026-03-08T01')).toEqual(['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z']);
    expect(bounds('2026-03-08T03')).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']);
    expect(resolveTime(parseDateTime('2026-03-08T02:30'), ny)).toBe(Date.parse('2026-03-08T07:30:00Z')); // 03:30 EDT
    expect(bounds('2026-11-01T01')).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z']); // both 01:00s
    expect(bounds('2026-11-01T02')).toEqual(['2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z']);
  });

  it.each([
    ['2026-W54', /ISO year 2026 has weeks W01 to W53/],
    ['2025-W53', /ISO year 2025 has weeks W01 to W52/],
    ['2026-W00', /names no ISO week/],
    ['2026-13', /names no month/],
    ['2026-00', /names no month/],
    ['-000001', /outside the YEAR periods/],
    ['+010000-01', /outside the MONTH periods/],
    ['-000002-W52', /outside the WEEK periods/],
    ['2026-1', /neither an ISO-8601 date or date-time .* nor a period label/],
    ['2026-W5', /nor a period label/],
    ['202', /nor a period label/],
    ['10000', /nor a period label/],
    ['2026-11-22T9', /nor a period label/],
    ['2026-11-22T24', /is not an ISO-8601 date/],
    ['2026-11-22T09:60', /is not an ISO-8601 date/],
    ['2026-11-22T09:5', /nor a period label/],
    ['2026-02-29', /is not an ISO-8601 date/],
    ['W47', /nor a period label/],
    ['', /nor a period label/],
  ])('refuses %s with BAD_DATETIME', (text, message) => {
    let error: unknown;
    try {
      parseDateTime(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BitmapError);
    expect((error as BitmapError).code).toBe('BAD_DATETIME');
    expect((error as BitmapError).message).toMatch(message);
  });
});
