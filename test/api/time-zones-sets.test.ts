// Set questions in a request's time zone (`timeZone` on count, hasEvents, contains, members,
// countBreakdown, seriesBreakdown): against plain Sets built from the marks' instants with Intl,
// in New York across both DST changes and in Kolkata (5:30 from the storage zone: minute keys at
// the edges), the storage keys actually read, the coded refusals and the cost refusal before work.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKeys } from '../../src/bitmap/program.ts';
import type { Program } from '../../src/bitmap/program.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { ENGINES, TEST_AUTH, rng, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';
import { DAY_MS, HOUR, events, labelOfDate, localDay, markAll, users } from './zone-reference.ts';
import type { G, Mark } from './zone-reference.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const NY = 'America/New_York';
const KOLKATA = 'Asia/Kolkata';

/** The date `days` days from a date. */
const addDays = (d: string, days: number): string => new Date(Date.parse(`${d}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
/** A date in the period before the one holding `d`. */
const dateBefore = (g: G, d: string): string => (g === 'DAY' ? addDays(d, -1) : g === 'WEEK' ? addDays(d, -7) : addDays(`${d.slice(0, 7)}-01`, -1));

const inter = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a].filter((x) => b.has(x)));
const minus = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a].filter((x) => !b.has(x)));
const sorted = (s: Set<number>): number[] => [...s].sort((x, y) => x - y);

/** Random instants (whole seconds) around both 2026 US DST changes; many near New York's and Kolkata's midnights (04:00-05:00 and 18:30 UTC). */
function randomMarks(seed: number, n: number): Mark[] {
  const r = rng(seed);
  const windows = [
    [Date.parse('2026-02-26T00:00:00Z'), Date.parse('2026-03-20T00:00:00Z')],
    [Date.parse('2026-10-24T00:00:00Z'), Date.parse('2026-11-12T00:00:00Z')],
  ] as const;
  return Array.from({ length: n }, () => {
    const [a, b] = windows[Math.floor(r() * windows.length)]!;
    let ms = a + Math.floor(r() * (b - a));
    const near = r();
    if (near < 0.3) ms = Math.floor(ms / DAY_MS) * DAY_MS + Math.floor((4.5 + (r() * 2 - 1)) * HOUR);
    else if (near < 0.6) ms = Math.floor(ms / DAY_MS) * DAY_MS + Math.floor((18.5 + (r() * 2 - 1)) * HOUR);
    return { name: r() < 0.5 ? 'ev:a' : 'ev:b', userId: Math.floor(r() * 80), ms: Math.floor(ms / 1000) * 1000 };
  });
}

const mark = (g: TestGateway, marks: readonly Mark[], flags: { trackHourly: boolean; trackMinutely: boolean }): Promise<void> => markAll(g, marks, flags);

/** A gateway over `t`'s engine whose programs' input keys are recorded. */
async function recordingGateway(t: TestGateway, config: Partial<TestGateway['config']> = {}): Promise<{ gateway: Gateway; keys: Set<string>; gql: TestGateway['gql'] }> {
  const keys = new Set<string>();
  const engine = new Proxy(t.engine, {
    get: (target, prop) =>
      prop === 'run'
        ? (program: Program) => {
            for (const i of program.instructions) for (const k of readKeys(i)) keys.add(k);
            return target.run(program);
          }
        : Reflect.get(target, prop, target),
  }) as Engine;
  const gateway = await createGateway({ ...t.config, ...config }, { engine, now: () => NOW });
  const gql = async <T,>(query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>> => {
    const res = await gateway.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlResult<T>;
  };
  return { gateway, keys, gql: gql as TestGateway['gql'] };
}

const CONTAINS = [0, 3, 7, 11, 19, 42, 64, 79];
const SET_QUESTIONS = `query($tz: String, $p: PeriodInput!, $g: Granularity!, $from: DateTime!, $to: DateTime!) {
  a: count(set: { event: { name: "ev:a", period: $p } }, timeZone: $tz)
  diff: count(set: { minus: { from: { event: { name: "ev:a", period: $p } }, subtract: [{ event: { name: "ev:b", period: $p } }] } }, timeZone: $tz)
  both: members(set: { and: [{ event: { name: "ev:a", period: $p } }, { event: { name: "ev:b", period: $p, shift: -1 } }] }, first: 1000, timeZone: $tz) { ids hasMore }
  range: count(set: { range: { name: "ev:b", granularity: $g, from: $from, to: $to } }, timeZone: $tz)
  has: hasEvents(set: { and: [{ event: { name: "ev:a", period: $p } }, { event: { name: "ev:b", period: $p } }] }, timeZone: $tz)
  none: hasEvents(set: { event: { name: "ev:none", period: $p } }, timeZone: $tz)
  ${CONTAINS.map((u) => `c${u}: contains(set: { event: { name: "ev:a", period: $p } }, userId: ${u}, timeZone: $tz)`).join('\n  ')}
  breakdown: countBreakdown(prefix: "ev:", period: $p, timeZone: $tz) { name count }
}`;
type SetAnswers = {
  a: number;
  diff: number;
  both: { ids: number[]; hasMore: boolean };
  range: number;
  has: boolean;
  none: boolean;
  breakdown: Array<{ name: string; count: number }>;
} & Record<string, unknown>;

const CASES: Array<[zone: string, g: G, date: string]> = [
  [NY, 'DAY', '2026-03-07'],
  [NY, 'DAY', '2026-03-08'], // 23 hours
  [NY, 'DAY', '2026-03-09'],
  [NY, 'DAY', '2026-10-31'],
  [NY, 'DAY', '2026-11-01'], // 25 hours
  [NY, 'DAY', '2026-11-02'],
  [NY, 'WEEK', '2026-03-10'],
  [NY, 'WEEK', '2026-11-04'],
  [NY, 'MONTH', '2026-03-15'],
  [NY, 'MONTH', '2026-11-05'],
  [KOLKATA, 'DAY', '2026-03-01'],
  [KOLKATA, 'DAY', '2026-03-10'],
  [KOLKATA, 'DAY', '2026-11-01'],
  [KOLKATA, 'WEEK', '2026-03-10'],
  [KOLKATA, 'MONTH', '2026-03-15'],
  [KOLKATA, 'MONTH', '2026-11-05'],
];

for (const engine of ENGINES) {
  describe(`set questions in a time zone (${engine})`, () => {
    let t: TestGateway;
    const marks = randomMarks(20261101, 1600);
    // c: hour keys but no minute keys; d: neither. Both at 18:45 UTC, inside a Kolkata day's edge hour.
    const c: Mark[] = [
      { name: 'c', userId: 1, ms: Date.parse('2026-03-09T18:45:00Z') },
      { name: 'c', userId: 2, ms: Date.parse('2026-03-20T06:00:00Z') },
    ];
    const d: Mark[] = [{ name: 'd', userId: 1, ms: Date.parse('2026-03-09T18:45:00Z') }];

    beforeAll(async () => {
      t = await testGateway({ engine, now: NOW, config: { trackHourly: true, trackMinutely: true, maxBreakdownValues: 10 } });
      await mark(t, marks, { trackHourly: true, trackMinutely: true });
      await mark(t, c, { trackHourly: true, trackMinutely: false });
      await mark(t, d, { trackHourly: false, trackMinutely: false });
    });
    afterAll(() => t.close());

    for (const [zone, g, date] of CASES) {
      it(`${g} ${date} in ${zone}: count, minus, members with a shifted period, range, hasEvents, contains, countBreakdown`, async () => {
        const period = { at: { granularity: g, date } };
        const label = labelOfDate(g, date);
        const from = dateBefore(g, date);
        const r = ok(await t.gql<SetAnswers>(SET_QUESTIONS, { tz: zone, p: period, g, from, to: date }));
        const a = users(marks, 'ev:a', g, label, zone);
        const b = users(marks, 'ev:b', g, label, zone);
        const bBefore = users(marks, 'ev:b', g, labelOfDate(g, from), zone);
        expect(a.size, 'the reference has marks in the period').toBeGreaterThan(0);
        expect(r.a).toBe(a.size);
        expect(r.diff).toBe(minus(a, b).size);
        expect(r.both).toEqual({ ids: sorted(inter(a, bBefore)), hasMore: false });
        expect(r.range).toBe(new Set([...bBefore, ...b]).size);
        expect(r.has).toBe(inter(a, b).size > 0);
        expect(r.none).toBe(false);
        for (const u of CONTAINS) expect(r[`c${u}`], `user ${u}`).toBe(a.has(u));
        expect(new Map(r.breakdown.map((x) => [x.name, x.count]))).toEqual(new Map([['ev:a', a.size], ['ev:b', b.size]]));
        // The same period in the storage zone is (but for a whole-hours-apart day that happens to match) a different answer: the zone is used.
        if (g === 'DAY') {
          const utc = ok(await t.gql<SetAnswers>(SET_QUESTIONS, { tz: null, p: period, g, from, to: date }));
          expect(utc.a).toBe(users(marks, 'ev:a', g, label, 'UTC').size);
        }
      });
    }

    it('seriesBreakdown by New York and Kolkata days: every value, every point, labels of the zone', async () => {
      const q = `query($tz: String) { seriesBreakdown(prefix: "ev:", granularity: DAY, from: "2026-10-30", to: "2026-11-03", timeZone: $tz) { name total points { period { label start } count } } }`;
      type B = { seriesBreakdown: Array<{ name: string; total: number; points: Array<{ period: { label: string; start: string }; count: number }> }> };
      for (const zone of [NY, KOLKATA]) {
        const rows = ok(await t.gql<B>(q, { tz: zone })).seriesBreakdown;
        expect(rows.map((x) => x.name).sort()).toEqual(['ev:a', 'ev:b']);
        for (const row of rows) {
          expect(row.points.map((p) => p.period.label)).toEqual(['2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02', '2026-11-03']);
          for (const p of row.points) {
            expect(localDay(Date.parse(p.period.start), zone)).toBe(p.period.label);
            expect(localDay(Date.parse(p.period.start) - 1000, zone)).not.toBe(p.period.label);
            expect(p.count, `${zone} ${row.name} ${p.period.label}`).toBe(users(marks, row.name, 'DAY', p.period.label, zone).size);
          }
          expect(row.total).toBe(row.points.reduce((s, p) => s + p.count, 0));
        }
      }
    });

    it('series, cohort and funnel in Kolkata answer from minute keys at the edges too', async () => {
      const days = ['2026-03-08', '2026-03-09', '2026-03-10', '2026-03-11'];
      const s = ok(
        await t.gql<{ series: Array<{ period: { label: string }; count: number }> }>(
          `{ series(set: { event: { name: "ev:a" } }, granularity: DAY, from: "${days[0]}", to: "${days[3]}", timeZone: "${KOLKATA}") { period { label } count } }`,
        ),
      ).series;
      expect(s.map((p) => p.period.label)).toEqual(days);
      for (const p of s) expect(p.count, p.period.label).toBe(users(marks, 'ev:a', 'DAY', p.period.label, KOLKATA).size);
      const f = ok(
        await t.gql<{ funnel: Array<{ count: number }> }>(`{ funnel(timeZone: "${KOLKATA}", steps: [
          { event: { name: "ev:a", period: { at: { granularity: DAY, date: "2026-03-09" } } } },
          { range: { name: "ev:b", granularity: DAY, from: "2026-03-10", to: "2026-03-11" } }
        ]) { count } }`),
      ).funnel;
      const s1 = users(marks, 'ev:a', 'DAY', '2026-03-09', KOLKATA);
      const s2 = new Set([...users(marks, 'ev:b', 'DAY', '2026-03-10', KOLKATA), ...users(marks, 'ev:b', 'DAY', '2026-03-11', KOLKATA)]);
      expect(f.map((x) => x.count)).toEqual([s1.size, inter(s1, s2).size]);
      const c = ok(
        await t.gql<{ cohort: { rows: Array<{ period: { label: string }; size: number; cells: Array<number | null> }> } }>(
          `{ cohort(cohort: { event: { name: "ev:a" } }, activity: { event: { name: "ev:b" } }, granularity: DAY, from: "${days[0]}", rows: 3, columns: 2, timeZone: "${KOLKATA}") { rows { period { label } size cells } } }`,
        ),
      ).cohort.rows;
      c.forEach((row, r) => {
        expect(row.period.label).toBe(days[r]);
        const cohortSet = users(marks, 'ev:a', 'DAY', days[r]!, KOLKATA);
        expect(row.size).toBe(cohortSet.size);
        row.cells.forEach((cell, k) => {
          const act = users(marks, 'ev:b', 'DAY', days[r + k]!, KOLKATA);
          expect(cell, `${days[r]}+${k}`).toBe(cohortSet.size === 0 || act.size === 0 ? null : inter(cohortSet, act).size);
        });
      });
    });

    it('the keys read: a Kolkata day is minute keys at its two ends, hour keys between, and the checks of those hours and days', async () => {
      const rec = await recordingGateway(t);
      try {
        const q = `{ count(set: { event: { name: "ev:a", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, timeZone: "${KOLKATA}") }`;
        const n = ok(await rec.gql<{ count: number }>(q)).count;
        expect(n).toBe(users(marks, 'ev:a', 'DAY', '2026-03-10', KOLKATA).size);
        const k = (suffix: string): string => `${t.prefix}ev:a_${suffix}`;
        const expected = new Set<string>();
        // Kolkata's 2026-03-10 is 2026-03-09T18:30Z to 2026-03-10T18:30Z.
        for (let m = 30; m < 60; m++) expected.add(k(`m2026-3-9-18-${m}`));
        for (let h = 19; h < 24; h++) expected.add(k(`2026-3-9-${h}`));
        for (let h = 0; h < 18; h++) expected.add(k(`2026-3-10-${h}`));
        for (let m = 0; m < 30; m++) expected.add(k(`m2026-3-10-18-${m}`));
        // Checks: each storage day whose hours are read against its 24 hour keys; each hour whose minutes are read against its 60.
        for (const day of ['2026-3-9', '2026-3-10']) {
          expected.add(k(day));
          for (let h = 0; h < 24; h++) expected.add(k(`${day}-${h}`));
          for (let m = 0; m < 60; m++) expected.add(k(`m${day}-18-${m}`));
        }
        expect([...rec.keys].sort()).toEqual([...expected].sort());

        // A New York day reads no minute key: its ends are on storage hours.
        rec.keys.clear();
        ok(await rec.gql(`{ count(set: { event: { name: "ev:a", period: { at: { granularity: DAY, date: "2026-03-08" } } } }, timeZone: "${NY}") }`));
        expect([...rec.keys].filter((key) => key.includes('_m'))).toEqual([]);
        expect(rec.keys.has(k('2026-3-8-5'))).toBe(true);
      } finally {
        await rec.gateway.close();
      }
    });

    it('MINUTES_NOT_TRACKED names the event and the storage hour; HOURS_NOT_TRACKED comes first for marks without hour keys', async () => {
      const count = (name: string, date: string, zone: string | null = KOLKATA) =>
        t.gql(`query($tz: String) { count(set: { event: { name: "${name}", period: { at: { granularity: DAY, date: "${date}" } } } }, timeZone: $tz) }`, { tz: zone });
      for (const date of ['2026-03-09', '2026-03-10']) {
        const r = await count('c', date);
        expect(code(r)).toBe('MINUTES_NOT_TRACKED');
        expect(r.errors![0]!.extensions).toMatchObject({ event: 'c', hour: '2026-03-09T18', timeZone: KOLKATA, storageTimeZone: 'UTC' });
      }
      for (const q of [
        `{ hasEvents(set: { event: { name: "c", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, timeZone: "${KOLKATA}") }`,
        `{ members(set: { event: { name: "c", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, timeZone: "${KOLKATA}") { ids } }`,
        `{ contains(set: { event: { name: "c", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, userId: 1, timeZone: "${KOLKATA}") }`,
        `{ countBreakdown(prefix: "c", period: { at: { granularity: DAY, date: "2026-03-10" } }, timeZone: "${KOLKATA}") { count } }`,
      ]) {
        expect(code(await t.gql(q))).toBe('MINUTES_NOT_TRACKED');
      }
      // A Kolkata day whose edge hours hold no mark of c answers from hour keys; New York needs none of c's minutes; UTC reads its day key.
      expect(ok(await count('c', '2026-03-20')).count).toBe(1);
      expect(ok(await count('c', '2026-03-09', NY)).count).toBe(1);
      expect(ok(await count('c', '2026-03-09', null)).count).toBe(1);
      const h = await count('d', '2026-03-10');
      expect(code(h)).toBe('HOURS_NOT_TRACKED');
      expect(h.errors![0]!.extensions).toMatchObject({ event: 'd', day: '2026-03-09' });
      // Still up.
      expect(ok(await count('ev:a', '2026-03-10')).count).toBe(users(marks, 'ev:a', 'DAY', '2026-03-10', KOLKATA).size);
    });

    it('TIME_ZONE_UNALIGNED only where neither hour nor minute keys can answer', async () => {
      // Kolkata in 1900 was +5:53:20: its days end inside a storage minute.
      const old = await t.gql(`{ count(set: { event: { name: "ev:a", period: { at: { granularity: DAY, date: "1900-06-10" } } } }, timeZone: "${KOLKATA}") }`);
      expect(code(old)).toBe('TIME_ZONE_UNALIGNED');
      expect(old.errors![0]!.extensions).toMatchObject({ reason: 'offset', timeZone: KOLKATA });
      // MINUTE periods are asked in the storage zone only.
      const minute = await t.gql(`{ count(set: { event: { name: "ev:a", period: { current: MINUTE } } }, timeZone: "${KOLKATA}") }`);
      expect(code(minute)).toBe('TIME_ZONE_UNALIGNED');
      expect(minute.errors![0]!.extensions).toMatchObject({ reason: 'granularity' });
      // Counters read minute hashes at such edges (checked against their hour hash), and are refused as events are: a MINUTE period.
      expect(ok(await t.gql<{ counters: unknown[] }>(`{ counters(name: "x", period: { current: DAY }, timeZone: "${KOLKATA}") { key } }`)).counters).toEqual([]);
      expect(code(await t.gql(`{ counters(name: "x", period: { current: MINUTE }, timeZone: "${KOLKATA}") { key } }`))).toBe('TIME_ZONE_UNALIGNED');
      expect(ok(await t.gql<{ count: number }>(`{ count(set: { event: { name: "ev:a", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, timeZone: "${KOLKATA}") }`)).count).toBeGreaterThan(0);
    });
  });
}

describe('set questions in a time zone: cost, a DST storage zone, live', () => {
  it('the cost from the shape prices minute keys and checks for Kolkata, and refuses before any program runs', async () => {
    const t = await testGateway({ engine: 'redis', now: NOW, config: { trackHourly: true, trackMinutely: true } });
    const rec = await recordingGateway(t, { maxCost: 200 });
    try {
      await mark(t, randomMarks(5, 200), { trackHourly: true, trackMinutely: true });
      const q = (zone: string) => `{ count(set: { event: { name: "ev:a", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, timeZone: "${zone}") }`;
      // New York: at most 25 hour keys and two days' checks; fits in 200.
      ok(await rec.gql(q(NY)));
      rec.keys.clear();
      const r = await rec.gql(q(KOLKATA));
      expect(code(r)).toBe('TOO_COMPLEX');
      expect(rec.keys.size).toBe(0); // refused before a key was read
      // What it would have read (60 minute keys, 23 hour keys, 2 day checks of 25, 2 hour checks of 61) is within the price.
      const cost = r.errors![0]!.extensions!.cost as number;
      expect(cost).toBeGreaterThanOrEqual(60 + 23 + 2 * 25 + 2 * 61);
      const full = await recordingGateway(t);
      try {
        ok(await full.gql(q(KOLKATA)));
        expect(cost).toBeGreaterThanOrEqual(full.keys.size);
      } finally {
        await full.gateway.close();
      }
      // A breakdown is priced as MAX_BREAKDOWN_VALUES values, before its scan.
      const b = await rec.gql(`{ countBreakdown(prefix: "ev:", period: { at: { granularity: DAY, date: "2026-03-10" } }, timeZone: "${KOLKATA}") { count } }`);
      expect(code(b)).toBe('TOO_COMPLEX');
      expect(ok(await rec.gql<{ count: number }>(`{ count(set: { event: { name: "ev:a", period: { at: { granularity: DAY, date: "2026-03-10" } } } }) }`)).count).toBeGreaterThanOrEqual(0);
    } finally {
      await rec.gateway.close();
      await t.close();
    }
  });

  it('storage in Europe/Amsterdam: Kolkata hours answer from minute keys, except one inside the hour Amsterdam repeats', async () => {
    const t = await testGateway({ engine: 'embedded', now: NOW, config: { trackHourly: true, trackMinutely: true, timeZone: 'Europe/Amsterdam' } });
    try {
      const marks = randomMarks(11, 600);
      await mark(t, marks, { trackHourly: true, trackMinutely: true });
      const q = `query($p: PeriodInput!) { count(set: { event: { name: "ev:b", period: $p } }, timeZone: "${KOLKATA}") }`;
      for (const date of ['2026-10-26', '2026-11-01', '2026-10-24']) {
        const n = ok(await t.gql<{ count: number }>(q, { p: { at: { granularity: 'DAY', date } } })).count;
        expect(n, date).toBe(users(marks, 'ev:b', 'DAY', date, KOLKATA).size);
      }
      // Kolkata's 06:00 on 2026-10-25 is 00:30 UTC: 02:30 in Amsterdam, an hour it has twice that night.
      const cut = await t.gql(q, { p: { at: { granularity: 'HOUR', date: '2026-10-25T06:00' } } });
      expect(code(cut)).toBe('TIME_ZONE_UNALIGNED');
      expect(cut.errors![0]!.extensions).toMatchObject({ reason: 'repeated-hour' });
      // The Kolkata day holding it ends at 18:30 UTC: it answers.
      expect(ok(await t.gql<{ count: number }>(q, { p: { at: { granularity: 'DAY', date: '2026-10-25' } } })).count).toBe(users(marks, 'ev:b', 'DAY', '2026-10-25', KOLKATA).size);
    } finally {
      await t.close();
    }
  });

  it('a live count in Kolkata: its first answer, and the next after a mark inside the minute-keyed edge', async () => {
    const t = await testGateway({ engine: 'redis', now: NOW, config: { trackHourly: true, trackMinutely: true } });
    const controller = new AbortController();
    try {
      const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
        body: JSON.stringify({ query: `subscription { count(set: { event: { name: "live", period: { at: { granularity: DAY, date: "2026-03-10" } } } }, timeZone: "${KOLKATA}") }` }),
      });
      const stream = events(res.body!);
      expect((await stream.next()).value!.data!.count).toBe(0);
      // 18:40 UTC on 2026-03-09 is 00:10 on 2026-03-10 in Kolkata: its minute key is one the question reads.
      await mark(t, [{ name: 'live', userId: 9, ms: Date.parse('2026-03-09T18:40:00Z') }], { trackHourly: true, trackMinutely: true });
      expect((await stream.next()).value!.data!.count).toBe(1);
    } finally {
      controller.abort();
      await t.close();
    }
  });
});
