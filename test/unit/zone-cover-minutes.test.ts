// Periods of zones that are not a whole number of hours from the storage zone (src/bitmap/zones.ts):
// with minute keys at ends inside a storage hour, the covering storage periods hold each storage
// minute of the period's instants once and nothing else, against Intl and plain date arithmetic.

import { describe, expect, it } from 'vitest';
import { TimeZone, periodAt, periodEnd, periodStart } from '../../src/bitmap/period.ts';
import type { Granularity, Period } from '../../src/bitmap/period.ts';
import { HOUR_CHECK_COST, MINUTE_CHECK_COST, coverPeriods, mayCutHours, zonedRunCost, zonedRunKeys } from '../../src/bitmap/zones.ts';
import type { BitmapError } from '../../src/bitmap/errors.ts';
import { rng } from '../helpers.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Storage wall-clock minute of an instant, as minutes since 1970-01-01T00:00 on that clock (Intl and Date.UTC only). */
const formats = new Map<string, Intl.DateTimeFormat>();
function storageMinute(ms: number, zone: string): number {
  let format = formats.get(zone);
  if (!format) {
    formats.set(zone, (format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' })));
  }
  const f = Object.fromEntries(format.formatToParts(ms).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
  return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!) / MINUTE;
}

/** The storage minutes a storage period holds, by plain date arithmetic. */
function minutesOf(p: Period): number[] {
  const run = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);
  switch (p.granularity) {
    case 'MINUTE':
      return [p.index];
    case 'HOUR':
      return run(p.index * 60, 60);
    case 'DAY':
      return run(p.index * 1440, 1440);
    case 'WEEK':
      return run((p.index * 7 - 3) * 1440, 7 * 1440);
    case 'MONTH': {
      const first = Date.UTC(Math.floor(p.index / 12), p.index % 12, 1) / MINUTE;
      const next = Date.UTC(Math.floor((p.index + 1) / 12), (p.index + 1) % 12, 1) / MINUTE;
      return run(first, next - first);
    }
    default:
      throw new Error(`no storage key for ${p.granularity}`);
  }
}

const CASES: Array<[storage: string, zone: string]> = [
  ['UTC', 'Asia/Kolkata'],
  ['UTC', 'Australia/Lord_Howe'], // +11 in its summer, +10:30 in its winter
  ['UTC', 'Pacific/Chatham'], // +13:45 / +12:45
  ['UTC', 'America/St_Johns'], // -3:30 / -2:30, with DST
  ['Europe/Amsterdam', 'Asia/Kolkata'], // across Amsterdam's repeated hour
  ['America/New_York', 'Asia/Kathmandu'], // +5:45
];

describe('covering a period of a zone not whole hours away, with minute keys at its ends', () => {
  for (const [storageName, zoneName] of CASES) {
    it(`${zoneName} periods from ${storageName} keys: each storage minute of its instants once, and nothing else`, () => {
      const storage = new TimeZone(storageName);
      const zone = new TimeZone(zoneName);
      const r = rng(storageName.length * 17 + zoneName.length);
      let covered = 0;
      let withMinutes = 0;
      for (let i = 0; i < 40; i++) {
        const g = (['HOUR', 'DAY', 'WEEK', 'MONTH'] as Granularity[])[Math.floor(r() * 4)]!;
        const n = g === 'MONTH' ? 1 : 1 + Math.floor(r() * 3);
        const at = Date.parse('2026-01-01T00:00:00Z') + Math.floor(r() * 365 * DAY);
        const first = periodAt(g, at, zone);
        const last = { granularity: g, index: first.index + n - 1 };
        const start = periodStart(first, zone);
        const end = periodEnd(last, zone);
        let cover;
        try {
          cover = coverPeriods(start, end, storage, zone, true);
        } catch (e) {
          // Only an end inside a storage hour that the storage zone repeats is refused.
          expect((e as BitmapError).code).toBe('TIME_ZONE_UNALIGNED');
          expect((e as BitmapError).details).toMatchObject({ reason: 'repeated-hour' });
          const repeats = (ms: number): boolean => [-1, 1].some((k) => storageMinute(ms + k * 3_600_000, storageName) === storageMinute(ms, storageName));
          expect(repeats(start) || repeats(end)).toBe(true);
          continue;
        }
        covered++;
        const expected = new Set<number>();
        for (let t = start; t < end; t += MINUTE) expected.add(storageMinute(t, storageName));
        const got = cover.periods.flatMap(minutesOf);
        const what = `${g}×${n} at ${new Date(at).toISOString()}`;
        expect(got.length, what).toBe(new Set(got).size); // each minute once
        // Minutes a DST gap skips have no marks: the cover may name them; every other minute is exactly the expected ones.
        expect(new Set(got.filter((m) => expected.has(m))), what).toEqual(expected);
        for (const m of got) if (!expected.has(m)) expect(storageName).not.toBe('UTC');
        // Minute keys only inside the hours checked for them, which are at most two.
        const minuteKeys = cover.periods.filter((p) => p.granularity === 'MINUTE');
        if (minuteKeys.length) withMinutes++;
        for (const p of minuteKeys) expect(cover.minuteHours).toContain(Math.floor(p.index / 60));
        expect(cover.minuteHours.length).toBeLessThanOrEqual(2);
        expect(cover.hourDays.length).toBeLessThanOrEqual(2);
        for (const h of cover.minuteHours) expect(cover.hourDays).toContain(Math.floor(h / 24));
        // The cost from the shape is never below what is read: keys and checks.
        expect(cover.periods.length).toBeLessThanOrEqual(zonedRunKeys(g, n) + 2 * 59);
        const read = cover.periods.length + HOUR_CHECK_COST * cover.hourDays.length + MINUTE_CHECK_COST * cover.minuteHours.length;
        expect(read, what).toBeLessThanOrEqual(zonedRunCost(g, n, true));
      }
      expect(covered).toBeGreaterThan(storageName === 'UTC' ? 39 : 30);
      expect(withMinutes).toBeGreaterThan(zoneName === 'Australia/Lord_Howe' ? 10 : 25);
      expect(mayCutHours(zone, storage)).toBe(true);
    });
  }

  it('whole-hour zones are never priced for minutes, and read no minute key', () => {
    for (const name of ['America/New_York', 'Europe/London', 'Asia/Tokyo', 'UTC']) expect(mayCutHours(new TimeZone(name), new TimeZone('UTC'))).toBe(false);
    const ny = new TimeZone('America/New_York');
    const day = periodAt('DAY', Date.parse('2026-03-08T12:00:00Z'), ny);
    const c = coverPeriods(periodStart(day, ny), periodEnd(day, ny), new TimeZone('UTC'), ny, true);
    expect(c.periods.every((p) => p.granularity === 'HOUR')).toBe(true);
    expect(c.minuteHours).toEqual([]);
  });

  it('a Kolkata day from UTC keys: 30 minute keys, 23 hour keys, 30 minute keys', () => {
    const k = new TimeZone('Asia/Kolkata');
    const day = periodAt('DAY', Date.parse('2026-03-10T12:00:00Z'), k);
    const { periods, minuteHours, hourDays } = coverPeriods(periodStart(day, k), periodEnd(day, k), new TimeZone('UTC'), k, true);
    const count = (g: Granularity): number => periods.filter((p) => p.granularity === g).length;
    expect([count('MINUTE'), count('HOUR'), count('DAY')]).toEqual([60, 23, 0]);
    // 2026-03-09T18 and 2026-03-10T18 as hours since 1970.
    expect(minuteHours).toEqual([Date.parse('2026-03-09T18:00:00Z') / 3_600_000, Date.parse('2026-03-10T18:00:00Z') / 3_600_000]);
    expect(hourDays).toEqual([Date.parse('2026-03-09T00:00:00Z') / DAY, Date.parse('2026-03-10T00:00:00Z') / DAY]);
    // Without minutes (counters), the same day is refused as before.
    expect(() => coverPeriods(periodStart(day, k), periodEnd(day, k), new TimeZone('UTC'), k)).toThrow(/whole number of hours/);
    // An offset of seconds (Kolkata's 1900 local time, +5:53:20) cannot be cut by minute keys either.
    const old = periodAt('DAY', Date.parse('1900-06-10T12:00:00Z'), k);
    try {
      coverPeriods(periodStart(old, k), periodEnd(old, k), new TimeZone('UTC'), k, true);
      expect.unreachable();
    } catch (e) {
      expect((e as BitmapError).code).toBe('TIME_ZONE_UNALIGNED');
      expect((e as BitmapError).details).toMatchObject({ reason: 'offset' });
    }
  });
});
