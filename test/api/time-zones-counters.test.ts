// Counters asked in a time zone, counterBreakdown included: sums of the local periods, against
// plain sums of random increments over local periods worked out with Intl. In a zone not a whole
// number of hours from the storage zone (Kolkata) the edges are read from minute hashes, each of
// their hours checked against its hour hash (MINUTES_NOT_TRACKED).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterIncrements } from '../../src/bitmap/counters.ts';
import { ENGINES, TEST_AUTH, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';
import { DAY_MS, HOUR, events, localDay } from './zone-reference.ts';

const NOW = Date.parse('2026-03-20T12:00:00Z');
const KOLKATA = 'Asia/Kolkata';
const INCREMENT = 'mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }';

interface Hit {
  name: string;
  key: string;
  by: number;
  ms: number;
}

/** Random increments (whole seconds) from 2026-03-05 to 2026-03-13, half within two hours of 18:30 UTC: Kolkata's midnight. */
function randomHits(seed: number, n: number): Hit[] {
  const r = rng(seed);
  const [a, b] = [Date.parse('2026-03-05T00:00:00Z'), Date.parse('2026-03-13T00:00:00Z')];
  return Array.from({ length: n }, () => {
    let ms = a + Math.floor(r() * (b - a));
    if (r() < 0.5) ms = Math.floor(ms / DAY_MS) * DAY_MS + 18.5 * HOUR + Math.floor((r() * 4 - 2) * HOUR);
    return { name: 'plays', key: `song-${Math.floor(r() ** 2 * 7)}`, by: 1 + Math.floor(r() * 3), ms: Math.floor(ms / 1000) * 1000 };
  });
}

const sendHits = async (g: TestGateway, hits: readonly Hit[]): Promise<void> => {
  ok(await g.gql(INCREMENT, { in: hits.map((h) => ({ name: h.name, key: h.key, by: h.by, at: new Date(h.ms).toISOString() })) }));
};

/** Increments written as with TRACK_MINUTELY off (hour, day, week and month hashes, no minute hash): the gateway's own write path. */
const sendWithoutMinutes = async (g: TestGateway, hits: readonly Hit[]): Promise<void> => {
  const { layout, tz } = g.gateway.services;
  await g.engine.increment(counterIncrements(layout, tz, hits.map((h) => ({ name: h.name, key: h.key, by: h.by, at: h.ms })), false));
};

const sum = (hits: readonly Hit[], keep: (h: Hit) => boolean): number => hits.filter(keep).reduce((n, h) => n + h.by, 0);

const days = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let d = Date.parse(`${from}T00:00:00Z`); d <= Date.parse(`${to}T00:00:00Z`); d += DAY_MS) out.push(new Date(d).toISOString().slice(0, 10));
  return out;
};

type Point = { period: { label: string; start: string; end: string }; count: number };
type Breakdown = Array<{ key: string | null; other: boolean; total: number; points: Point[] }>;

const BREAKDOWN = `query($name: String!, $top: Int, $g: Granularity!, $from: DateTime!, $to: DateTime!, $tz: String) {
  counterBreakdown(name: $name, top: $top, granularity: $g, from: $from, to: $to, timeZone: $tz) { key other total points { period { label start end } count } }
}`;

/** The breakdown worked out from the hits: the top keys over the whole range (total, then key), each key's sums per point, the rest. */
function expectedBreakdown(hits: readonly Hit[], periods: ReadonlyArray<(h: Hit) => boolean>, top: number): Array<{ key: string | null; counts: number[] }> {
  const inRange = hits.filter((h) => periods.some((p) => p(h)));
  const totals = new Map<string, number>();
  for (const h of inRange) totals.set(h.key, (totals.get(h.key) ?? 0) + h.by);
  const keys = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top).map(([k]) => k);
  return [
    ...keys.map((key) => ({ key: key as string | null, counts: periods.map((p) => sum(inRange, (h) => h.key === key && p(h))) })),
    { key: null, counts: periods.map((p) => sum(inRange, (h) => !keys.includes(h.key) && p(h))) },
  ];
}

