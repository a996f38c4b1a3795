// The storage periods covering another zone's period (src/bitmap/zones.ts): exactly the storage
// hours its instants fall in, each once, against Intl's wall clock and plain date arithmetic.

import { describe, expect, it } from 'vitest';
import { TimeZone, periodAt, periodEnd, periodStart } from '../../src/bitmap/period.ts';
import type { Granularity, Period } from '../../src/bitmap/period.ts';
import { coverPeriods, zonedRunCost, zonedRunKeys } from '../../src/bitmap/zones.ts';
import type { BitmapError } from '../../src/bitmap/errors.ts';
import { rng } from '../helpers.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Storage wall-clock hour of an instant, as hours since 1970-01-01T00 on that clock (Intl and Date.UTC only). */
const formats = new Map<string, Intl.DateTimeFormat>();
function storageHour(ms: number, zone: string): number {
  let format = formats.get(zone);
  if (!format) formats.set(zone, (format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric' })));
  const parts = format.formatToParts(ms);
  const f = Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
  return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!) / HOUR;
}

/** The storage hours a storage period holds, by plain date arithmetic. */
function hoursOf(p: Period): number[] {
  const days = (first: number, n: number): number[] => Array.from({ length: n * 24 }, (_, i) => first * 24 + i);
  switch (p.granularity) {
    case 'HOUR':
      return [p.index];
    case 'DAY':
      return days(p.index, 1);
    case 'WEEK':
      return days(p.index * 7 - 3, 7); // week 0 starts Monday 1969-12-29
    case 'MONTH': {
      const first = Date.UTC(Math.floor(p.index / 12), p.index % 12, 1) / DAY;
      const next = Date.UTC(Math.floor((p.index + 1) / 12), (p.index + 1) % 12, 1) / DAY;
      return days(first, next - first);
    }
    default:
      throw new Error(`no storage key for ${p.granularity}`);
  }
}

const CASES: Array<[storage: string, zone: string]> = [
  ['UTC', 'America/New_York'],
  ['UTC', 'Europe/London'],
  ['UTC', 'Asia/Tokyo'],
  ['UTC', 'Pacific/Kiritimati'],
  ['UTC', 'Pacific/Pago_Pago'],
  ['Europe/Amsterdam', 'America/New_York'],
  ['America/New_York', 'UTC'],
  ['Asia/Kolkata', 'Asia/Colombo'], // both 5:30 from UTC, none from each other
  ['UTC', 'Asia/Kolkata'], // every period cut inside a UTC hour: all refused
  ['UTC', 'Australia/Lord_Howe'], // +11 in its summer, +10:30 in its winter
];

describe('covering a request-zone period with storage keys', () => {
  for (const [storageName, zoneName] of CASES) {
    it(`${zoneName} periods from ${storageName} keys: each storage hour of its instants once, and nothing else`, () => {
      const storage = new TimeZone(storageName);
      const zone = new TimeZone(zoneName);
      const r = rng(storageName.length * 31 + zoneName.length);
      let covered = 0;
      for (let i = 0; i < 80; i++) {
        const g = (['HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR'] as Granularity[])[Math.floor(r() * 5)]!;
        const n = g === 'YEAR' ? 1 : 1 + Math.floor(r() * 3);
        // Around the 2026 DST changes of both hemispheres, and plain days between.
        const at = Date.parse('2026-01-01T00:00:00Z') + Math.floor(r() * 365 * DAY);
        const first = periodAt(g, at, zone);
        const last = { granularity: g, index: first.index + n - 1 };
        const start = periodStart(first, zone);
        const end = periodEnd(last, zone);
        let cover;
        try {
          cover = coverPeriods(start, end, storage, zone);
        } catch (e) {
          // Only a cut inside a storage hour is refused: check that one end really is inside one.
          expect((e as BitmapError).code).toBe('TIME_ZONE_UNALIGNED');
          const inside = (ms: number): boolean => storageHour(ms - 1, storageName) === storageHour(ms, storageName);
          expect(inside(start) || inside(end)).toBe(true);
          continue;
        }
        covered++;
        const expected = new Set<number>();
        // start is on a storage hour boundary, and storage offsets change by whole hours: an hourly step meets every storage hour.
        for (let t = start; t < end; t += HOUR) expected.add(storageHour(t, storageName));
        const got = cover.periods.flatMap(hoursOf);
        expect(got.length, `${g}×${n} at ${new Date(at).toISOString()}`).toBe(new Set(got).size); // each hour once
        // Hours a DST gap skips have no marks: the cover may name them; every other hour is exactly the expected ones.
        const real = new Set(got.filter((h) => expected.has(h)));
        expect(real).toEqual(expected);
        for (const h of got) if (!expected.has(h)) expect(storageName).not.toBe('UTC');
        // Cost from the shape is never below what is read.
        expect(cover.periods.length).toBeLessThanOrEqual(zonedRunKeys(g, n));
        expect(cover.periods.length + 25 * cover.hourDays.length).toBeLessThanOrEqual(zonedRunCost(g, n));
        expect(cover.hourDays.length).toBeLessThanOrEqual(2);
      }
      // Whole hours apart, nearly every period answers (a DST storage zone refuses a few cut in its repeated hour); 5:30 apart, none.
      if (zoneName === 'Asia/Kolkata') expect(covered).toBe(0);
      else if (zoneName === 'Australia/Lord_Howe') expect(covered).toBeGreaterThan(10);
      else expect(covered).toBeGreaterThan(70);
    });
  }

  it('a New York month is 4 week keys, 2 day keys and 23 hour keys, not 743 hours', () => {
    const ny = new TimeZone('America/New_York');
    const march = periodAt('MONTH', Date.parse('2026-03-15T12:00:00Z'), ny);
    const { periods, hourDays } = coverPeriods(periodStart(march, ny), periodEnd(march, ny), new TimeZone('UTC'), ny);
    const count = (g: Granularity): number => periods.filter((p) => p.granularity === g).length;
    expect([count('MONTH'), count('WEEK'), count('DAY'), count('HOUR')]).toEqual([0, 4, 2, 23]);
    expect(hourDays).toHaveLength(2);
  });
});
