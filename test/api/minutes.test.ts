// MINUTE granularity through GraphQL on both engines (issue #16 item 3): the minute keys a mark
// writes (and does not write), counts, series, cohorts, funnels, breakdowns and live answers over
// minutes against plain Sets from random instants, counters per minute against plain sums, and the
// limits that keep a range of minutes affordable, refused before any key is read.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBits } from '../../src/bitmap/engines/engine.ts';
import { ENGINES, TEST_AUTH, redisUrl, rng, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';
import { ok } from '../assertions.ts';

// Kolkata is 5:30 ahead of UTC all year: minute keys and labels are on its wall clock.
const ZONE = 'Asia/Kolkata';
const OFFSET_MS = 330 * 60_000;
const NOW = Date.parse('2026-11-30T09:00:00Z'); // 14:30 in Kolkata
/** The marks fall in the 60 minutes from 12:00 to 12:59 Kolkata time (06:30Z to 07:29Z). */
const FIRST_MS = Date.parse('2026-11-30T06:30:00Z');
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';

// ---- plain arithmetic on the wall clock, nothing from src/ ----

/** Minutes since 1970 on the Kolkata wall clock. */
const minuteOf = (ms: number): number => Math.floor((ms + OFFSET_MS) / 60_000);
const wall = (minute: number): Date => new Date(minute * 60_000);
/** 2026-11-30T12:05 */
const label = (minute: number): string => wall(minute).toISOString().slice(0, 16);
/** m2026-11-30-12-5 */
const suffix = (minute: number): string => {
  const d = wall(minute);
  return `m${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}-${d.getUTCHours()}-${d.getUTCMinutes()}`;
};
const FIRST = minuteOf(FIRST_MS);
const MINUTES = Array.from({ length: 60 }, (_, i) => FIRST + i);

interface Mark {
  name: string;
  userId: number;
  ms: number;
}

/** name → minute → users. */
function byMinute(marks: readonly Mark[]): Map<string, Map<number, Set<number>>> {
  const out = new Map<string, Map<number, Set<number>>>();
  for (const m of marks) {
    const of = out.get(m.name) ?? out.set(m.name, new Map()).get(m.name)!;
    const minute = minuteOf(m.ms);
    (of.get(minute) ?? of.set(minute, new Set()).get(minute)!).add(m.userId);
  }
  return out;
}
const users = (idx: Map<string, Map<number, Set<number>>>, name: string, minute: number): Set<number> => idx.get(name)?.get(minute) ?? new Set();
const and = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a].filter((x) => b.has(x)));
const union = (sets: Iterable<Set<number>>): Set<number> => {
  const out = new Set<number>();
  for (const s of sets) for (const x of s) out.add(x);
  return out;
};

/** Random marks: `tap` often, `signup` in the first half hour, `tap:ios` and `tap:web` for a breakdown. */
function randomMarks(seed: number): Mark[] {
  const random = rng(seed);
  const marks: Mark[] = [];
  const at = (span: number): number => FIRST_MS + Math.floor(random() * span * 60_000);
  for (let i = 0; i < 900; i++) marks.push({ name: 'tap', userId: Math.floor(random() * 300), ms: at(60) });
  for (let i = 0; i < 150; i++) marks.push({ name: 'signup', userId: Math.floor(random() * 300), ms: at(30) });
  for (let i = 0; i < 200; i++) marks.push({ name: random() < 0.5 ? 'tap:ios' : 'tap:web', userId: Math.floor(random() * 300), ms: at(60) });
  return marks;
}

const asInput = (marks: readonly Mark[], extra: Record<string, unknown> = {}) =>
  marks.map((m) => ({ name: m.name, userId: m.userId, at: new Date(m.ms).toISOString(), ...extra }));

/** The members of a stored bitmap, read from storage (dump), not through the API. */
async function members(t: TestGateway, key: string): Promise<number[]> {
  const bytes = await t.engine.dump(key);
  return bytes ? decodeBits(bytes, 0, 0, 1_000_000).ids : [];
}