for (const engine of ENGINES) {
  describe(`counters in time zones (${engine})`, () => {
    let g: TestGateway;
    const hits = randomHits(20260310, 1200);

    beforeAll(async () => {
      g = await testGateway({ engine, now: NOW, config: { trackMinutely: true } });
      await sendHits(g, hits);
    });
    afterAll(() => g.close());

    it('counterSeries and counters in Kolkata sum each local day, edges from minute hashes', async () => {
      const inDay = (label: string, key?: string) => (h: Hit) => localDay(h.ms, KOLKATA) === label && (key === undefined || h.key === key);
      type S = { counterSeries: Point[] };
      for (const key of [null, 'song-0', 'song-3']) {
        const points = ok(
          await g.gql<S>(`query($key: String) { counterSeries(name: "plays", key: $key, granularity: DAY, from: "2026-03-06", to: "2026-03-12", timeZone: "${KOLKATA}") { period { label start end } count } }`, { key }),
        ).counterSeries;
        expect(points.map((p) => p.period.label)).toEqual(days('2026-03-06', '2026-03-12'));
        expect(Date.parse(points[0]!.period.start)).toBe(Date.parse('2026-03-05T18:30:00Z'));
        for (const p of points) expect(p.count, `${key} ${p.period.label}`).toBe(sum(hits, inDay(p.period.label, key ?? undefined)));
      }
      // Kolkata hours are two halves of storage hours: all minute hashes.
      const hours = ok(
        await g.gql<S>(`{ counterSeries(name: "plays", granularity: HOUR, from: "2026-03-10T22:00", to: "2026-03-11T02:00", timeZone: "${KOLKATA}") { period { label start end } count } }`),
      ).counterSeries;
      expect(hours).toHaveLength(5);
      expect(Date.parse(hours[0]!.period.start)).toBe(Date.parse('2026-03-10T16:30:00Z'));
      for (const p of hours) {
        expect(Date.parse(p.period.end) - Date.parse(p.period.start)).toBe(HOUR);
        expect(p.count, p.period.label).toBe(sum(hits, (h) => h.ms >= Date.parse(p.period.start) && h.ms < Date.parse(p.period.end)));
      }
      const top = ok(
        await g.gql<{ counters: Array<{ key: string; value: number }> }>(`{ counters(name: "plays", period: { at: { granularity: DAY, date: "2026-03-09" } }, top: 10, timeZone: "${KOLKATA}") { key value } }`),
      ).counters;
      const expected = new Map<string, number>();
      for (const h of hits) if (inDay('2026-03-09')(h)) expected.set(h.key, (expected.get(h.key) ?? 0) + h.by);
      expect(new Map(top.map((t) => [t.key, t.value]))).toEqual(expected);
      expect(top.map((t) => t.value)).toEqual([...expected.values()].sort((a, b) => b - a));
    });

    for (const [zone, top, from, to] of [
      [KOLKATA, 3, '2026-03-06', '2026-03-12'],
      ['America/New_York', 2, '2026-03-06', '2026-03-11'],
      ['UTC', 4, '2026-03-06', '2026-03-12'],
    ] as const) {
      it(`counterBreakdown in ${zone}: top ${top} keys over local days ${from}..${to}, and the rest`, async () => {
        const labels = days(from, to);
        const b = ok(await g.gql<{ counterBreakdown: Breakdown }>(BREAKDOWN, { name: 'plays', top, g: 'DAY', from, to, tz: zone })).counterBreakdown;
        const want = expectedBreakdown(hits, labels.map((label) => (h: Hit) => localDay(h.ms, zone) === label), top);
        expect(b.map((s) => s.key)).toEqual(want.map((s) => s.key));
        for (const [i, s] of b.entries()) {
          expect(s.points.map((p) => p.period.label)).toEqual(labels);
          expect(s.points.map((p) => p.count), `${s.key}`).toEqual(want[i]!.counts);
          expect(s.total).toBe(want[i]!.counts.reduce((n, c) => n + c, 0));
          expect(s.other).toBe(s.key === null);
        }
      });
    }

    it('MINUTES_NOT_TRACKED names the counter and the storage hour whose hour hash holds more than its minute hashes', async () => {
      // In the storage hour 2026-03-09T18 (UTC), whose minutes 18:30 to 18:59 start Kolkata's 10 March:
      // k1 and k2 with minute hashes, then k2 written without them.
      await sendHits(g, [
        { name: 'legacy', key: 'k1', by: 2, ms: Date.parse('2026-03-09T18:10:00Z') },
        { name: 'legacy', key: 'k2', by: 1, ms: Date.parse('2026-03-09T18:50:00Z') },
      ]);
      await sendWithoutMinutes(g, [{ name: 'legacy', key: 'k2', by: 4, ms: Date.parse('2026-03-09T18:45:00Z') }]);
      const series = (key: string | null, date: string, tz: string | null) =>
        g.gql<{ counterSeries: Point[] }>(`query($key: String, $tz: String) { counterSeries(name: "legacy", key: $key, granularity: DAY, from: "${date}", to: "${date}", timeZone: $tz) { count } }`, {
          key,
          tz,
        });
      const refused = [
        [await series(null, '2026-03-10', KOLKATA), {}],
        [await series('k2', '2026-03-10', KOLKATA), { key: 'k2' }],
        // 9 March in Kolkata reads the first half of that hour by minute: the hash cannot tell which minutes are missing.
        [await series(null, '2026-03-09', KOLKATA), {}],
        [await g.gql(`{ counters(name: "legacy", period: { at: { granularity: DAY, date: "2026-03-10" } }, timeZone: "${KOLKATA}") { key } }`), {}],
        [await g.gql(BREAKDOWN, { name: 'legacy', top: 1, g: 'DAY', from: '2026-03-10', to: '2026-03-10', tz: KOLKATA }), {}],
      ] as const;
      for (const [r, ext] of refused) {
        expect(code(r)).toBe('MINUTES_NOT_TRACKED');
        expect(r.errors![0]!.extensions).toMatchObject({ counter: 'legacy', hour: '2026-03-09T18', timeZone: KOLKATA, storageTimeZone: 'UTC', ...ext });
        expect(r.data ?? null).toBeNull();
      }
      // k1's minutes are all there: its series answers (18:10 is before Kolkata's 10 March).
      expect(ok(await series('k1', '2026-03-10', KOLKATA)).counterSeries.map((p) => p.count)).toEqual([0]);
      // In the storage zone and in New York (whole hours) the hour hashes answer.
      expect(ok(await series(null, '2026-03-09', null)).counterSeries.map((p) => p.count)).toEqual([7]);
      expect(ok(await series(null, '2026-03-09', 'America/New_York')).counterSeries.map((p) => p.count)).toEqual([7]);
      // A Kolkata day that reads no minute of that hour answers.
      expect(ok(await series(null, '2026-03-11', KOLKATA)).counterSeries.map((p) => p.count)).toEqual([0]);
    });

    it('refusals with codes, and the process answers after them', async () => {
      const bad = [
        [{ name: 'plays', top: 2, g: 'DAY', from: '2026-03-06', to: '2026-03-07', tz: 'Mars/Olympus_Mons' }, 'BAD_INPUT'],
        [{ name: 'plays', top: 2, g: 'MINUTE', from: '2026-03-06T10:00', to: '2026-03-06T10:05', tz: KOLKATA }, 'TIME_ZONE_UNALIGNED'],
        [{ name: 'plays', top: 0, g: 'DAY', from: '2026-03-06', to: '2026-03-07', tz: KOLKATA }, 'BAD_INPUT'],
        [{ name: 'plays', top: 2, g: 'DAY', from: '2026-03-06', to: '2126-03-07', tz: KOLKATA }, 'TOO_COMPLEX'],
      ] as const;
      for (const [vars, want] of bad) expect(code(await g.gql(BREAKDOWN, vars)), JSON.stringify(vars)).toBe(want);
      const b = ok(await g.gql<{ counterBreakdown: Breakdown }>(BREAKDOWN, { name: 'plays', top: 1, g: 'DAY', from: '2026-03-06', to: '2026-03-06', tz: KOLKATA })).counterBreakdown;
      expect(b.reduce((n, s) => n + s.total, 0)).toBe(sum(hits, (h) => localDay(h.ms, KOLKATA) === '2026-03-06'));
    });
  });
}

