// Funnels and counters through GraphQL on both engines, against references of our own: funnel
// steps over plain Sets; counter increments summed in a Map by hour, day, ISO week, month and year.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const INCREMENTS = 'mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }';



// ---- Periods of our own: plain UTC arithmetic, nothing from src/. ----

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const dayNumber = (ms: number): number => Math.floor(ms / DAY_MS);
/** Day 0 (1970-01-01) was a Thursday; the ISO week starts on the Monday before. */
const mondayOf = (day: number): number => day - ((day + 3) % 7);

/** bitmapist period suffixes (numbers not zero-padded, ISO week-year for weeks). */
const SUFFIX = {
  HOUR: (ms: number) => {
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}-${d.getUTCHours()}`;
  },
  DAY: (ms: number) => {
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
  },
  WEEK: (ms: number) => {
    const thursday = mondayOf(dayNumber(ms)) + 3;
    const year = new Date(thursday * DAY_MS).getUTCFullYear();
    return `W${year}-${Math.floor((thursday - dayNumber(Date.UTC(year, 0, 1))) / 7) + 1}`;
  },
  MONTH: (ms: number) => {
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}`;
  },
  YEAR: (ms: number) => String(new Date(ms).getUTCFullYear()),
};
type G = keyof typeof SUFFIX;

/** The first instant of each period from..to (inclusive), as ms. */
function starts(g: G, from: number, to: number): number[] {
  const out: number[] = [];
  let d = new Date(from);
  const start = (): number => {
    switch (g) {
      case 'HOUR':
        return Math.floor(from / HOUR_MS) * HOUR_MS;
      case 'DAY':
        return dayNumber(from) * DAY_MS;
      case 'WEEK':
        return mondayOf(dayNumber(from)) * DAY_MS;
      case 'MONTH':
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      case 'YEAR':
        return Date.UTC(d.getUTCFullYear(), 0, 1);
    }
  };
  for (let ms = start(); ms <= to; ) {
    out.push(ms);
    d = new Date(ms);
    if (g === 'HOUR') ms += HOUR_MS;
    else if (g === 'DAY') ms += DAY_MS;
    else if (g === 'WEEK') ms += 7 * DAY_MS;
    else if (g === 'MONTH') ms = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    else ms = Date.UTC(d.getUTCFullYear() + 1, 0, 1);
  }
  return out;
}

type Hit = { name: string; key: string; by: number; ms: number };

/** name, granularity, suffix → key → sum. */
class Reference {
  private readonly sums = new Map<string, Map<string, number>>();
  add(h: Hit): void {
    for (const g of Object.keys(SUFFIX) as G[]) {
      const id = `${h.name} ${g} ${SUFFIX[g](h.ms)}`;
      const m = this.sums.get(id) ?? this.sums.set(id, new Map()).get(id)!;
      m.set(h.key, (m.get(h.key) ?? 0) + h.by);
    }
  }
  of(name: string, g: G, ms: number): Map<string, number> {
    return this.sums.get(`${name} ${g} ${SUFFIX[g](ms)}`) ?? new Map();
  }
  top(name: string, g: G, ms: number, n: number): Array<{ key: string; value: number }> {
    return [...this.of(name, g, ms)]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([key, value]) => ({ key, value }));
  }
  value(name: string, g: G, ms: number, key: string | null): number {
    const m = this.of(name, g, ms);
    return key === null ? [...m.values()].reduce((a, b) => a + b, 0) : (m.get(key) ?? 0);
  }
}

