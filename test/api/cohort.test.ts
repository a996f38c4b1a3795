// Cohort tables (bitmapist get_dates_data) through GraphQL on both engines: a fixed table written
// out by hand, defaults relative to `now`, random data against an independent evaluator, and limits.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';

interface Row {
  period: { label: string; start: string };
  size: number;
  cells: Array<number | null>;
}
interface Table {
  rows: Row[];
  average: Array<number | null>;
  csv: string;
}

/** Marks as MarkEventInput items: each user of `users` had `name` at `at`. */
const marksOf = (name: string, at: string, users: number[]) => users.map((userId) => ({ name, userId, at }));



// ---- An evaluator of our own: plain UTC arithmetic, nothing from src/. ----

const DAY_MS = 86_400_000;
type G = 'DAY' | 'WEEK' | 'MONTH';
const pad = (n: number): string => String(n).padStart(2, '0');
const dayNumber = (ms: number): number => Math.floor(ms / DAY_MS);
/** Day 0 (1970-01-01) was a Thursday; the ISO week starts on the Monday before. */
const mondayOf = (day: number): number => day - ((day + 3) % 7);

/** A period as one number: DAY → day number, WEEK → its Monday's day number, MONTH → year*12+month0. */
function periodOf(g: G, ms: number): number {
  if (g === 'DAY') return dayNumber(ms);
  if (g === 'WEEK') return mondayOf(dayNumber(ms));
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}
const step = (g: G, p: number, k: number): number => p + (g === 'WEEK' ? 7 * k : k);

function label(g: G, p: number): string {
  if (g === 'DAY') return new Date(p * DAY_MS).toISOString().slice(0, 10);
  if (g === 'MONTH') return `${Math.floor(p / 12)}-${pad((p % 12) + 1)}`;
  const thursday = p + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const week = Math.floor((thursday - dayNumber(Date.UTC(year, 0, 1))) / 7) + 1;
  return `${year}-W${pad(week)}`;
}

function start(g: G, p: number): string {
  const ms = g === 'MONTH' ? Date.UTC(Math.floor(p / 12), p % 12, 1) : p * DAY_MS;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

type Mark = { name: string; userId: number; ms: number };

/** name → period → users, for one granularity. */
function index(g: G, marks: readonly Mark[]): Map<string, Map<number, Set<number>>> {
  const out = new Map<string, Map<number, Set<number>>>();
  for (const m of marks) {
    const byPeriod = out.get(m.name) ?? out.set(m.name, new Map()).get(m.name)!;
    const p = periodOf(g, m.ms);
    (byPeriod.get(p) ?? byPeriod.set(p, new Set()).get(p)!).add(m.userId);
  }
  return out;
}

const and = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a].filter((x) => b.has(x)));
const or = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a, ...b]);