describe('counters in time zones: cost and live', () => {
  it('counterBreakdown in Kolkata is priced with its minute hashes and checks, before any work', async () => {
    const g = await testGateway({ engine: 'redis', now: NOW, config: { trackMinutely: true, maxCost: 5000 } });
    try {
      const vars = { name: 'plays', top: 10, g: 'DAY', from: '2026-02-19', to: '2026-03-20' };
      // 30 points in UTC: the top's 30 hashes, 1 for its size, 11 series × 30 hashes.
      ok(await g.gql(BREAKDOWN, { ...vars, tz: null }));
      const r = await g.gql(BREAKDOWN, { ...vars, tz: KOLKATA });
      expect(code(r)).toBe('TOO_COMPLEX');
      expect(r.errors![0]!.extensions).toMatchObject({ limit: 5000 });
      // Each Kolkata day: 11 series × (up to 25 hashes and 2 × 59 minute hashes), and its two hours' checks (61 hashes each).
      expect(r.errors![0]!.extensions!.cost as number).toBeGreaterThanOrEqual(30 * (11 * (25 + 118) + 122));
      ok(await g.gql(BREAKDOWN, { ...vars, from: '2026-03-19', tz: KOLKATA }));
    } finally {
      await g.close();
    }
  });

  it('a counterBreakdown subscription in Kolkata answers as the query, and again after an increment', async () => {
    const g = await testGateway({ engine: 'redis', now: NOW, config: { trackMinutely: true } });
    const controller = new AbortController();
    try {
      const at = '2026-03-10T18:40:00Z'; // 00:10 on 11 March in Kolkata
      await sendHits(g, [{ name: 'live', key: 'x', by: 2, ms: Date.parse(at) }]);
      const query = `counterBreakdown(name: "live", top: 1, granularity: DAY, from: "2026-03-10", to: "2026-03-11", timeZone: "${KOLKATA}") { key total points { count } }`;
      const res = await g.gateway.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
        body: JSON.stringify({ query: `subscription { ${query} }` }),
      });
      const stream = events(res.body!);
      const first = (await stream.next()).value!;
      expect(first.data).toEqual(ok(await g.gql(`{ ${query} }`)));
      expect(first.data).toEqual({ counterBreakdown: [{ key: 'x', total: 2, points: [{ count: 0 }, { count: 2 }] }, { key: null, total: 0, points: [{ count: 0 }, { count: 0 }] }] });
      // 18:20 UTC is still 10 March in Kolkata.
      await sendHits(g, [{ name: 'live', key: 'y', by: 5, ms: Date.parse('2026-03-10T18:20:00Z') }]);
      const next = (await stream.next()).value!;
      expect(next.data).toEqual({ counterBreakdown: [{ key: 'y', total: 5, points: [{ count: 5 }, { count: 0 }] }, { key: null, total: 2, points: [{ count: 0 }, { count: 2 }] }] });
    } finally {
      controller.abort();
      await g.close();
    }
  });
});