describe.each(ENGINES)('funnels (%s engine)', (engine) => {
  let t: TestGateway;
  const byDayName = new Map<string, Set<number>>();
  const users = (name: string, day: string): Set<number> => byDayName.get(`${name} ${day}`) ?? new Set();

  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
    const r = rng(4711);
    const input: Array<{ name: string; userId: number; at: string }> = [];
    const days = ['2026-11-19', '2026-11-20', '2026-11-21'];
    const sizes: Record<string, number> = { visit: 120, signup: 70, buy: 40, refund: 6 };
    for (const [name, n] of Object.entries(sizes)) {
      for (const day of days) {
        for (let i = 0; i < n; i++) {
          const userId = Math.floor(r() * 200);
          input.push({ name, userId, at: `${day}T${String(Math.floor(r() * 24)).padStart(2, '0')}:30:00Z` });
          const k = `${name} ${day}`;
          (byDayName.get(k) ?? byDayName.set(k, new Set()).get(k)!).add(userId);
        }
      }
    }
    expect(ok(await t.gql(MARKS, { in: input }))).toEqual({ markEvents: { marked: input.length } });
  });
  afterAll(() => t.close());

  const step = (name: string, day: string) => `{ event: { name: "${name}", period: { at: { granularity: DAY, date: "${day}" } } } }`;
  type Step = { count: number; fromPrevious: number | null; fromFirst: number | null };

  function expectSteps(got: Step[], sets: Array<Set<number>>): void {
    const counts: number[] = [];
    let acc: Set<number> | undefined;
    for (const s of sets) {
      acc = acc ? new Set([...acc].filter((x) => s.has(x))) : new Set(s);
      counts.push(acc.size);
    }
    expect(got.map((s) => s.count)).toEqual(counts);
    got.forEach((s, k) => {
      const prev = k === 0 ? 0 : counts[k - 1]!;
      if (k === 0 || prev === 0) expect(s.fromPrevious, `fromPrevious ${k}`).toBeNull();
      else expect(s.fromPrevious, `fromPrevious ${k}`).toBeCloseTo(counts[k]! / prev, 12);
      if (counts[0] === 0) expect(s.fromFirst, `fromFirst ${k}`).toBeNull();
      else expect(s.fromFirst, `fromFirst ${k}`).toBeCloseTo(counts[k]! / counts[0]!, 12);
    });
  }

  it('counts each step as the AND of the steps so far, with both ratios', async () => {
    const d = ok(
      await t.gql<Record<string, Step[]>>(`{
        ordered: funnel(steps: [${step('visit', '2026-11-19')}, ${step('signup', '2026-11-20')}, ${step('buy', '2026-11-21')}]) { count fromPrevious fromFirst }
        sameDay: funnel(steps: [${step('visit', '2026-11-20')}, ${step('signup', '2026-11-20')}, ${step('buy', '2026-11-20')}, ${step('refund', '2026-11-20')}]) { count fromPrevious fromFirst }
        composite: funnel(steps: [
          { or: [${step('visit', '2026-11-19')}, ${step('visit', '2026-11-20')}] },
          { and: [${step('signup', '2026-11-20')}, { not: ${step('buy', '2026-11-19')} }] },
          { range: { name: "buy", granularity: DAY, from: "2026-11-20", to: "2026-11-21" } }
        ]) { count fromPrevious fromFirst }
        one: funnel(steps: [${step('signup', '2026-11-19')}]) { count fromPrevious fromFirst }
      }`),
    );
    expectSteps(d.ordered!, [users('visit', '2026-11-19'), users('signup', '2026-11-20'), users('buy', '2026-11-21')]);
    expect(d.ordered![2]!.count).toBeGreaterThan(0);
    expectSteps(d.sameDay!, ['visit', 'signup', 'buy', 'refund'].map((n) => users(n, '2026-11-20')));
    const notBuy = (s: Set<number>) => new Set([...s].filter((x) => !users('buy', '2026-11-19').has(x)));
    expectSteps(d.composite!, [
      new Set([...users('visit', '2026-11-19'), ...users('visit', '2026-11-20')]),
      notBuy(users('signup', '2026-11-20')),
      new Set([...users('buy', '2026-11-20'), ...users('buy', '2026-11-21')]),
    ]);
    expect(d.one).toEqual([{ count: users('signup', '2026-11-19').size, fromPrevious: null, fromFirst: 1 }]);
  });

  it('gives null ratios over an empty base', async () => {
    const d = ok(
      await t.gql<Record<string, Step[]>>(`{
        emptyFirst: funnel(steps: [${step('nobody', '2026-11-19')}, ${step('visit', '2026-11-19')}]) { count fromPrevious fromFirst }
        emptyMiddle: funnel(steps: [${step('visit', '2026-11-19')}, ${step('nobody', '2026-11-19')}, ${step('buy', '2026-11-19')}]) { count fromPrevious fromFirst }
      }`),
    );
    expect(d.emptyFirst).toEqual([
      { count: 0, fromPrevious: null, fromFirst: null },
      { count: 0, fromPrevious: null, fromFirst: null },
    ]);
    const first = users('visit', '2026-11-19').size;
    expect(d.emptyMiddle).toEqual([
      { count: first, fromPrevious: null, fromFirst: 1 },
      { count: 0, fromPrevious: 0, fromFirst: 0 },
      { count: 0, fromPrevious: null, fromFirst: 0 },
    ]);
  });

  it('refuses an empty funnel and steps without a period', async () => {
    expect(code(await t.gql('{ funnel(steps: []) { count } }'))).toBe('BAD_INPUT');
    expect(code(await t.gql(`{ funnel(steps: [${step('visit', '2026-11-19')}, { event: { name: "buy" } }]) { count } }`))).toBe(
      'MISSING_PERIOD',
    );
  });
});

