// MINUTE keys (TRACK_MINUTELY): their form, read back by parseSuffix, and never taken for a bitmapist key or one for them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterIncrements, counterNameOf } from '../../src/bitmap/counters.ts';
import { markKeys } from '../../src/bitmap/events.ts';
import { bitmapistLayout, parseSuffix, periodSuffix } from '../../src/bitmap/keys.ts';
import { TimeZone, firstPeriod, periodAt, periodLabel, shiftPeriod } from '../../src/bitmap/period.ts';
import type { Granularity, Period } from '../../src/bitmap/period.ts';

const UTC = new TimeZone('UTC');
const layout = bitmapistLayout();
const at = (iso: string): number => Date.parse(iso);

/** Minutes of the years 0000 to 9999, by index: 0000-01-01 is 719,528 days before 1970, and 10,000 years are 25 × 146,097 days. */
const FIRST_MINUTE = -719_528 * 1440;
const LAST_MINUTE = FIRST_MINUTE + 25 * 146_097 * 1440 - 1;
const minute = fc.integer({ min: FIRST_MINUTE, max: LAST_MINUTE }).map((index): Period => ({ granularity: 'MINUTE', index }));
/** bitmapist's own periods (a YEAR has no key). */
const BITMAPIST: readonly Granularity[] = ['HOUR', 'DAY', 'WEEK', 'MONTH'];
const bitmapistPeriod = fc
  .tuple(fc.constantFrom(...BITMAPIST), fc.integer({ min: 0, max: 2_000_000 }))
  .map(([g, i]): Period => shiftPeriod(firstPeriod(g), i % (g === 'HOUR' ? 2_000_000 : g === 'DAY' ? 3_000_000 : 100_000)));
/** Event names as the API allows them, with the characters that matter here (`_`, `-`, digits, `m`, `u`, `W`) likely. */
const name = fc.stringMatching(/^[a-zA-Z0-9_:.m\-uW]{1,24}$/).filter((n) => !n.startsWith('bitop_') && n !== 'bitop');

