// Breakdowns on both engines, against plain-JS Sets and sums of the marks and increments sent:
// counts and series per value, the `set` filter, a counter's top keys and "other", one engine
// round trip, MAX_BREAKDOWN_VALUES and the cost priced before the scan.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputValue, Program } from '../../src/bitmap/program.ts';
import { ENGINES, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';

const NOW = Date.parse('2027-01-20T12:00:00Z');
const DAY_MS = 86_400_000;
const TODAY = Math.floor(NOW / DAY_MS);
const DAYS = 45; // marks on the 45 days ending today
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const INCS = 'mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }';
const PREFIX = 'launch:provider:';
const PROVIDERS = ['gh', 'gl', 'zenodo', 'dataverse', 'git', 'figshare'];
const MANY = Array.from({ length: 20 }, (_, i) => `many:v${String(i).padStart(2, '0')}`);
const SONGS = Array.from({ length: 8 }, (_, i) => `song-${i}`);

interface Point {
  period: { label: string };
  count: number;
  average: number | null;
}
interface SeriesRow {
  name: string;
  value: string;
  total: number;
  points: Point[];
}
interface CounterRow {
  key: string | null;
  other: boolean;
  total: number;
  points: Point[];
}

const label = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
const days = (first: number, last: number): number[] => Array.from({ length: last - first + 1 }, (_, i) => first + i);
const byTotal = <T>(total: (x: T) => number, name: (x: T) => string) => (a: T, b: T): number =>
  total(b) - total(a) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.each(ENGINES)('breakdowns (%s engine)', (engine) => {
  let t: TestGateway;
  /** Users of an event on a day number. */
  const users = new Map<string, Set<number>>();
  /** Counter "plays": key -> day -> sum. */
  const plays = new Map<string, Map<number, number>>();
  const usersOf = (name: string, day: number): ReadonlySet<number> => users.get(`${name} ${day}`) ?? new Set();
  const monthUsers = (name: string): Set<number> => {
    const out = new Set<number>();
    for (const day of days(Math.floor(Date.UTC(2027, 0, 1) / DAY_MS), TODAY)) for (const u of usersOf(name, day)) out.add(u);
    return out;
  };
  const active = (day: number): ReadonlySet<number> => usersOf('active', day);
  const playsOf = (key: string, day: number): number => plays.get(key)?.get(day) ?? 0;

  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
    const r = rng(1616);
    const input: Array<{ name: string; userId: number; at: string }> = [];
    const mark = (name: string, userId: number, day: number): void => {
      input.push({ name, userId, at: new Date(day * DAY_MS + Math.floor(r() * DAY_MS)).toISOString() });
      const k = `${name} ${day}`;
      (users.get(k) ?? users.set(k, new Set()).get(k)!).add(userId);
    };
    for (const day of days(TODAY - DAYS + 1, TODAY)) {
      // Providers of very different sizes, so the order by total is not the order by name.
      PROVIDERS.forEach((p, i) => {
        const n = Math.floor(r() * (3 + 6 * i));
        for (let k = 0; k < n; k++) mark(`${PREFIX}${p}`, Math.floor(r() * 60), day);
      });
      for (let k = 0; k < 25; k++) mark('active', Math.floor(r() * 60), day);
      mark('launch:other', Math.floor(r() * 60), day); // outside the prefix
      for (const name of MANY) if (r() < 0.6) mark(name, Math.floor(r() * 40), day);
    }
    expect(ok(await t.gql(MARKS, { in: input }))).toEqual({ markEvents: { marked: input.length } });

    const incs: Array<{ name: string; key: string; by: number; at: string }> = [];
    for (const day of days(TODAY - 20, TODAY)) {
      SONGS.forEach((key, i) => {
        if (r() < 0.3) return;
        const by = 1 + Math.floor(r() * (2 + 3 * i));
        incs.push({ name: 'plays', key, by, at: new Date(day * DAY_MS + 3_600_000).toISOString() });
        const m = plays.get(key) ?? plays.set(key, new Map()).get(key)!;
        m.set(day, (m.get(day) ?? 0) + by);
      });
    }
    expect(ok(await t.gql(INCS, { in: incs }))).toEqual({ incrementCounters: { incremented: incs.length } });
  });
  afterAll(() => t.close());

  it('counts every event under the prefix in a period, highest first, with and without a set filter', async () => {
    const d = ok(
      await t.gql<Record<string, Array<{ name: string; value: string; count: number }>>>(`{
        month: countBreakdown(prefix: "${PREFIX}", period: { current: MONTH }) { name value count }
        day: countBreakdown(prefix: "${PREFIX}", period: { at: { granularity: DAY, date: "${label(TODAY - 3)}" } }) { name value count }
        activeToday: countBreakdown(
          prefix: "${PREFIX}", period: { current: DAY }, set: { event: { name: "active", period: { current: DAY } } }
        ) { name value count }
      }`),
    );
    const expected = (countOf: (name: string) => number) =>
      PROVIDERS.map((p) => ({ name: `${PREFIX}${p}`, value: p, count: countOf(`${PREFIX}${p}`) })).sort(byTotal((x) => x.count, (x) => x.name));
    expect(d.month).toEqual(expected((n) => monthUsers(n).size));
    expect(d.day).toEqual(expected((n) => usersOf(n, TODAY - 3).size));
    expect(d.activeToday).toEqual(expected((n) => [...usersOf(n, TODAY)].filter((u) => active(TODAY).has(u)).length));
    expect(d.month!.some((x) => x.count > 0) && d.activeToday!.some((x) => x.count > 0)).toBe(true);
    // Sorted by count, which here is not the order of names.
    expect(d.month!.map((x) => x.name)).not.toEqual([...d.month!.map((x) => x.name)].sort());
  });

  it('gives every value a series with its rolling average, filtered by a set bound to each point', async () => {
    const d = ok(
      await t.gql<{ all: SeriesRow[]; active: SeriesRow[] }>(`{
        all: seriesBreakdown(prefix: "${PREFIX}", granularity: DAY, last: 14, rollingAverage: 7) {
          name value total points { period { label } count average }
        }
        active: seriesBreakdown(prefix: "${PREFIX}", set: { event: { name: "active" } }, granularity: DAY, from: "${label(TODAY - 9)}", to: "${label(TODAY - 2)}") {
          name value total points { period { label } count average }
        }
      }`),
    );
    const expected = (ps: number[], countOf: (name: string, day: number) => number, window: number | null) =>
      PROVIDERS.map((p) => {
        const name = `${PREFIX}${p}`;
        const points = ps.map((day) => ({
          period: { label: label(day) },
          count: countOf(name, day),
          average: window === null ? null : mean(days(day - window + 1, day).map((x) => countOf(name, x))),
        }));
        return { name, value: p, total: points.reduce((s, x) => s + x.count, 0), points };
      }).sort(byTotal((x) => x.total, (x) => x.name));
    const check = (got: SeriesRow[], want: SeriesRow[]): void => {
      expect(got.map(({ name, value, total }) => ({ name, value, total }))).toEqual(want.map(({ name, value, total }) => ({ name, value, total })));
      got.forEach((row, i) => {
        expect(row.points.map((p) => [p.period.label, p.count])).toEqual(want[i]!.points.map((p) => [p.period.label, p.count]));
        row.points.forEach((p, k) => {
          const a = want[i]!.points[k]!.average;
          if (a === null) expect(p.average).toBeNull();
          else expect(p.average).toBeCloseTo(a, 9);
        });
      });
      expect(want.some((x) => x.total > 0)).toBe(true);
    };
    check(d.all, expected(days(TODAY - 13, TODAY), (n, day) => usersOf(n, day).size, 7));
    check(d.active, expected(days(TODAY - 9, TODAY - 2), (n, day) => [...usersOf(n, day)].filter((u) => active(day).has(u)).length, null));
  });

  it('answers a breakdown of 20 values × 30 days in one engine round trip', async () => {
    const run = t.engine.run.bind(t.engine);
    let calls = 0;
    t.engine.run = (p: Program): Promise<OutputValue[]> => {
      calls++;
      return run(p);
    };
    // One breakdown field is one round trip once its names are listed (two fields list their
    // names apart, so their questions may meet in one batch or in two).
    let d: { s: SeriesRow[] };
    try {
      d = ok(
        await t.gql<{ s: SeriesRow[] }>(`{
          s: seriesBreakdown(prefix: "many:", granularity: DAY, last: 30) { name value total points { period { label } count } }
        }`),
      );
    } finally {
      t.engine.run = run;
    }
    expect(calls).toBe(1);
    expect(d.s).toHaveLength(20);
    const ps = days(TODAY - 29, TODAY);
    const want = MANY.map((name) => {
      const counts = ps.map((day) => usersOf(name, day).size);
      return { name, value: name.slice('many:'.length), total: counts.reduce((a, b) => a + b, 0), counts };
    }).sort(byTotal((x) => x.total, (x) => x.name));
    expect(d.s.map((x) => [x.name, x.value, x.total, x.points.map((p) => p.count)])).toEqual(want.map((x) => [x.name, x.value, x.total, x.counts]));
    expect(d.s[0]!.points.map((p) => p.period.label)).toEqual(ps.map(label));
    expect(ok(await t.gql<{ c: unknown[] }>('{ c: countBreakdown(prefix: "many:", period: { current: WEEK }) { name count } }')).c).toHaveLength(20);
  });

  it('answers [] for a prefix nothing starts with', async () => {
    const d = ok(
      await t.gql<{ c: unknown[]; s: unknown[] }>(`{
        c: countBreakdown(prefix: "nothing:here:", period: { current: DAY }) { name }
        s: seriesBreakdown(prefix: "nothing:here:", granularity: DAY, last: 7) { name }
      }`),
    );
    expect(d).toEqual({ c: [], s: [] });
  });

  it('gives a counter’s top keys over the range as series, then the rest as "other"', async () => {
    const d = ok(
      await t.gql<{ b: CounterRow[]; one: CounterRow[] }>(`{
        b: counterBreakdown(name: "plays", top: 3, granularity: DAY, last: 10, rollingAverage: 3) {
          key other total points { period { label } count average }
        }
        one: counterBreakdown(name: "plays", top: 1, granularity: WEEK, last: 2) { key other total points { count } }
      }`),
    );
    const ps = days(TODAY - 9, TODAY);
    const totalOver = (key: string, span: number[]) => span.reduce((s, day) => s + playsOf(key, day), 0);
    const top = [...SONGS].sort(byTotal((k) => totalOver(k, ps), (k) => k)).slice(0, 3);
    const rest = SONGS.filter((k) => !top.includes(k));
    const series = (countOf: (day: number) => number) => ({
      total: ps.reduce((s, day) => s + countOf(day), 0),
      points: ps.map((day) => ({ period: { label: label(day) }, count: countOf(day), average: mean(days(day - 2, day).map(countOf)) })),
    });
    const want = [
      ...top.map((key) => ({ key, other: false, ...series((day) => playsOf(key, day)) })),
      { key: null, other: true, ...series((day) => rest.reduce((s, k) => s + playsOf(k, day), 0)) },
    ];
    expect(d.b.map((x) => [x.key, x.other, x.total, x.points.map((p) => [p.period.label, p.count])])).toEqual(
      want.map((x) => [x.key, x.other, x.total, x.points.map((p) => [p.period.label, p.count])]),
    );
    d.b.forEach((row, i) => row.points.forEach((p, k) => expect(p.average).toBeCloseTo(want[i]!.points[k]!.average, 9)));
    expect(want.at(-1)!.total).toBeGreaterThan(0);
    // Other is the total less the top keys, point by point.
    ps.forEach((day, k) => {
      const total = SONGS.reduce((s, key) => s + playsOf(key, day), 0);
      expect(d.b.at(-1)!.points[k]!.count).toBe(total - top.reduce((s, key) => s + playsOf(key, day), 0));
    });
    // Weeks: the two ISO weeks ending with this one.
    expect(d.one).toHaveLength(2);
    expect(d.one[0]!.total + d.one[1]!.total).toBe(SONGS.reduce((s, key) => s + totalOver(key, days(TODAY - 20, TODAY).filter((x) => x >= mondayBefore(TODAY) - 7)), 0));
  });

  it('refuses more values than MAX_BREAKDOWN_VALUES with TOO_COMPLEX, and still answers after', async () => {
    const small = await testGateway({ engine, now: NOW, config: { maxBreakdownValues: 5 } });
    try {
      const names = Array.from({ length: 6 }, (_, i) => ({ name: `wide:${i}`, userId: i }));
      ok(await small.gql(MARKS, { in: names }));
      for (const q of [
        '{ countBreakdown(prefix: "wide:", period: { current: DAY }) { name } }',
        '{ seriesBreakdown(prefix: "wide:", granularity: DAY, last: 3) { name } }',
        '{ counterBreakdown(name: "plays", top: 6, granularity: DAY, last: 3) { key } }',
      ]) {
        const r = await small.gql(q);
        expect(code(r)).toBe('TOO_COMPLEX');
        expect(r.errors![0]!.extensions).toMatchObject({ limit: 5 });
      }
      ok(await small.gql(MARKS, { in: [{ name: 'narrow:x', userId: 1 }] }));
      const after = ok(await small.gql<{ countBreakdown: Array<{ value: string; count: number }> }>('{ countBreakdown(prefix: "narrow:", period: { current: DAY }) { value count } }'));
      expect(after.countBreakdown).toEqual([{ value: 'x', count: 1 }]);
    } finally {
      await small.close();
    }
  });

  it('refuses bad arguments with their codes, and still answers after', async () => {
    const cases: Array<[string, string]> = [
      ['{ countBreakdown(prefix: "has space", period: { current: DAY }) { name } }', 'BAD_EVENT_NAME'],
      ['{ countBreakdown(prefix: "launch:", period: { current: DAY }, set: { event: { name: "active" } }) { name } }', 'MISSING_PERIOD'],
      ['{ seriesBreakdown(prefix: "launch:", granularity: DAY, last: 3, rollingAverage: 0) { name } }', 'BAD_INPUT'],
      ['{ seriesBreakdown(prefix: "launch:", granularity: DAY, last: 5000) { name } }', 'TOO_COMPLEX'],
      ['{ counterBreakdown(name: "plays", top: 0, granularity: DAY, last: 3) { key } }', 'BAD_INPUT'],
      ['{ counterBreakdown(name: "plays", top: 101, granularity: DAY, last: 3) { key } }', 'TOO_COMPLEX'],
    ];
    for (const [q, want] of cases) expect(code(await t.gql(q)), q).toBe(want);
    const d = ok(await t.gql<{ countBreakdown: unknown[] }>(`{ countBreakdown(prefix: "${PREFIX}", period: { current: DAY }) { name } }`));
    expect(d.countBreakdown).toHaveLength(PROVIDERS.length);
  });

  it('prices a breakdown as MAX_BREAKDOWN_VALUES values before the scan', async () => {
    // 100 values × 30 points = 3000 > 2000, however few events match.
    const priced = await testGateway({ engine, now: NOW, config: { maxCost: 2000 } });
    try {
      const r = await priced.gql('{ seriesBreakdown(prefix: "nothing:", granularity: DAY, last: 30) { name } }');
      expect(code(r)).toBe('TOO_COMPLEX');
      expect(r.errors![0]!.extensions).toMatchObject({ cost: 3000, limit: 2000 });
      expect(ok(await priced.gql('{ seriesBreakdown(prefix: "nothing:", granularity: DAY, last: 20) { name } }'))).toEqual({ seriesBreakdown: [] });
    } finally {
      await priced.close();
    }
  });
});

/** Day number of the Monday of the ISO week of a day (day 0, 1970-01-01, was a Thursday). */
const mondayBefore = (day: number): number => day - ((day + 3) % 7);