describe.each(ENGINES)('counters (%s engine)', (engine) => {
  let t: TestGateway;
  const ref = new Reference();
  const SONGS = Array.from({ length: 12 }, (_, i) => `song${i + 1}`);
  const PROVIDERS = ['spotify', 'apple', 'deezer'];
  /** Hours that get many hits, so hour buckets hold several keys. */
  const BUSY = [Date.UTC(2026, 10, 25, 14), Date.UTC(2026, 10, 30, 23)];

  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
    const r = rng(1234567);
    const hits: Hit[] = [];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const from = Date.UTC(2026, 10, 20); // 2026-11-20 .. 2026-12-10
    for (let i = 0; i < 300; i++) {
      const ms = from + Math.floor(r() * 21 * DAY_MS);
      hits.push({ name: 'plays', key: pick(SONGS), by: 1 + Math.floor(r() * 5), ms });
      if (i % 3 === 0) hits.push({ name: 'provider', key: pick(PROVIDERS), by: 1 + Math.floor(r() * 3), ms });
    }
    for (const h of BUSY) for (let i = 0; i < 25; i++) hits.push({ name: 'plays', key: pick(SONGS), by: 1 + Math.floor(r() * 5), ms: h + Math.floor(r() * HOUR_MS) });
    // Across the years: the last week of 2025 and the first of 2027 (ISO weeks 2026-W01 and 2026-W53).
    for (let i = 0; i < 20; i++) hits.push({ name: 'plays', key: pick(SONGS), by: 1 + Math.floor(r() * 5), ms: Date.UTC(2025, 11, 29) + Math.floor(r() * 3 * DAY_MS) });
    for (let i = 0; i < 20; i++) hits.push({ name: 'plays', key: pick(SONGS), by: 1 + Math.floor(r() * 5), ms: Date.UTC(2027, 0, 1) + Math.floor(r() * 3 * DAY_MS) });
    for (const h of hits) ref.add(h);
    // `by` left out half of the time when it is 1.
    const input = hits.map((h, i) => ({ name: h.name, key: h.key, at: new Date(h.ms).toISOString(), ...(h.by === 1 && i % 2 ? {} : { by: h.by }) }));
    expect(ok(await t.gql(INCREMENTS, { in: input }))).toEqual({ incrementCounters: { incremented: hits.length } });
    // One at a time, and at `now` by default.
    const one = await t.gql(`mutation { a: incrementCounter(name: "plays", key: "song3", by: 4) { incremented } b: incrementCounter(name: "plays", key: "song3") { incremented } }`);
    expect(ok(one)).toEqual({ a: { incremented: 1 }, b: { incremented: 1 } });
    ref.add({ name: 'plays', key: 'song3', by: 4, ms: NOW });
    ref.add({ name: 'plays', key: 'song3', by: 1, ms: NOW });
    hits.push({ name: 'plays', key: 'song3', by: 5, ms: NOW });
    // The stored hashes are exactly the hour, day, ISO week and month of every hit.
    const base = `${t.prefix.replace(/_$/, '')}:counter:`;
    const want = new Set(hits.flatMap((h) => (['HOUR', 'DAY', 'WEEK', 'MONTH'] as const).map((g) => `${base}${h.name}:${SUFFIX[g](h.ms)}`)));
    expect(await t.keys()).toEqual([...want].sort());
  });
  afterAll(() => t.close());

  it('stores counters under <prefix>:counter:<name>:<bitmapist suffix>', async () => {
    const base = `${t.prefix.slice(0, -1)}:counter:`;
    const keys = await t.keys();
    expect(keys).toContain(`${base}plays:2026-11-22-9`); // the two increments at now
    expect(keys).toContain(`${base}plays:2026-11-22`);
    expect(keys).toContain(`${base}plays:W2026-47`);
    expect(keys).toContain(`${base}plays:2026-11`);
    expect(keys).toContain(`${base}plays:W2026-1`); // Dec 29-31, 2025
    expect(keys).toContain(`${base}plays:W2026-53`); // Jan 1-3, 2027
    expect(keys.every((k) => k.startsWith(base))).toBe(true); // no bitmaps were written
  });

  it('lists the top keys of every granularity, highest first', async () => {
    const cases: Array<[G, number, number | null]> = [
      ['HOUR', BUSY[0]!, null],
      ['HOUR', BUSY[1]!, 3],
      ['HOUR', NOW, null],
      ['DAY', Date.UTC(2026, 10, 25), 5],
      ['DAY', Date.UTC(2026, 11, 3), null],
      ['WEEK', Date.UTC(2026, 10, 26), null],
      ['WEEK', Date.UTC(2026, 11, 31), 20],
      ['MONTH', Date.UTC(2026, 10, 1), null],
      ['MONTH', Date.UTC(2026, 11, 1), 12],
      ['YEAR', Date.UTC(2026, 5, 1), 20],
      ['YEAR', Date.UTC(2025, 5, 1), 2],
      ['YEAR', Date.UTC(2027, 5, 1), null],
      ['MONTH', Date.UTC(2026, 9, 1), null], // nothing
    ];
    const q = cases
      .map(([g, ms, top], i) => `c${i}: counters(name: "plays", period: { at: { granularity: ${g}, date: "${new Date(ms).toISOString()}" } }${top === null ? '' : `, top: ${top}`}) { key value }`)
      .join('\n');
    const d = ok(await t.gql<Record<string, Array<{ key: string; value: number }>>>(`{ ${q}
      prov: counters(name: "provider", period: { current: MONTH }) { key value }
      agoWeek: counters(name: "plays", period: { ago: { granularity: WEEK, periods: 1 } }, top: 4) { key value }
    }`));
    cases.forEach(([g, ms, top], i) => {
      const want = ref.top('plays', g, ms, top ?? 10);
      expect(d[`c${i}`], `${g} ${new Date(ms).toISOString()}`).toEqual(want);
    });
    expect(d.c7!).toHaveLength(10); // 12 songs, top 10 by default
    expect(d.c8!).toHaveLength(12);
    expect(d.c12!).toEqual([]);
    // A year is the sum of its months.
    const months = starts('MONTH', Date.UTC(2026, 0, 1), Date.UTC(2026, 11, 1));
    const song1 = months.reduce((s, m) => s + ref.value('plays', 'MONTH', m, 'song1'), 0);
    expect(d.c9!.find((c) => c.key === 'song1')?.value).toBe(song1);
    expect(d.prov).toEqual(ref.top('provider', 'MONTH', NOW, 10));
    expect(d.agoWeek).toEqual(ref.top('plays', 'WEEK', NOW - 7 * DAY_MS, 4));
  });

  it('orders ties by key', async () => {
    const input = [
      ['b', 2],
      ['ab', 2],
      ['d', 5],
      ['c', 2],
      ['a', 1],
      ['a', 1],
      ['e', 1],
    ].map(([key, by]) => ({ name: 'tied', key, by, at: '2026-11-21T10:00:00Z' }));
    ok(await t.gql(INCREMENTS, { in: input }));
    const d = ok(
      await t.gql<Record<string, Array<{ key: string; value: number }>>>(`{
        all: counters(name: "tied", period: { at: { granularity: DAY, date: "2026-11-21" } }) { key value }
        two: counters(name: "tied", period: { at: { granularity: HOUR, date: "2026-11-21T10:59:00Z" } }, top: 2) { key value }
        three: counters(name: "tied", period: { current: WEEK }, top: 3) { key value }
      }`),
    );
    const all = [
      { key: 'd', value: 5 },
      { key: 'a', value: 2 },
      { key: 'ab', value: 2 },
      { key: 'b', value: 2 },
      { key: 'c', value: 2 },
      { key: 'e', value: 1 },
    ];
    expect(d.all).toEqual(all);
    expect(d.two).toEqual(all.slice(0, 2));
    expect(d.three).toEqual(all.slice(0, 3));
  });

  it('gives a series of one key or of the total, with rolling averages', async () => {
    type P = { period: { label: string }; count: number; average: number | null };
    const d = ok(
      await t.gql<Record<string, P[]>>(`{
        day: counterSeries(name: "plays", key: "song5", granularity: DAY, from: "2026-11-18", to: "2026-12-12", rollingAverage: 3) { period { label } count average }
        dayTotal: counterSeries(name: "plays", granularity: DAY, from: "2026-11-18", to: "2026-12-12", rollingAverage: 7) { period { label } count average }
        hour: counterSeries(name: "plays", granularity: HOUR, from: "2026-11-25T00:00:00Z", to: "2026-11-25T23:00:00Z") { period { label } count average }
        week: counterSeries(name: "plays", key: "song1", granularity: WEEK, from: "2025-12-22", to: "2027-01-10") { period { label } count average }
        month: counterSeries(name: "provider", granularity: MONTH, last: 3, rollingAverage: 2) { period { label } count average }
        year: counterSeries(name: "plays", granularity: YEAR, from: "2025-01-01", to: "2027-12-31") { period { label } count average }
        yearKey: counterSeries(name: "plays", key: "song7", granularity: YEAR, from: "2025-01-01", to: "2027-12-31") { period { label } count average }
        byDefault: counterSeries(name: "plays", granularity: DAY) { period { label } count average }
        missing: counterSeries(name: "plays", key: "nope", granularity: DAY, last: 4) { period { label } count average }
        short: counterSeries(name: "plays", granularity: DAY, to: "2026-11-27", last: 3, rollingAverage: 7) { period { label } count average }
      }`),
    );
    // The start of the period k before the one starting at ms (the granularities with averages below).
    const back = (g: G, ms: number, k: number): number => {
      if (g === 'DAY') return ms - k * DAY_MS;
      if (g === 'MONTH') return Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth() - k, 1);
      throw new Error(`no averages over ${g} here`);
    };
    const check = (got: P[], name: string, key: string | null, g: G, from: number, to: number, w?: number) => {
      // An average reads the w - 1 periods before the first point too, so every point has one.
      const ps = starts(g, w ? back(g, starts(g, from, from)[0]!, w - 1) : from, to);
      const all = ps.map((ms) => (g === 'YEAR' ? yearValue(name, ms, key) : ref.value(name, g, ms, key)));
      const counts = all.slice(w ? w - 1 : 0);
      expect(got.map((p) => p.count), `${name} ${key} ${g}`).toEqual(counts);
      got.forEach((p, i) => {
        if (!w) expect(p.average, `average ${i}`).toBeNull();
        else expect(p.average, `average ${i}`).toBeCloseTo(all.slice(i, i + w).reduce((a, b) => a + b, 0) / w, 9);
      });
      return counts;
    };
    const yearValue = (name: string, ms: number, key: string | null): number =>
      starts('MONTH', ms, Date.UTC(new Date(ms).getUTCFullYear(), 11, 1)).reduce((s, m) => s + ref.value(name, 'MONTH', m, key), 0);

    const dayCounts = check(d.day!, 'plays', 'song5', 'DAY', Date.UTC(2026, 10, 18), Date.UTC(2026, 11, 12), 3);
    expect(d.day![0]!.period.label).toBe('2026-11-18');
    expect(dayCounts.some((c) => c > 0)).toBe(true);
    const totals = check(d.dayTotal!, 'plays', null, 'DAY', Date.UTC(2026, 10, 18), Date.UTC(2026, 11, 12), 7);
    expect(totals.every((c, i) => c >= dayCounts[i]!)).toBe(true);
    const hours = check(d.hour!, 'plays', null, 'HOUR', Date.UTC(2026, 10, 25, 0), Date.UTC(2026, 10, 25, 23));
    expect(d.hour).toHaveLength(24);
    expect(d.hour![14]!.period.label).toBe('2026-11-25T14');
    expect(hours[14]).toBeGreaterThan(0);
    check(d.week!, 'plays', 'song1', 'WEEK', Date.UTC(2025, 11, 22), Date.UTC(2027, 0, 10));
    expect(d.week![0]!.period.label).toBe('2025-W52');
    expect(d.week!.at(-1)!.period.label).toBe('2027-W01');
    check(d.month!, 'provider', null, 'MONTH', Date.UTC(2026, 8, 1), NOW, 2);
    const years = check(d.year!, 'plays', null, 'YEAR', Date.UTC(2025, 0, 1), Date.UTC(2027, 0, 1));
    expect(d.year!.map((p) => p.period.label)).toEqual(['2025', '2026', '2027']);
    expect(years.every((c) => c > 0)).toBe(true);
    check(d.yearKey!, 'plays', 'song7', 'YEAR', Date.UTC(2025, 0, 1), Date.UTC(2027, 0, 1));
    check(d.byDefault!, 'plays', null, 'DAY', NOW - 29 * DAY_MS, NOW);
    expect(d.byDefault).toHaveLength(30);
    expect(d.missing!.map((p) => p.count)).toEqual([0, 0, 0, 0]);
    // A window longer than the series: each average still covers 7 days, read before the series.
    check(d.short!, 'plays', null, 'DAY', Date.UTC(2026, 10, 25), Date.UTC(2026, 10, 27), 7);
    expect(d.short!.every((p) => p.average !== null && p.average > 0)).toBe(true);
  });

  it('refuses bad increments and writes nothing of a batch with one bad item', async () => {
    const before = await t.keys();
    const one = (args: string) => t.gql(`mutation { incrementCounter(${args}) { incremented } }`);
    expect(code(await one('name: "x", key: "k", by: 0'))).toBe('BAD_INPUT');
    expect(code(await one('name: "x", key: "k", by: -1'))).toBe('BAD_INPUT');
    expect(code(await one('name: "x", key: ""'))).toBe('BAD_INPUT');
    expect(code(await one(`name: "x", key: "${'k'.repeat(501)}"`))).toBe('BAD_INPUT');
    expect(code(await one('name: "has space", key: "k"'))).toBe('BAD_EVENT_NAME');
    expect(code(await one('name: "a*b", key: "k"'))).toBe('BAD_EVENT_NAME');
    const batch = (bad: Record<string, unknown>) =>
      t.gql(INCREMENTS, { in: [{ name: 'fresh', key: 'k', by: 3 }, bad, { name: 'fresh', key: 'j' }] });
    const r = await batch({ name: 'fresh', key: 'k', by: 0 });
    expect(code(r)).toBe('BAD_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ index: 1 });
    expect(code(await batch({ name: 'bad name', key: 'k' }))).toBe('BAD_EVENT_NAME');
    expect(code(await batch({ name: 'fresh', key: 'k', by: -5 }))).toBe('BAD_INPUT');
    expect(await t.keys()).toEqual(before);
    const q = ok(await t.gql(`{ counters(name: "fresh", period: { current: DAY }) { key value } }`));
    expect(q).toEqual({ counters: [] });
    expect(code(await t.gql(`{ counters(name: "bad name", period: { current: DAY }) { key } }`))).toBe('BAD_EVENT_NAME');
    expect(code(await t.gql(`{ counterSeries(name: "a?b", granularity: DAY, last: 2) { count } }`))).toBe('BAD_EVENT_NAME');
    expect(code(await t.gql(`{ counters(name: "plays", period: { current: DAY }, top: 0) { key } }`))).toBe('BAD_INPUT');
  });
});

describe('counters on Redis in pipeline mode (bitmapist-server commands only)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', redisMode: 'pipeline', now: NOW });
  });
  afterAll(() => t.close());

  it('refuses counters with UNSUPPORTED and writes nothing', async () => {
    expect(code(await t.gql(`mutation { incrementCounter(name: "plays", key: "song1") { incremented } }`))).toBe('UNSUPPORTED');
    expect(code(await t.gql(INCREMENTS, { in: [{ name: 'plays', key: 'song1', by: 2 }] }))).toBe('UNSUPPORTED');
    expect(code(await t.gql(`{ counters(name: "plays", period: { current: DAY }) { key value } }`))).toBe('UNSUPPORTED');
    expect(code(await t.gql(`{ counterSeries(name: "plays", granularity: DAY, last: 3) { count } }`))).toBe('UNSUPPORTED');
    expect(await t.keys()).toEqual([]);
    // Bitmaps still work in this mode.
    ok(await t.gql(`mutation { markEvent(input: { name: "active", userId: 3 }) { marked } }`));
    expect(ok(await t.gql(`{ count(set: { event: { name: "active", period: { current: DAY } } }) }`))).toEqual({ count: 1 });
  });
});