describe('MINUTE keys', () => {
  it('are m<year>-<month>-<day>-<hour>-<minute>, numbers not zero-padded, in the zone’s wall clock', () => {
    const p = periodAt('MINUTE', at('2026-11-22T09:05:42Z'), UTC);
    expect(periodSuffix(p)).toBe('m2026-11-22-9-5');
    expect(layout.eventKeys('active', p)).toEqual(['trackist_active_m2026-11-22-9-5']);
    expect(layout.counterKeys('plays', p)).toEqual(['trackist:counter:plays:m2026-11-22-9-5']);
    expect(periodLabel(p)).toBe('2026-11-22T09:05');
    const kolkata = new TimeZone('Asia/Kolkata'); // +05:30: 09:05Z is 14:35 there
    expect(layout.eventKeys('active', periodAt('MINUTE', at('2026-11-22T09:05:00Z'), kolkata))).toEqual(['trackist_active_m2026-11-22-14-35']);
    expect(bitmapistLayout('bitmapist_').eventKeys('a', periodAt('MINUTE', at('2026-01-05T00:00:59Z'), UTC))).toEqual(['bitmapist_a_m2026-1-5-0-0']);
  });

  it('a mark writes the minute key only when minutely; bitmapist’s keys are unchanged', () => {
    const m = { name: 'played', userId: 1, at: at('2026-11-22T09:05:00Z'), unique: false };
    expect(markKeys(layout, UTC, { ...m, hourly: false })).toEqual(['trackist_played_2026-11', 'trackist_played_W2026-47', 'trackist_played_2026-11-22']);
    expect(markKeys(layout, UTC, { ...m, hourly: false, minutely: true })).toEqual([
      'trackist_played_2026-11',
      'trackist_played_W2026-47',
      'trackist_played_2026-11-22',
      'trackist_played_m2026-11-22-9-5',
    ]);
    expect(markKeys(layout, UTC, { ...m, hourly: true, minutely: true, unique: true })).toEqual([
      'trackist_played_2026-11',
      'trackist_played_W2026-47',
      'trackist_played_2026-11-22',
      'trackist_played_2026-11-22-9',
      'trackist_played_m2026-11-22-9-5',
      'trackist_played_u',
    ]);
  });

  it('a counter hit adds to the minute hash only when minutely', () => {
    const hit = { name: 'plays', key: 'song-1', by: 3, at: at('2026-11-22T23:59:30Z') };
    const base = ['trackist:counter:plays:2026-11-22-23', 'trackist:counter:plays:2026-11-22', 'trackist:counter:plays:W2026-47', 'trackist:counter:plays:2026-11'];
    expect(counterIncrements(layout, UTC, [hit]).map((i) => i.key)).toEqual(base);
    expect(counterIncrements(layout, UTC, [hit], true)).toEqual([...base, 'trackist:counter:plays:m2026-11-22-23-59'].map((key) => ({ key, field: 'song-1', by: 3 })));
    expect(counterNameOf(layout, 'trackist:counter:pl:ays:m2026-11-22-23-59')).toBe('pl:ays');
  });

  it('read back as their event and minute, for any name and minute of the years 0000 to 9999', () => {
    fc.assert(
      fc.property(name, minute, (n, p) => {
        expect(layout.parse(layout.eventKeys(n, p)[0]!)).toEqual({ name: n, period: p });
        expect(counterNameOf(layout, layout.counterKeys(n, p)[0]!)).toBe(n);
      }),
      { numRuns: 2000 },
    );
    for (const p of [firstPeriod('MINUTE'), { granularity: 'MINUTE' as const, index: LAST_MINUTE }]) {
      expect(layout.parse(layout.eventKeys('e', p)[0]!)).toEqual({ name: 'e', period: p });
    }
    expect(firstPeriod('MINUTE').index).toBe(FIRST_MINUTE);
    expect(periodLabel({ granularity: 'MINUTE', index: FIRST_MINUTE })).toBe('0000-01-01T00:00');
    expect(periodLabel({ granularity: 'MINUTE', index: LAST_MINUTE })).toBe('9999-12-31T23:59');
    expect(() => shiftPeriod({ granularity: 'MINUTE', index: LAST_MINUTE }, 1)).toThrow(/period out of range/);
  });

  it('never equal a bitmapist key, and bitmapist keys never read as minutes', () => {
    fc.assert(
      fc.property(name, minute, name, bitmapistPeriod, (n1, m, n2, p) => {
        const bitmapistKey = layout.eventKeys(n2, p)[0]!;
        expect(layout.eventKeys(n1, m)[0]).not.toBe(bitmapistKey);
        expect(layout.parse(bitmapistKey)).toEqual({ name: n2, period: p });
        expect(layout.uniqueKey(n2)).not.toBe(layout.eventKeys(n1, m)[0]);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses what is not a minute: out-of-range numbers, a bare fifth number, a missing one', () => {
    for (const rest of ['a_m2026-11-22-24-0', 'a_m2026-11-22-9-60', 'a_m2026-2-30-9-5', 'a_m2026-11-22-09-5', 'a_m2026-11-22-9-05', 'a_m2026-11-22-9', 'a_M2026-11-22-9-5', 'a_2026-11-22-9-5', '_m2026-11-22-9-5']) {
      expect(parseSuffix(rest), rest).toBeNull();
    }
    // The suffix is what follows the last `_`: a name may hold what looks like one.
    expect(parseSuffix('a_m2026-11-22-9-5_2026-11-22-9')).toEqual({ name: 'a_m2026-11-22-9-5', period: { granularity: 'HOUR', index: periodAt('HOUR', at('2026-11-22T09:00Z'), UTC).index } });
    expect(parseSuffix('a_2026-11-22-9_m2026-11-22-9-5')).toEqual({ name: 'a_2026-11-22-9', period: periodAt('MINUTE', at('2026-11-22T09:05Z'), UTC) });
  });
});