describe.each(ENGINES)('cohort tables (%s engine)', (engine) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
    // The bitmapist example: who signed up when, and who was active on which day.
    const input = [
      ...marksOf('signup', '2026-11-16T10:00:00Z', [1, 2, 3, 4]),
      ...marksOf('signup', '2026-11-17T10:00:00Z', [5, 6]),
      ...marksOf('signup', '2026-11-19T10:00:00Z', [7]),
      ...marksOf('active', '2026-11-16T12:00:00Z', [1, 2, 3, 4, 5]),
      ...marksOf('active', '2026-11-17T12:00:00Z', [1, 2, 5, 6]),
      ...marksOf('active', '2026-11-18T12:00:00Z', [1, 5]),
      ...marksOf('active', '2026-11-19T12:00:00Z', [1, 7]),
      ...marksOf('active', '2026-11-20T12:00:00Z', [7]),
      ...marksOf('active', '2026-11-22T08:00:00Z', [6]),
      // A cohort in the current period (it only shows in tables whose last row is today).
      ...marksOf('signup', '2026-11-22T08:00:00Z', [6]),
    ];
    expect(ok(await t.gql(MARKS, { in: input }))).toEqual({ markEvents: { marked: input.length } });
  });
  afterAll(() => t.close());

  const SIGNUP_ACTIVE = 'cohort: { event: { name: "signup" } }, activity: { event: { name: "active" } }, granularity: DAY';
  const TABLE = '{ rows { period { label start } size cells } average csv }';

  it('computes the bitmapist example table: counts, percent, averages and CSV', async () => {
    const d = ok(
      await t.gql<{ counts: Table; percent: Table }>(`{
        counts: cohort(${SIGNUP_ACTIVE}, from: "2026-11-16", rows: 4, columns: 4) ${TABLE}
        percent: cohort(${SIGNUP_ACTIVE}, from: "2026-11-16", rows: 4, columns: 4, asPercent: true) ${TABLE}
      }`),
    );
    expect(d.counts.rows.map((r) => r.period)).toEqual([
      { label: '2026-11-16', start: '2026-11-16T00:00:00Z' },
      { label: '2026-11-17', start: '2026-11-17T00:00:00Z' },
      { label: '2026-11-18', start: '2026-11-18T00:00:00Z' },
      { label: '2026-11-19', start: '2026-11-19T00:00:00Z' },
    ]);
    expect(d.counts.rows.map((r) => r.size)).toEqual([4, 2, 0, 1]);
    expect(d.counts.rows.map((r) => r.cells)).toEqual([
      [4, 2, 1, 1],
      [2, 1, 0, 0],
      [null, null, null, null], // nobody signed up on the 18th
      [1, 1, null, 0], // no activity at all on the 21st; activity but no overlap on the 22nd
    ]);
    expect(d.counts.average[0]).toBeCloseTo(7 / 3, 10);
    expect(d.counts.average[1]).toBeCloseTo(4 / 3, 10);
    expect(d.counts.average[2]).toBeCloseTo(1 / 2, 10);
    expect(d.counts.average[3]).toBeCloseTo(1 / 3, 10);
    expect(d.counts.csv).toBe(
      [
        'period,size,0,1,2,3',
        '2026-11-16,4,4,2,1,1',
        '2026-11-17,2,2,1,0,0',
        '2026-11-18,0,,,,',
        '2026-11-19,1,1,1,,0',
        'average,,2.33,1.33,0.5,0.33',
        '',
      ].join('\n'),
    );

    expect(d.percent.rows.map((r) => r.size)).toEqual([4, 2, 0, 1]);
    expect(d.percent.rows.map((r) => r.cells)).toEqual([
      [100, 50, 25, 25],
      [100, 50, 0, 0],
      [null, null, null, null],
      [100, 100, null, 0],
    ]);
    const avg = d.percent.average;
    expect(avg).toHaveLength(4);
    expect(avg[0]).toBeCloseTo(100, 10);
    expect(avg[1]).toBeCloseTo(200 / 3, 10);
    expect(avg[2]).toBeCloseTo(12.5, 10);
    expect(avg[3]).toBeCloseTo(25 / 3, 10);
    expect(d.percent.csv).toBe(
      [
        'period,size,0,1,2,3',
        '2026-11-16,4,100,50,25,25',
        '2026-11-17,2,100,50,0,0',
        '2026-11-18,0,,,,',
        '2026-11-19,1,100,100,,0',
        'average,,100,66.67,12.5,8.33',
        '',
      ].join('\n'),
    );
  });

  it('gives the same table from `to`, or from `from` and `to`', async () => {
    const d = ok(
      await t.gql<Record<string, Table>>(`{
        byTo: cohort(${SIGNUP_ACTIVE}, to: "2026-11-19T23:00:00Z", rows: 4, columns: 4) { rows { size cells } }
        byBoth: cohort(${SIGNUP_ACTIVE}, from: "2026-11-16", to: "2026-11-19", columns: 4) { rows { size cells } }
        twoByTwo: cohort(${SIGNUP_ACTIVE}, to: "2026-11-19", rows: 2, columns: 2) { rows { period { label } size cells } }
      }`),
    );
    const expected = [
      { size: 4, cells: [4, 2, 1, 1] },
      { size: 2, cells: [2, 1, 0, 0] },
      { size: 0, cells: [null, null, null, null] },
      { size: 1, cells: [1, 1, null, 0] },
    ];
    expect(d.byTo!.rows).toEqual(expected);
    expect(d.byBoth!.rows).toEqual(expected);
    expect(d.twoByTwo!.rows).toEqual([
      { period: { label: '2026-11-18' }, size: 0, cells: [null, null] },
      { period: { label: '2026-11-19' }, size: 1, cells: [1, 1] },
    ]);
  });

  it('defaults: 12 rows ending in the current period, as many columns as rows, the future null', async () => {
    const d = ok(await t.gql<{ cohort: Table }>(`{ cohort(${SIGNUP_ACTIVE}) ${TABLE} }`)).cohort;
    expect(d.rows.map((r) => r.period.label)).toEqual(
      Array.from({ length: 12 }, (_, i) => `2026-11-${pad(11 + i)}`),
    );
    const n = null;
    const empty = Array.from({ length: 12 }, () => null);
    expect(d.rows.map((r) => r.size)).toEqual([0, 0, 0, 0, 0, 4, 2, 0, 1, 0, 0, 1]);
    expect(d.rows.map((r) => r.cells)).toEqual([
      empty, // 11th
      empty,
      empty,
      empty,
      empty, // 15th
      [4, 2, 1, 1, 0, n, 0, n, n, n, n, n], // 16th: days 16..27
      [2, 1, 0, 0, n, 1, n, n, n, n, n, n], // 17th: days 17..28
      empty, // 18th
      [1, 1, n, 0, n, n, n, n, n, n, n, n], // 19th: days 19..30
      empty,
      empty,
      [1, n, n, n, n, n, n, n, n, n, n, n], // 22nd (today): everything after today is null
    ]);
    expect(d.average.slice(0, 7)).toEqual([2, 4 / 3, 0.5, 1 / 3, 0, 1, 0]);
    expect(d.average.slice(7)).toEqual([n, n, n, n, n]);

    // Only `rows`: still ending today; only `from`: 12 rows from there.
    const more = ok(
      await t.gql<Record<string, Table>>(`{
        three: cohort(${SIGNUP_ACTIVE}, rows: 3) { rows { period { label } size cells } }
        fromOnly: cohort(${SIGNUP_ACTIVE}, from: "2026-11-16", columns: 1) { rows { period { label } cells } }
      }`),
    );
    expect(more.three!.rows).toEqual([
      { period: { label: '2026-11-20' }, size: 0, cells: [n, n, n] },
      { period: { label: '2026-11-21' }, size: 0, cells: [n, n, n] },
      { period: { label: '2026-11-22' }, size: 1, cells: [1, n, n] },
    ]);
    expect(more.fromOnly!.rows.map((r) => r.period.label)).toEqual(
      Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(2026, 10, 16 + i)).toISOString().slice(0, 10)),
    );
    expect(more.fromOnly!.rows.map((r) => r.cells)).toEqual([[4], [2], [n], [1], [n], [n], [1], [n], [n], [n], [n], [n]]);
  });

  describe('random data across a month and a year boundary', () => {
    const FIRST = Date.UTC(2026, 11, 10); // 2026-12-10
    const DAYS = 42; // .. 2027-01-20
    const marks: Mark[] = [];
    beforeAll(async () => {
      const r = rng(20261210);
      const users = 120;
      const at = (day: number): number => FIRST + day * DAY_MS + Math.floor(r() * DAY_MS);
      for (let i = 0; i < 500; i++) marks.push({ name: 'select1', userId: Math.floor(r() * users), ms: at(Math.floor(r() * DAYS)) });
      for (let i = 0; i < 500; i++) marks.push({ name: 'select1b', userId: Math.floor(r() * users), ms: at(Math.floor(r() * DAYS)) });
      for (let day = 0; day < DAYS; day++) {
        // Some days have no activity at all (their cells are null), others only the second kind.
        if (r() < 0.75) for (let i = 0; i < 25; i++) marks.push({ name: 'act', userId: Math.floor(r() * users), ms: at(day) });
        if (r() < 0.35) for (let i = 0; i < 10; i++) marks.push({ name: 'act2', userId: Math.floor(r() * users), ms: at(day) });
      }
      const input = marks.map((m) => ({ name: m.name, userId: m.userId, at: new Date(m.ms).toISOString() }));
      expect(ok(await t.gql(MARKS, { in: input }))).toEqual({ markEvents: { marked: input.length } });
    });

    /** The expected table: cohort = select1 ∧ select1b in p, activity = act (∨ act2) in p+k. */
    function expected(g: G, firstRow: number, rows: number, columns: number, withOr: boolean, asPercent: boolean) {
      const ix = index(g, marks);
      const get = (name: string, p: number): Set<number> | undefined => ix.get(name)?.get(p);
      const activity = (p: number): Set<number> | undefined => {
        const a = get('act', p);
        const b = withOr ? get('act2', p) : undefined;
        return a && b ? or(a, b) : (a ?? b);
      };
      const out = Array.from({ length: rows }, (_, i) => {
        const p = step(g, firstRow, i);
        const cohort = and(get('select1', p) ?? new Set(), get('select1b', p) ?? new Set());
        const cells = Array.from({ length: columns }, (_, k) => {
          const act = activity(step(g, p, k));
          if (cohort.size === 0 || !act || act.size === 0) return null;
          const n = and(cohort, act).size;
          return asPercent ? (n / cohort.size) * 100 : n;
        });
        return { label: label(g, p), start: start(g, p), size: cohort.size, cells };
      });
      const average = Array.from({ length: columns }, (_, k) => {
        const present = out.map((r) => r.cells[k]).filter((c): c is number => c !== null);
        return present.length ? present.reduce((a, b) => a + b, 0) / present.length : null;
      });
      return { rows: out, average };
    }

    function compare(got: Table, want: ReturnType<typeof expected>): void {
      expect(got.rows.map((r) => r.period)).toEqual(want.rows.map((r) => ({ label: r.label, start: r.start })));
      expect(got.rows.map((r) => r.size)).toEqual(want.rows.map((r) => r.size));
      got.rows.forEach((row, i) => {
        const w = want.rows[i]!.cells;
        expect(row.cells.map((c) => c === null), `nulls of row ${i}`).toEqual(w.map((c) => c === null));
        row.cells.forEach((c, k) => {
          if (c !== null) expect(c, `row ${i} cell ${k}`).toBeCloseTo(w[k]!, 9);
        });
      });
      expect(got.average.map((c) => c === null)).toEqual(want.average.map((c) => c === null));
      got.average.forEach((c, k) => {
        if (c !== null) expect(c, `average ${k}`).toBeCloseTo(want.average[k]!, 9);
      });
      // Every table has some nulls, some zeros and some overlaps, or it would prove little.
      const all = want.rows.flatMap((r) => r.cells);
      expect(all.some((c) => c === null)).toBe(true);
      expect(all.some((c) => c !== null && c > 0)).toBe(true);
    }

    const COHORT = 'cohort: { and: [{ event: { name: "select1" } }, { event: { name: "select1b" } }] }';
    const ACT = 'activity: { event: { name: "act" } }';
    const ACT_OR = 'activity: { or: [{ event: { name: "act" } }, { event: { name: "act2" } }] }';
    const BODY = '{ rows { period { label start } size cells } average csv }';

    it('DAY: 42 rows × 9 columns, counts and percent, an event and an OR as activity', async () => {
      const d = ok(
        await t.gql<Record<string, Table>>(`{
          a: cohort(${COHORT}, ${ACT}, granularity: DAY, from: "2026-12-10", rows: 42, columns: 9) ${BODY}
          b: cohort(${COHORT}, ${ACT_OR}, granularity: DAY, from: "2026-12-10", rows: 42, columns: 9, asPercent: true) ${BODY}
          c: cohort(${COHORT}, ${ACT_OR}, granularity: DAY, from: "2026-12-10T00:00:00Z", to: "2027-01-20T23:59:59Z", columns: 9) ${BODY}
        }`),
      );
      const first = dayNumber(FIRST);
      compare(d.a!, expected('DAY', first, 42, 9, false, false));
      compare(d.b!, expected('DAY', first, 42, 9, true, true));
      compare(d.c!, expected('DAY', first, 42, 9, true, false));
      // The OR fills some days the single event leaves empty.
      const nulls = (x: Table) => x.rows.flatMap((r) => r.cells).filter((c) => c === null).length;
      expect(nulls(d.c!)).toBeLessThan(nulls(d.a!));
    });

    it('WEEK: ISO weeks across the year boundary', async () => {
      const d = ok(
        await t.gql<Record<string, Table>>(`{
          a: cohort(${COHORT}, ${ACT}, granularity: WEEK, from: "2026-12-10", to: "2027-01-20", columns: 5) ${BODY}
          b: cohort(${COHORT}, ${ACT_OR}, granularity: WEEK, to: "2027-01-20", rows: 8, asPercent: true) ${BODY}
        }`),
      );
      const firstWeek = mondayOf(dayNumber(FIRST));
      const a = expected('WEEK', firstWeek, 7, 5, false, false);
      expect(a.rows.map((r) => r.label)).toEqual(['2026-W50', '2026-W51', '2026-W52', '2026-W53', '2027-W01', '2027-W02', '2027-W03']);
      compare(d.a!, a);
      compare(d.b!, expected('WEEK', firstWeek - 7, 8, 8, true, true));
    });

    it('MONTH: an empty cohort month, December and January, the future null', async () => {
      const d = ok(
        await t.gql<Record<string, Table>>(`{
          a: cohort(${COHORT}, ${ACT}, granularity: MONTH, to: "2027-01-20", rows: 3, columns: 3) ${BODY}
          b: cohort(${COHORT}, ${ACT_OR}, granularity: MONTH, from: "2026-12-01", rows: 2, asPercent: true) ${BODY}
        }`),
      );
      const dec = 2026 * 12 + 11;
      const a = expected('MONTH', dec - 1, 3, 3, false, false);
      expect(a.rows.map((r) => r.label)).toEqual(['2026-11', '2026-12', '2027-01']);
      compare(d.a!, a);
      compare(d.b!, expected('MONTH', dec, 2, 2, true, true));
    });
  });

  it('refuses bad arguments', async () => {
    const r = await t.gql(`{ cohort(${SIGNUP_ACTIVE}, from: "2026-11-19", to: "2026-11-16") { rows { size } } }`);
    expect(code(r)).toBe('BAD_INPUT');
    const mismatch = await t.gql(`{ cohort(${SIGNUP_ACTIVE}, from: "2026-11-16", to: "2026-11-19", rows: 3) { rows { size } } }`);
    expect(code(mismatch)).toBe('BAD_INPUT');
    expect(code(await t.gql(`{ cohort(${SIGNUP_ACTIVE}, rows: 0) { rows { size } } }`))).toBe('BAD_INPUT');
    expect(code(await t.gql(`{ cohort(${SIGNUP_ACTIVE}, rows: 2, columns: 0) { rows { size } } }`))).toBe('BAD_INPUT');
  });

  it('refuses tables over the cell limit', async () => {
    const small = await testGateway({ engine, now: NOW, config: { maxCohortCells: 10 } });
    try {
      const over = await small.gql(`{ cohort(${SIGNUP_ACTIVE}, rows: 4, columns: 3) { rows { size } } }`);
      expect(code(over)).toBe('TOO_COMPLEX');
      expect(over.errors![0]!.extensions).toMatchObject({ limit: 10 });
      // Default columns = rows: 4 × 4.
      expect(code(await small.gql(`{ cohort(${SIGNUP_ACTIVE}, rows: 4) { rows { size } } }`))).toBe('TOO_COMPLEX');
      const fits = await small.gql<{ cohort: Table }>(`{ cohort(${SIGNUP_ACTIVE}, rows: 2, columns: 5) { rows { size cells } } }`);
      expect(ok(fits).cohort.rows).toHaveLength(2);
      // 70 million hourly rows are refused before a single row is made (this once took half a
      // minute and gigabytes of memory per request).
      const began = Date.now();
      const huge = await small.gql(
        `{ cohort(cohort: { event: { name: "signup" } }, activity: { event: { name: "active" } }, granularity: HOUR, from: "1000-01-01", to: "9000-01-01", columns: 1) { rows { size } } }`,
      );
      expect(code(huge)).toBe('TOO_COMPLEX');
      expect(huge.errors![0]!.message).toContain('70126561 × 1');
      expect(Date.now() - began).toBeLessThan(5000);
      expect(code(await small.gql(`{ cohort(${SIGNUP_ACTIVE}, rows: 2000000000, columns: 1) { rows { size } } }`))).toBe('TOO_COMPLEX');
    } finally {
      await small.close();
    }
  });
});
