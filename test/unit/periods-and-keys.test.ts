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
