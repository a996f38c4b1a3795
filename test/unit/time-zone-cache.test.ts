// TimeZone keeps the wall-clock fields of instants it has turned: the kept ones must be exactly what Intl says, at every instant, also across an offset change and after the store fills up.

import { describe, expect, it } from 'vitest';
import { TimeZone } from '../../src/bitmap/period.ts';

/** The wall clock by Intl directly, with nothing kept. */
function intlCivil(zone: string, ms: number): Record<string, number> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const f: Record<string, number> = {};
  for (const p of parts) if (p.type !== 'literal') f[p.type] = Number(p.value);
  return { year: f.year!, month: f.month!, day: f.day!, hour: f.hour!, minute: f.minute!, second: f.second!, ms: ((ms % 1000) + 1000) % 1000 };
}

describe('TimeZone.civil, kept per instant', () => {
  // Amsterdam moves from +01:00 to +02:00 at 01:00 UTC on 2026-03-29; Kolkata from +05:30 to
  // +06:30 at 18:30 UTC on 1941-09-30, in the middle of a UTC hour.
  const changes = [
    ['Europe/Amsterdam', Date.parse('2026-03-29T01:00:00Z')],
    ['Asia/Kolkata', Date.parse('1941-09-30T18:30:00Z')],
  ] as const;

  it.each(changes)('%s: every second around an offset change, asked twice, is what Intl says', (zone, change) => {
    const tz = new TimeZone(zone);
    for (let pass = 0; pass < 2; pass++) {
      for (let s = -90; s <= 90; s++) {
        const ms = change + s * 1000 + 250;
        expect(tz.civil(ms), `${new Date(ms).toISOString()} pass ${pass}`).toEqual(intlCivil(zone, ms));
      }
    }
    // The offset really changes in the window, so a cache keyed coarser than the instant would be caught.
    expect(tz.offsetAt(change - 1000)).not.toBe(tz.offsetAt(change));
  });

  it('stays exact after it has filled up and started again', () => {
    const zone = 'Europe/Amsterdam';
    const tz = new TimeZone(zone);
    const start = Date.parse('2026-03-28T00:00:00Z');
    const instants = Array.from({ length: 12_000 }, (_, i) => start + i * 17_000);
    for (const ms of instants) tz.civil(ms);
    for (const ms of instants.filter((_, i) => i % 500 === 0)) expect(tz.civil(ms)).toEqual(intlCivil(zone, ms));
  });

  it('hands out fields nobody can change', () => {
    const tz = new TimeZone('Europe/Amsterdam');
    const ms = Date.parse('2026-11-22T09:05:00Z');
    const c = tz.civil(ms);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { hour: number }).hour = 0;
    }).toThrow(TypeError);
    expect(tz.civil(ms).hour).toBe(10);
  });
});