describe.each(ENGINES)('MINUTE granularity (%s)', (engine) => {
  describe('with TRACK_MINUTELY', () => {
    let t: TestGateway;
    const marks = randomMarks(16);
    const idx = byMinute(marks);
    beforeAll(async () => {
      t = await testGateway({ engine, now: NOW, config: { timeZone: ZONE, trackMinutely: true } });
      expect(ok(await t.gql(MARKS, { in: asInput(marks) }))).toEqual({ markEvents: { marked: marks.length } });
    });
    afterAll(() => t.close());

    it('a mark writes its minute key, m<y>-<m>-<d>-<h>-<minute> on the zone’s wall clock, holding exactly the users marked in it', async () => {
      const keys = await t.keys();
      const minuteKeys = keys.filter((k) => /_m\d+-\d+-\d+-\d+-\d+$/.test(k)).sort();
      const want: string[] = [];
      for (const [name, of] of idx) for (const minute of of.keys()) want.push(`${t.prefix}${name}_${suffix(minute)}`);
      expect(minuteKeys).toEqual(want.sort());
      expect(minuteKeys).toContain(`${t.prefix}tap_m2026-11-30-12-0`);
      for (const minute of MINUTES.slice(0, 12)) {
        expect(await members(t, `${t.prefix}tap_${suffix(minute)}`), label(minute)).toEqual([...users(idx, 'tap', minute)].sort((a, b) => a - b));
      }
      // Bitmapist's keys are written as before: the day of all the marks, and no hour key (TRACK_HOURLY is off).
      expect(keys).toContain(`${t.prefix}tap_2026-11-30`);
      expect(keys.filter((k) => /_\d+-\d+-\d+-\d+$/.test(k))).toEqual([]);
      expect(await members(t, `${t.prefix}tap_2026-11-30`)).toEqual([...union(idx.get('tap')!.values())].sort((a, b) => a - b));
      if (engine === 'redis') {
        // Raw commands on another connection: the bits are where bitmapist's own SETBIT would put them.
        const raw = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
        try {
          for (const minute of MINUTES.slice(0, 5)) {
            const key = `${t.prefix}tap_${suffix(minute)}`;
            const set = users(idx, 'tap', minute);
            expect(await raw.bitcount(key)).toBe(set.size);
            for (let u = 0; u < 300; u += 7) expect(await raw.getbit(key, u), `${key} ${u}`).toBe(set.has(u) ? 1 : 0);
          }
        } finally {
          raw.disconnect();
        }
      }
    });

    it('the events list and deleteEvent see minute keys as the event’s', async () => {
      const names = ok(await t.gql<{ events: Array<{ name: string }> }>('{ events(prefix: "tap") { name } }')).events.map((e) => e.name);
      expect(names).toEqual(['tap', 'tap:ios', 'tap:web']);
    });

    it('a series of minutes counts each minute’s users; its labels are read back as dates', async () => {
      const d = ok(
        await t.gql<{ series: Array<{ count: number; period: { label: string; start: string; key: string } }> }>(
          `{ series(set: { event: { name: "tap" } }, granularity: MINUTE, from: "${label(FIRST)}", to: "${label(FIRST + 59)}") { count period { label start key } } }`,
        ),
      );
      expect(d.series.map((p) => p.period.label)).toEqual(MINUTES.map(label));
      expect(d.series.map((p) => p.count)).toEqual(MINUTES.map((m) => users(idx, 'tap', m).size));
      expect(d.series[0]!.period.start).toBe('2026-11-30T12:00:00+05:30');
      expect(d.series[5]!.period.key).toBe('m2026-11-30-12-5');
      // Each label asked about again, as a date: the same minute and the same count.
      const at = MINUTES.filter((_, i) => i % 9 === 0);
      const fields = at.map((m, i) => `c${i}: count(set: { event: { name: "tap", period: { at: { granularity: MINUTE, date: "${label(m)}" } } } })`);
      const counts = ok(await t.gql<Record<string, number>>(`{ ${fields.join('\n')} }`));
      expect(at.map((_, i) => counts[`c${i}`])).toEqual(at.map((m) => users(idx, 'tap', m).size));
    });

    it('a range of minutes, `ago` and `current` minutes, and a rolling average over minutes', async () => {
      const from = FIRST + 10;
      const to = FIRST + 34;
      const d = ok(
        await t.gql<{ range: number; ago: number; current: number; avg: Array<{ count: number; average: number }>; period: { label: string } }>(`{
          range: count(set: { range: { name: "tap", granularity: MINUTE, from: "${label(from)}", to: "${label(to)}" } })
          ago: count(set: { event: { name: "tap", period: { ago: { granularity: MINUTE, periods: ${minuteOf(NOW) - (FIRST + 3)} } } } })
          current: count(set: { event: { name: "tap", period: { current: MINUTE } } })
          avg: series(set: { event: { name: "tap" } }, granularity: MINUTE, from: "${label(FIRST + 20)}", to: "${label(FIRST + 24)}", rollingAverage: 3) { count average }
          period(granularity: MINUTE) { label }
        }`),
      );
      expect(d.range).toBe(union(MINUTES.filter((m) => m >= from && m <= to).map((m) => users(idx, 'tap', m))).size);
      expect(d.ago).toBe(users(idx, 'tap', FIRST + 3).size);
      expect(d.current).toBe(0);
      expect(d.period.label).toBe('2026-11-30T14:30');
      const size = (m: number): number => users(idx, 'tap', m).size;
      expect(d.avg.map((p) => p.average)).toEqual([20, 21, 22, 23, 24].map((i) => (size(FIRST + i - 2) + size(FIRST + i - 1) + size(FIRST + i)) / 3));
    });

    it('a cohort table and a funnel over minutes', async () => {
      const rows = 6;
      const columns = 4;
      const d = ok(
        await t.gql<{ cohort: { rows: Array<{ size: number; cells: Array<number | null>; period: { label: string } }> }; funnel: Array<{ count: number }> }>(`{
          cohort(cohort: { event: { name: "signup" } }, activity: { event: { name: "tap" } }, granularity: MINUTE, from: "${label(FIRST)}", rows: ${rows}, columns: ${columns}) {
            rows { size cells period { label } }
          }
          funnel(steps: [
            { range: { name: "signup", granularity: MINUTE, from: "${label(FIRST)}", to: "${label(FIRST + 9)}" } }
            { range: { name: "tap", granularity: MINUTE, from: "${label(FIRST + 10)}", to: "${label(FIRST + 29)}" } }
            { event: { name: "tap:ios", period: { at: { granularity: MINUTE, date: "${label(FIRST + 40)}" } } } }
          ]) { count }
        }`),
      );
      expect(d.cohort.rows.map((r) => r.period.label)).toEqual(MINUTES.slice(0, rows).map(label));
      for (let i = 0; i < rows; i++) {
        const cohort = users(idx, 'signup', FIRST + i);
        expect(d.cohort.rows[i]!.size).toBe(cohort.size);
        const want = Array.from({ length: columns }, (_, k) => {
          const active = users(idx, 'tap', FIRST + i + k);
          return cohort.size === 0 || active.size === 0 ? null : and(cohort, active).size;
        });
        expect(d.cohort.rows[i]!.cells, label(FIRST + i)).toEqual(want);
      }
      const range = (name: string, a: number, b: number): Set<number> => union(MINUTES.filter((m) => m >= a && m <= b).map((m) => users(idx, name, m)));
      const s1 = range('signup', FIRST, FIRST + 9);
      const s2 = and(s1, range('tap', FIRST + 10, FIRST + 29));
      const s3 = and(s2, users(idx, 'tap:ios', FIRST + 40));
      expect(d.funnel.map((s) => s.count)).toEqual([s1.size, s2.size, s3.size]);
    });

    it('breakdowns over a minute and over a series of minutes', async () => {
      const m = FIRST + 17;
      const d = ok(
        await t.gql<{ count: Array<{ value: string; count: number }>; series: Array<{ value: string; points: Array<{ count: number }> }> }>(`{
          count: countBreakdown(prefix: "tap:", period: { at: { granularity: MINUTE, date: "${label(m)}" } }) { value count }
          series: seriesBreakdown(prefix: "tap:", granularity: MINUTE, from: "${label(FIRST)}", to: "${label(FIRST + 4)}") { value points { count } }
        }`),
      );
      const byValue = Object.fromEntries(d.count.map((b) => [b.value, b.count]));
      expect(byValue).toEqual({ ios: users(idx, 'tap:ios', m).size, web: users(idx, 'tap:web', m).size });
      for (const s of d.series) expect(s.points.map((p) => p.count)).toEqual([0, 1, 2, 3, 4].map((i) => users(idx, `tap:${s.value}`, FIRST + i).size));
    });

    it('deleteEvent deletes an event’s minute keys with the rest, and no other event’s', async () => {
      const before = await t.keys();
      const of = (name: string) => before.filter((k) => k.startsWith(`${t.prefix}${name}_`));
      expect(of('signup').some((k) => /_m\d/.test(k))).toBe(true);
      const d = ok(await t.gql<{ deleteEvent: { deleted: number } }>('mutation { deleteEvent(name: "signup") { deleted } }'));
      expect(d.deleteEvent.deleted).toBe(of('signup').length);
      expect(await t.keys()).toEqual(before.filter((k) => !of('signup').includes(k)));
    });

    it('counters keep per-minute hashes: counterSeries and counters over minutes are plain sums', async () => {
      const random = rng(99);
      const hits = Array.from({ length: 400 }, () => ({ key: ['a', 'b', 'c'][Math.floor(random() * 3)]!, by: 1 + Math.floor(random() * 5), ms: FIRST_MS + Math.floor(random() * 20 * 60_000) }));
      const input = hits.map((h) => ({ name: 'plays', key: h.key, by: h.by, at: new Date(h.ms).toISOString() }));
      ok(await t.gql('mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }', { in: input }));
      const sum = (minute: number | null, key: string | null): number =>
        hits.filter((h) => (minute === null || minuteOf(h.ms) === minute) && (key === null || h.key === key)).reduce((s, h) => s + h.by, 0);
      const d = ok(
        await t.gql<{ all: Array<{ count: number }>; b: Array<{ count: number }>; top: Array<{ key: string; value: number }>; hour: Array<{ count: number }> }>(`{
          all: counterSeries(name: "plays", granularity: MINUTE, from: "${label(FIRST)}", to: "${label(FIRST + 19)}") { count }
          b: counterSeries(name: "plays", key: "b", granularity: MINUTE, from: "${label(FIRST)}", to: "${label(FIRST + 19)}") { count }
          top: counters(name: "plays", period: { at: { granularity: MINUTE, date: "${label(FIRST + 7)}" } }, top: 3) { key value }
          hour: counterSeries(name: "plays", granularity: HOUR, from: "2026-11-30T12:00", to: "2026-11-30T12:00") { count }
        }`),
      );
      const twenty = MINUTES.slice(0, 20);
      expect(d.all.map((p) => p.count)).toEqual(twenty.map((m) => sum(m, null)));
      expect(d.b.map((p) => p.count)).toEqual(twenty.map((m) => sum(m, 'b')));
      const want = ['a', 'b', 'c'].map((key) => ({ key, value: sum(FIRST + 7, key) })).filter((x) => x.value > 0);
      expect([...d.top].sort((x, y) => x.key.localeCompare(y.key))).toEqual(want);
      expect(d.top.map((x) => x.value)).toEqual([...d.top.map((x) => x.value)].sort((x, y) => y - x));
      expect(d.hour.map((p) => p.count)).toEqual([sum(null, null)]);
      const keys = await t.keys();
      expect(keys).toContain(`${t.gateway.services.layout.counterPrefix}plays:${suffix(FIRST + 7)}`);
    });
  });

  describe('without TRACK_MINUTELY', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await testGateway({ engine, now: NOW, config: { timeZone: ZONE } });
    });
    afterAll(() => t.close());

    it('writes no minute key or minute hash, unless a mark asks for one', async () => {
      const at = '2026-11-30T06:31:10Z'; // 12:01:10 in Kolkata
      ok(await t.gql(MARKS, { in: [{ name: 'off', userId: 4, at }, { name: 'one', userId: 5, at, trackMinutely: true }] }));
      ok(await t.gql(`mutation { incrementCounter(name: "n", key: "k", at: "${at}") { incremented } }`));
      const keys = await t.keys();
      expect(keys.filter((k) => /[_:]m\d/.test(k))).toEqual([`${t.prefix}one_m2026-11-30-12-1`]);
      expect(await members(t, `${t.prefix}one_m2026-11-30-12-1`)).toEqual([5]);
      expect(keys).toContain(`${t.prefix}off_2026-11-30`);
      // Asking about minutes that were not tracked finds nobody, as hours do without TRACK_HOURLY.
      expect(ok(await t.gql<{ count: number }>('{ count(set: { event: { name: "off", period: { at: { granularity: MINUTE, date: "2026-11-30T12:01" } } } }) }')).count).toBe(0);
      // An unmark with trackMinutely clears the minute's bit too; without it the minute key stays as it was.
      ok(await t.gql(`mutation { unmarkEvent(input: { name: "one", userId: 5, at: "${at}" }) { marked } }`));
      expect(await members(t, `${t.prefix}one_m2026-11-30-12-1`)).toEqual([5]);
      expect(await members(t, `${t.prefix}one_2026-11-30`)).toEqual([]);
      ok(await t.gql(`mutation { unmarkEvent(input: { name: "one", userId: 5, at: "${at}", trackMinutely: true }) { marked } }`));
      expect(await members(t, `${t.prefix}one_m2026-11-30-12-1`)).toEqual([]);
    });

    it('a per-mark trackMinutely: false wins over TRACK_MINUTELY', async () => {
      const on = await testGateway({ engine, now: NOW, config: { timeZone: ZONE, trackMinutely: true } });
      try {
        ok(await on.gql(MARKS, { in: [{ name: 'quiet', userId: 1, at: '2026-11-30T06:31:10Z', trackMinutely: false }] }));
        expect((await on.keys()).filter((k) => /_m\d/.test(k))).toEqual([]);
        ok(await on.gql('mutation { unmarkEvent(input: { name: "quiet", userId: 1, at: "2026-11-30T06:31:10Z" }) { marked } }'));
      } finally {
        await on.close();
      }
    });
  });

  describe('limits keep a range of minutes affordable', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await testGateway({ engine, now: NOW, config: { timeZone: ZONE, trackMinutely: true } });
      ok(await t.gql(MARKS, { in: [{ name: 'tap', userId: 1, at: '2026-11-30T06:31:10Z' }] }));
    });
    afterAll(() => t.close());

    /**
     * The commands Redis ran that name this gateway's keys while `work` ran, and then while `control`
     * ran (a query that reads: proof that they are seen); none on the embedded engine.
     */
    async function commandsDuring(work: () => Promise<void>, control: () => Promise<void>): Promise<[string[][], string[][]]> {
      if (engine !== 'redis') {
        await work();
        await control();
        return [[], []];
      }
      const raw = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
      const monitor = await raw.monitor();
      raw.disconnect();
      const seen: string[][] = [];
      const mine = t.prefix.slice(0, -1);
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args.some((a) => String(a).includes(mine))) seen.push(args.map(String));
      });
      await new Promise((r) => setTimeout(r, 50));
      await work();
      await new Promise((r) => setTimeout(r, 150));
      const during = seen.splice(0);
      await control();
      await new Promise((r) => setTimeout(r, 150));
      monitor.disconnect();
      return [during, seen];
    }

    const refusal = (r: GqlResult) => ({ code: r.errors?.[0]?.extensions?.code, limit: r.errors?.[0]?.extensions?.limit });

    it('a series of a year of minutes, a range of a week of minutes and 30 series of 2000 minutes are refused with TOO_COMPLEX before any key is read', async () => {
      const results: GqlResult[] = [];
      let ms = 0;
      let day = -1;
      const [seen, control] = await commandsDuring(async () => {
        const started = performance.now();
        results.push(await t.gql('{ series(set: { event: { name: "tap" } }, granularity: MINUTE, from: "2026-01-01", to: "2026-11-30") { count } }'));
        results.push(await t.gql('{ count(set: { range: { name: "tap", granularity: MINUTE, from: "2026-11-23", to: "2026-11-30" } }) }'));
        results.push(await t.gql('{ counterSeries(name: "plays", granularity: MINUTE, last: 100000) { count } }'));
        results.push(await t.gql('{ cohort(cohort: { event: { name: "tap" } }, activity: { event: { name: "tap" } }, granularity: MINUTE, rows: 1000, columns: 1000) { rows { size } } }'));
        const many = Array.from({ length: 30 }, (_, i) => `s${i}: series(set: { event: { name: "tap", shift: ${i} } }, granularity: MINUTE, last: 2000) { count }`);
        results.push(await t.gql(`{ ${many.join('\n')} }`));
        ms = performance.now() - started;
      }, async () => {
        // Still up, and a day of minutes (1440 keys) is within the limits.
        day = ok(await t.gql<{ count: number }>('{ count(set: { range: { name: "tap", granularity: MINUTE, from: "2026-11-30T00:00", to: "2026-11-30T23:59" } }) }')).count;
      });
      expect(results.map(refusal)).toEqual([
        { code: 'TOO_COMPLEX', limit: 2000 }, // MAX_POINTS: 480,960 minutes
        { code: 'TOO_COMPLEX', limit: 2000 }, // MAX_PERIODS_PER_LEAF: 10,081 minutes
        { code: 'TOO_COMPLEX', limit: 2000 }, // MAX_POINTS
        { code: 'TOO_COMPLEX', limit: 10_000 }, // MAX_COHORT_CELLS
        { code: 'TOO_COMPLEX', limit: 50_000 }, // MAX_COST: 30 × 2000 keys
      ]);
      expect(results[4]!.errors![0]!.extensions?.cost).toBeGreaterThan(50_000);
      expect(seen).toEqual([]);
      expect(ms).toBeLessThan(10_000); // refused from the shape: no minute is made, let alone read
      expect(day).toBe(1);
      if (engine === 'redis') expect(control.length).toBeGreaterThan(0);
    });
  });

  it('a document sent again in the next minute of the same hour asks about the new minute', async () => {
    // testGateway reads `now` from this object at every call: moving it moves the gateway's clock.
    const clock = { engine, now: Date.parse('2026-11-30T06:31:30Z'), config: { timeZone: ZONE, trackMinutely: true } };
    const t = await testGateway(clock);
    try {
      ok(await t.gql(MARKS, { in: [{ name: 'tick', userId: 1, at: '2026-11-30T06:31:00Z' }, { name: 'tick', userId: 2, at: '2026-11-30T06:32:00Z' }, { name: 'tick', userId: 3, at: '2026-11-30T06:32:59Z' }] }));
      const text = '{ now: count(set: { event: { name: "tick", period: { current: MINUTE } } }) before: count(set: { range: { name: "tick", granularity: MINUTE, last: 2 } }) hour: count(set: { event: { name: "tick", period: { current: HOUR } } }) }';
      expect(ok(await t.gql(text))).toEqual({ now: 1, before: 1, hour: 0 }); // 12:01 in Kolkata; no hour keys
      clock.now = Date.parse('2026-11-30T06:32:30Z'); // 12:02, the same hour
      expect(ok(await t.gql(text))).toEqual({ now: 2, before: 3, hour: 0 });
    } finally {
      await t.close();
    }
  });

  it('live answers over minutes: the current minute’s count follows marks', async () => {
    const t = await testGateway({ engine, now: NOW, config: { timeZone: ZONE, trackMinutely: true } });
    const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
      body: JSON.stringify({ query: 'subscription { count(set: { event: { name: "live", period: { current: MINUTE } } }) }' }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const nextCount = async (): Promise<number> => {
      const until = Date.now() + 10_000;
      for (;;) {
        const at = buffer.indexOf('\n\n');
        if (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          if (/^event: next$/m.test(block)) {
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
            return (JSON.parse(data) as { data: { count: number } }).data.count;
          }
          continue;
        }
        if (Date.now() > until) throw new Error('no answer within 10 s');
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    };
    try {
      expect(await nextCount()).toBe(0);
      ok(await t.gql(MARKS, { in: [{ name: 'live', userId: 3 }, { name: 'live', userId: 9 }] })); // at now: 14:30 in Kolkata
      expect(await nextCount()).toBe(2);
      expect(await members(t, `${t.prefix}live_m2026-11-30-14-30`)).toEqual([3, 9]);
    } finally {
      await reader.cancel().catch(() => {});
      await t.close();
    }
  });
});
