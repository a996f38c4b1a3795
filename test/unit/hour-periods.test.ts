// The periods and keys of a wall-clock hour (periodOfHour, markKeysAtHour, counterKeysAtHour),
// which the importer uses, against Date's own calendar and an ISO week worked out by hand.

import { describe, expect, it } from 'vitest';
import { counterIncrements, counterKeysAtHour } from '../../src/bitmap/counters.ts';
import { markKeys, markKeysAtHour } from '../../src/bitmap/events.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { GRANULARITIES, TimeZone, periodAt, periodLabel, periodOfHour, periodOfMinute } from '../../src/bitmap/period.ts';
import { rng } from '../rng.ts';

const HOUR = 3_600_000;
const layout = bitmapistLayout();

/** ISO week-year and week of a UTC date, by the Thursday rule, with nothing from src/bitmap. */
function isoWeekOf(d: Date): string {
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)));
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - jan1) / (7 * 86_400_000)) + 1;
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

describe('periodOfHour', () => {
  it('gives the day, ISO week, month and year that Date gives for the hour', () => {
    const random = rng(42);
    // Before 1970 too (negative hours), and the years whose ISO week-year differs from the calendar's.
    const hours = [-1, 0, -24 * 3 - 1, 454_000, ...Array.from({ length: 2000 }, () => Math.floor((random() - 0.3) * 600_000))];
    for (const y of [2020, 2021, 2024, 2025, 2026, 2027]) for (const h of [-30, -1, 0, 1, 80]) hours.push(Date.UTC(y, 0, 1) / HOUR + h);
    for (const h of hours) {
      const d = new Date(h * HOUR);
      const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
      expect(periodLabel(periodOfHour('HOUR', h)), `hour ${h}`).toBe(`${day}T${pad(d.getUTCHours())}`);
      expect(periodLabel(periodOfHour('DAY', h)), `hour ${h}`).toBe(day);
      expect(periodLabel(periodOfHour('WEEK', h)), `hour ${h}`).toBe(isoWeekOf(d));
      expect(periodLabel(periodOfHour('MONTH', h)), `hour ${h}`).toBe(day.slice(0, 7));
      expect(periodLabel(periodOfHour('YEAR', h)), `hour ${h}`).toBe(day.slice(0, 4));
    }
  });

  it('agrees with periodAt in zones with half-hour offsets and DST', () => {
    const random = rng(7);
    for (const zone of ['Europe/Berlin', 'America/St_Johns', 'Australia/Lord_Howe', 'Pacific/Chatham']) {
      const tz = new TimeZone(zone);
      for (let k = 0; k < 300; k++) {
        const ms = Date.UTC(2019, 0, 1) + Math.floor(random() * 8 * 365 * 86_400_000);
        const hour = periodAt('HOUR', ms, tz).index;
        const minute = periodAt('MINUTE', ms, tz).index;
        expect(Math.floor(minute / 60)).toBe(hour);
        for (const g of GRANULARITIES) {
          if (g !== 'MINUTE') expect(periodOfHour(g, hour), `${zone} ${new Date(ms).toISOString()} ${g}`).toEqual(periodAt(g, ms, tz));
          expect(periodOfMinute(g, minute), `${zone} ${new Date(ms).toISOString()} ${g}`).toEqual(periodAt(g, ms, tz));
        }
      }
    }
  });
});

describe('the keys of a mark and of a counter hit in an hour', () => {
  const h = Math.floor(Date.parse('2027-01-03T23:10:00Z') / HOUR); // a Sunday: ISO week 2026-53, month 2027-1

  it('names bitmapist keys: month, ISO week, day, then hour and unique', () => {
    expect(markKeysAtHour(layout, h, { name: 'x', hourly: false, unique: false })).toEqual([
      'trackist_x_2027-1',
      'trackist_x_W2026-53',
      'trackist_x_2027-1-3',
    ]);
    expect(markKeysAtHour(layout, h, { name: 'x', hourly: true, unique: true })).toEqual([
      'trackist_x_2027-1',
      'trackist_x_W2026-53',
      'trackist_x_2027-1-3',
      'trackist_x_2027-1-3-23',
      'trackist_x_u',
    ]);
    expect(counterKeysAtHour(layout, 'c', h)).toEqual([
      'trackist:counter:c:2027-1-3-23',
      'trackist:counter:c:2027-1-3',
      'trackist:counter:c:W2026-53',
      'trackist:counter:c:2027-1',
    ]);
  });

  it('are the keys markKeys and counterIncrements give for an instant in that hour', () => {
    const tz = new TimeZone('Asia/Kolkata');
    const ms = Date.parse('2026-12-31T19:00:00Z'); // 00:30 on 2027-01-01 in Kolkata
    const local = periodAt('HOUR', ms, tz).index;
    expect(periodLabel({ granularity: 'HOUR', index: local })).toBe('2027-01-01T00');
    const mark = { name: 'm', userId: 1, at: ms, hourly: true, unique: true };
    expect(markKeys(layout, tz, mark)).toEqual(markKeysAtHour(layout, local, mark));
    expect(markKeys(layout, tz, mark)[0]).toBe('trackist_m_2027-1');
    expect(counterIncrements(layout, tz, [{ name: 'c', key: 'k', by: 2, at: ms }]).map((i) => i.key)).toEqual(
      counterKeysAtHour(layout, 'c', local),
    );
  });
});
