// Series through GraphQL on both engines, against an evaluator of our own over plain Sets: every
// granularity, bound and shifted leaves, fixed periods and ranges, rolling averages, limits, and
// one engine round trip for a whole dashboard request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputValue, Program } from '../../src/bitmap/program.ts';
import { ENGINES, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';

const NOW = Date.parse('2027-01-20T12:00:00Z');
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';

interface Point {
  period: { label: string };
  count: number;
  average: number | null;
}



// ---- An evaluator of our own: plain UTC arithmetic, nothing from src/. ----

const DAY_MS = 86_400_000;
type G = 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';
const pad = (n: number): string => String(n).padStart(2, '0');
const dayNumber = (ms: number): number => Math.floor(ms / DAY_MS);
/** Day 0 (1970-01-01) was a Thursday; the ISO week starts on the Monday before. */
const mondayOf = (day: number): number => day - ((day + 3) % 7);

/** A period as one number: day number, Monday's day number, year*12+month0, or the year. */
function periodOf(g: G, ms: number): number {
  const d = new Date(ms);
  if (g === 'DAY') return dayNumber(ms);
  if (g === 'WEEK') return mondayOf(dayNumber(ms));
  if (g === 'MONTH') return d.getUTCFullYear() * 12 + d.getUTCMonth();
  return d.getUTCFullYear();
}
const step = (g: G, p: number, k: number): number => p + (g === 'WEEK' ? 7 * k : k);

function label(g: G, p: number): string {
  if (g === 'DAY') return new Date(p * DAY_MS).toISOString().slice(0, 10);
  if (g === 'MONTH') return `${Math.floor(p / 12)}-${pad((p % 12) + 1)}`;
  if (g === 'YEAR') return String(p);
  const thursday = p + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  return `${year}-W${pad(Math.floor((thursday - dayNumber(Date.UTC(year, 0, 1))) / 7) + 1)}`;
}

/** The periods first..last (inclusive) of a granularity. */
function periods(g: G, first: number, last: number): number[] {
  const out: number[] = [];
  for (let p = first; p <= last; p = step(g, p, 1)) out.push(p);
  return out;
}

type Mark = { name: string; userId: number; ms: number };
const EMPTY: ReadonlySet<number> = new Set();
const and = (...s: ReadonlyArray<ReadonlySet<number>>): Set<number> => new Set([...s[0]!].filter((x) => s.every((y) => y.has(x))));
const or = (...s: ReadonlyArray<ReadonlySet<number>>): Set<number> => new Set(s.flatMap((x) => [...x]));

/** Users of `name` in period p of granularity g. */
function evaluator(marks: readonly Mark[]): (name: string, g: G, p: number) => ReadonlySet<number> {
  const ix = new Map<string, Set<number>>();
  for (const m of marks) {
    for (const g of ['DAY', 'WEEK', 'MONTH', 'YEAR'] as const) {
      const k = `${m.name} ${g} ${periodOf(g, m.ms)}`;
      (ix.get(k) ?? ix.set(k, new Set()).get(k)!).add(m.userId);
    }
  }
  return (name, g, p) => ix.get(`${name} ${g} ${p}`) ?? EMPTY;
}

/** Each point's mean over the w periods ending with it, earlier periods than the series' first included. */
function rolling(g: G, ps: readonly number[], countOf: (p: number) => number, w: number): number[] {
  return ps.map((p) => Array.from({ length: w }, (_, k) => countOf(step(g, p, -k))).reduce((a, b) => a + b, 0) / w);
}

function expectPoints(got: Point[], g: G, ps: number[], counts: number[], averages?: Array<number | null>): void {
  expect(got.map((p) => p.period.label)).toEqual(ps.map((p) => label(g, p)));
  expect(got.map((p) => p.count)).toEqual(counts);
  const avg = averages ?? counts.map(() => null);
  expect(got.map((p) => p.average === null)).toEqual(avg.map((a) => a === null));
  got.forEach((p, i) => {
    if (p.average !== null) expect(p.average, `average ${i}`).toBeCloseTo(avg[i]!, 9);
  });
  // A series that is all zeros would prove little.
  expect(counts.some((c) => c > 0)).toBe(true);
}

const FIRST = Date.UTC(2026, 9, 20); // 2026-10-20
const DAYS = dayNumber(NOW) - dayNumber(FIRST) + 1; // .. 2027-01-20 (today)

describe.each(ENGINES)('series (%s engine)', (engine) => {
  let t: TestGateway;
  const marks: Mark[] = [];
  let users: (name: string, g: G, p: number) => ReadonlySet<number>;
  const today = dayNumber(NOW);

  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
    const r = rng(90210);
    const n = 150;
    const at = (day: number): number => FIRST + day * DAY_MS + Math.floor(r() * DAY_MS);
    for (let day = 0; day < DAYS; day++) {
      if (r() < 0.85) for (let i = 0; i < 18; i++) marks.push({ name: 'act', userId: Math.floor(r() * n), ms: at(day) });
      for (let i = 0; i < 4; i++) marks.push({ name: 'signup', userId: Math.floor(r() * n), ms: at(day) });
      if (r() < 0.5) for (let i = 0; i < 5; i++) marks.push({ name: 'buy', userId: Math.floor(r() * n), ms: at(day) });
    }
    users = evaluator(marks);
    const input = marks.map((m) => ({ name: m.name, userId: m.userId, at: new Date(m.ms).toISOString() }));
    expect(ok(await t.gql(MARKS, { in: input }))).toEqual({ markEvents: { marked: input.length } });
  });
  afterAll(() => t.close());

  const PT = '{ period { label } count average }';

  it('counts one event per DAY, WEEK, MONTH and YEAR (a year is the union of its months)', async () => {
    const d = ok(
      await t.gql<Record<string, Point[]>>(`{
        day: series(set: { event: { name: "act" } }, granularity: DAY, from: "2026-12-20", to: "2027-01-10") ${PT}
        week: series(set: { event: { name: "act" } }, granularity: WEEK, last: 10) ${PT}
        month: series(set: { event: { name: "act" } }, granularity: MONTH, from: "2026-09-15") ${PT}
        year: series(set: { event: { name: "act" } }, granularity: YEAR, from: "2025-06-01", to: "2027-03-01") ${PT}
        buyYear: series(set: { event: { name: "buy" } }, granularity: YEAR, last: 2) ${PT}
      }`),
    );
    const check = (got: Point[], g: G, ps: number[], name = 'act') => expectPoints(got, g, ps, ps.map((p) => users(name, g, p).size));
    check(d.day!, 'DAY', periods('DAY', dayNumber(Date.UTC(2026, 11, 20)), dayNumber(Date.UTC(2027, 0, 10))));
    const week = mondayOf(today);
    check(d.week!, 'WEEK', periods('WEEK', week - 63, week));
    expect(d.week!.map((p) => p.period.label)).toContain('2026-W53');
    check(d.month!, 'MONTH', periods('MONTH', 2026 * 12 + 8, 2027 * 12 + 0));
    expect(d.month![0]!.count).toBe(0); // September: no data
    check(d.year!, 'YEAR', [2025, 2026, 2027]);
    check(d.buyYear!, 'YEAR', [2026, 2027], 'buy');
    // The union, not a sum: a user active in several months counts once in the year.
    const months2026 = periods('MONTH', 2026 * 12, 2026 * 12 + 11).map((m) => users('act', 'MONTH', m).size);
    expect(d.year![1]!.count).toBeLessThan(months2026.reduce((a, b) => a + b, 0));
  });

  it('binds leaves to each point, with `shift: -1` the period before', async () => {
    const d = ok(
      await t.gql<Record<string, Point[]>>(`{
        twoDays: series(set: { and: [{ event: { name: "act" } }, { event: { name: "act", shift: -1 } }] }, granularity: DAY, last: 40) ${PT}
        returning: series(set: { minus: { from: { event: { name: "act" } }, subtract: [{ event: { name: "signup", shift: -1 } }] } }, granularity: WEEK, last: 12) ${PT}
        either: series(set: { or: [{ event: { name: "buy" } }, { event: { name: "signup", shift: -2 } }] }, granularity: MONTH, last: 4) ${PT}
      }`),
    );
    const days = periods('DAY', today - 39, today);
    expectPoints(d.twoDays!, 'DAY', days, days.map((p) => and(users('act', 'DAY', p), users('act', 'DAY', p - 1)).size));
    const weeks = periods('WEEK', mondayOf(today) - 77, mondayOf(today));
    const minus = (a: ReadonlySet<number>, b: ReadonlySet<number>) => [...a].filter((x) => !b.has(x)).length;
    expectPoints(d.returning!, 'WEEK', weeks, weeks.map((p) => minus(users('act', 'WEEK', p), users('signup', 'WEEK', p - 7))));
    const jan = 2027 * 12;
    const months = periods('MONTH', jan - 3, jan);
    expectPoints(d.either!, 'MONTH', months, months.map((p) => or(users('buy', 'MONTH', p), users('signup', 'MONTH', p - 2)).size));
  });

  it('takes the last 30 periods by default, `last` N, or from..to with `to` defaulting to now', async () => {
    const d = ok(
      await t.gql<Record<string, Point[]>>(`{
        byDefault: series(set: { event: { name: "act" } }, granularity: DAY) ${PT}
        last1: series(set: { event: { name: "act" } }, granularity: DAY, last: 1) ${PT}
        fromOnly: series(set: { event: { name: "act" } }, granularity: DAY, from: "2027-01-15T23:59:59Z") ${PT}
        weekFromTo: series(set: { event: { name: "signup" } }, granularity: WEEK, from: "2026-12-28", to: "2027-01-04") ${PT}
      }`),
    );
    const days = periods('DAY', today - 29, today);
    const act = (g: G) => (p: number) => users('act', g, p).size;
    expectPoints(d.byDefault!, 'DAY', days, days.map(act('DAY')));
    expect(d.byDefault!.at(-1)!.period.label).toBe('2027-01-20');
    expectPoints(d.last1!, 'DAY', [today], [users('act', 'DAY', today).size]);
    const fromOnly = periods('DAY', today - 5, today);
    expectPoints(d.fromOnly!, 'DAY', fromOnly, fromOnly.map(act('DAY')));
    expect(d.weekFromTo!.map((p) => p.period.label)).toEqual(['2026-W53', '2027-W01']);
    const w53 = mondayOf(dayNumber(Date.UTC(2026, 11, 28)));
    expectPoints(d.weekFromTo!, 'WEEK', [w53, w53 + 7], [w53, w53 + 7].map((p) => users('signup', 'WEEK', p).size));
  });

  it('computes rolling averages over the periods before the first point too, so every point has one', async () => {
    const d = ok(
      await t.gql<Record<string, Point[]>>(`{
        w3: series(set: { event: { name: "act" } }, granularity: DAY, from: "2026-12-25", to: "2027-01-08", rollingAverage: 3) ${PT}
        w1: series(set: { event: { name: "buy" } }, granularity: WEEK, last: 6, rollingAverage: 1) ${PT}
        w7: series(set: { event: { name: "act" } }, granularity: DAY, last: 5, rollingAverage: 7) ${PT}
        w5: series(set: { event: { name: "act" } }, granularity: MONTH, last: 5, rollingAverage: 5) ${PT}
      }`),
    );
    const act = (g: G) => (p: number): number => users('act', g, p).size;
    const days = periods('DAY', dayNumber(Date.UTC(2026, 11, 25)), dayNumber(Date.UTC(2027, 0, 8)));
    const c3 = days.map(act('DAY'));
    expectPoints(d.w3!, 'DAY', days, c3, rolling('DAY', days, act('DAY'), 3));
    // The first point's window is 12-23..12-25: two days before the series.
    const before = [days[0]! - 2, days[0]! - 1].map(act('DAY'));
    expect(d.w3![0]!.average).toBeCloseTo((before[0]! + before[1]! + c3[0]!) / 3, 9);

    const weeks = periods('WEEK', mondayOf(today) - 35, mondayOf(today));
    const c1 = weeks.map((p) => users('buy', 'WEEK', p).size);
    expectPoints(d.w1!, 'WEEK', weeks, c1, c1);

    // A window longer than the series: every average reads days before it.
    const last5 = periods('DAY', today - 4, today);
    expectPoints(d.w7!, 'DAY', last5, last5.map(act('DAY')), rolling('DAY', last5, act('DAY'), 7));
    // Months before the data began count 0, as any empty period does.
    const months = periods('MONTH', 2027 * 12 - 4, 2027 * 12);
    expectPoints(d.w5!, 'MONTH', months, months.map(act('MONTH')), rolling('MONTH', months, act('MONTH'), 5));
    expect(d.w5![1]!.average).toBeCloseTo(act('MONTH')(2026 * 12 + 9) / 5, 9); // only 2026-10 of 2026-06..10 had data

    expect(code(await t.gql(`{ series(set: { event: { name: "act" } }, granularity: DAY, last: 3, rollingAverage: 0) { count } }`))).toBe(
      'BAD_INPUT',
    );
    const tooWide = await t.gql(`{ series(set: { event: { name: "act" } }, granularity: DAY, last: 3, rollingAverage: 2001) { count } }`);
    expect(tooWide.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', limit: 2000 });
  });

  it('leaves the average null only where its window would start before the year 0000', async () => {
    const d = ok(
      await t.gql<Record<string, Point[]>>(`{
        s: series(set: { event: { name: "act" } }, granularity: DAY, from: "0000-01-01", to: "0000-01-03", rollingAverage: 2) ${PT}
        y: series(set: { event: { name: "act" } }, granularity: YEAR, from: "0000", to: "0001", rollingAverage: 2) ${PT}
      }`),
    );
    expect(d.s!.map((p) => p.average)).toEqual([null, 0, 0]);
    expect(d.s!.map((p) => p.period.label)).toEqual(['0000-01-01', '0000-01-02', '0000-01-03']);
    expect(d.y!.map((p) => [p.period.label, p.average])).toEqual([['0000', null], ['0001', 0]]);
  });

  it('keeps an event with its own period fixed inside a series set', async () => {
    const d = ok(
      await t.gql<Record<string, Point[]>>(`{
        s: series(set: { and: [
          { event: { name: "act" } },
          { event: { name: "signup", period: { at: { granularity: MONTH, date: "2026-12-05" } } } }
        ] }, granularity: DAY, from: "2026-11-25", to: "2027-01-05") ${PT}
        shifted: series(set: { and: [
          { event: { name: "act" } },
          { event: { name: "signup", period: { current: MONTH }, shift: -1 } }
        ] }, granularity: WEEK, last: 8) ${PT}
      }`),
    );
    const dec = users('signup', 'MONTH', 2026 * 12 + 11);
    const days = periods('DAY', dayNumber(Date.UTC(2026, 10, 25)), dayNumber(Date.UTC(2027, 0, 5)));
    expectPoints(d.s!, 'DAY', days, days.map((p) => and(users('act', 'DAY', p), dec).size));
    // Not rebound to the point's day: before December the point still meets December's signups.
    expect(d.s![0]!.count).toBeGreaterThan(and(users('act', 'DAY', days[0]!), users('signup', 'DAY', days[0]!)).size);
    const weeks = periods('WEEK', mondayOf(today) - 49, mondayOf(today));
    expectPoints(d.shifted!, 'WEEK', weeks, weeks.map((p) => and(users('act', 'WEEK', p), dec).size));
  });

  it('counts range leaves (last N or from..to) and keeps them fixed in a series', async () => {
    const range = (name: string, g: G, first: number, last: number) => or(...periods(g, first, last).map((p) => users(name, g, p)));
    const d = ok(
      await t.gql<Record<string, unknown>>(`{
        last7: count(set: { range: { name: "act", granularity: DAY, last: 7 } })
        weeks: count(set: { range: { name: "signup", granularity: WEEK, from: "2026-12-01", to: "2026-12-31" } })
        toNow: count(set: { range: { name: "buy", granularity: MONTH, from: "2026-12-20" } })
        both: count(set: { and: [
          { range: { name: "act", granularity: DAY, last: 3 } },
          { range: { name: "buy", granularity: WEEK, from: "2026-11-01", to: "2026-11-30" } }
        ] })
        s: series(set: { and: [
          { event: { name: "act" } },
          { range: { name: "signup", granularity: DAY, from: "2026-12-01", to: "2026-12-10" } }
        ] }, granularity: WEEK, from: "2026-11-16", to: "2027-01-11") ${PT}
        s2: series(set: { or: [{ event: { name: "buy" } }, { range: { name: "buy", granularity: DAY, last: 2 } }] }, granularity: DAY, last: 4) ${PT}
      }`),
    );
    const last7 = range('act', 'DAY', today - 6, today).size;
    expect(d.last7).toBe(last7);
    expect(last7).toBeGreaterThan(users('act', 'DAY', today).size);
    // The weeks that hold Dec 1 and Dec 31: 2026-W49 (from Nov 30) .. 2026-W53 (to Jan 3).
    const dec1 = mondayOf(dayNumber(Date.UTC(2026, 11, 1)));
    const dec31 = mondayOf(dayNumber(Date.UTC(2026, 11, 31)));
    expect(label('WEEK', dec1)).toBe('2026-W49');
    expect(label('WEEK', dec31)).toBe('2026-W53');
    expect(d.weeks).toBe(range('signup', 'WEEK', dec1, dec31).size);
    expect(d.toNow).toBe(range('buy', 'MONTH', 2026 * 12 + 11, 2027 * 12).size);
    const nov = range('buy', 'WEEK', mondayOf(dayNumber(Date.UTC(2026, 10, 1))), mondayOf(dayNumber(Date.UTC(2026, 10, 30))));
    expect(d.both).toBe(and(range('act', 'DAY', today - 2, today), nov).size);

    const fixed = range('signup', 'DAY', dayNumber(Date.UTC(2026, 11, 1)), dayNumber(Date.UTC(2026, 11, 10)));
    const weeks = periods('WEEK', mondayOf(dayNumber(Date.UTC(2026, 10, 16))), mondayOf(dayNumber(Date.UTC(2027, 0, 11))));
    expectPoints(d.s as Point[], 'WEEK', weeks, weeks.map((p) => and(users('act', 'WEEK', p), fixed).size));
    const last2 = range('buy', 'DAY', today - 1, today);
    const days = periods('DAY', today - 3, today);
    expectPoints(d.s2 as Point[], 'DAY', days, days.map((p) => or(users('buy', 'DAY', p), last2).size));
  });

  it('refuses bad ranges and too many points', async () => {
    const q = (args: string) => t.gql(`{ series(set: { event: { name: "act" } }, granularity: DAY, ${args}) { count } }`);
    expect(code(await q('last: 3, from: "2027-01-01"'))).toBe('BAD_INPUT');
    expect(code(await q('from: "2027-01-10", to: "2027-01-01"'))).toBe('BAD_INPUT');
    expect(code(await q('last: 0'))).toBe('BAD_INPUT');

    const small = await testGateway({ engine, now: NOW, config: { maxPoints: 5 } });
    try {
      const s = (args: string) => small.gql(`{ series(set: { event: { name: "act" } }, granularity: DAY, ${args}) { count } }`);
      const over = await s('last: 6');
      expect(code(over)).toBe('TOO_COMPLEX');
      expect(over.errors![0]!.extensions).toMatchObject({ limit: 5 });
      expect(code(await s('from: "2027-01-01", to: "2027-01-06"'))).toBe('TOO_COMPLEX');
      expect(code(await s('from: "2027-01-01"'))).toBe('TOO_COMPLEX'); // to now: 20 points
      expect(code(await small.gql(`{ series(set: { event: { name: "act" } }, granularity: WEEK) { count } }`))).toBe('TOO_COMPLEX'); // 30 by default
      expect(ok(await s('last: 5')).series).toHaveLength(5);
      expect(ok(await s('from: "2027-01-16", to: "2027-01-20"')).series).toHaveLength(5);
    } finally {
      await small.close();
    }
  });

  it('answers a 90-day series, a cohort and counts in one engine round trip', async () => {
    const run = t.engine.run.bind(t.engine);
    let calls = 0;
    t.engine.run = (p: Program): Promise<OutputValue[]> => {
      calls++;
      return run(p);
    };
    try {
      const d = ok(
        await t.gql<{ s: Point[]; c: { rows: Array<{ size: number }> }; a: number; b: number; f: unknown[] }>(`{
          s: series(set: { and: [{ event: { name: "act" } }, { event: { name: "act", shift: -1 } }] }, granularity: DAY, last: 90, rollingAverage: 7) ${PT}
          c: cohort(cohort: { event: { name: "signup" } }, activity: { event: { name: "act" } }, granularity: WEEK, rows: 8, columns: 8) { rows { size cells } average }
          a: count(set: { event: { name: "act", period: { current: MONTH } } })
          b: count(set: { range: { name: "buy", granularity: DAY, last: 30 } })
          f: funnel(steps: [{ event: { name: "signup", period: { current: MONTH } } }, { event: { name: "buy", period: { current: MONTH } } }]) { count }
        }`),
      );
      expect(calls).toBe(1);
      const days = periods('DAY', today - 89, today);
      const counts = days.map((p) => and(users('act', 'DAY', p), users('act', 'DAY', p - 1)).size);
      const twoDays = (p: number): number => and(users('act', 'DAY', p), users('act', 'DAY', p - 1)).size;
      expectPoints(d.s, 'DAY', days, counts, rolling('DAY', days, twoDays, 7));
      expect(d.c.rows).toHaveLength(8);
      expect(d.a).toBe(users('act', 'MONTH', 2027 * 12).size);
      expect(d.b).toBe(or(...periods('DAY', today - 29, today).map((p) => users('buy', 'DAY', p))).size);
    } finally {
      t.engine.run = run;
    }
  });
});
