// Periods of a request's own time zone (`timeZone`) read from keys written in the storage zone:
// series, cohort, funnel and period against a reference of plain Sets built from the marks'
// instants with Intl alone, across DST changes; the storage keys read; the coded refusals.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.ts';
import { ENGINES, TEST_AUTH, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { code, ok } from '../assertions.ts';
import { DAY_MS, HOUR, events, isoWeekOf, localDay, localLabel, markAll, users } from './zone-reference.ts';
import type { Mark } from './zone-reference.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');

const both = (a: Set<number>, b: Set<number>): number => [...a].filter((x) => b.has(x)).length;

/** Random instants (whole seconds) around both 2026 US DST changes and the month ends near them. */
function randomMarks(seed: number, n: number): Mark[] {
  const r = rng(seed);
  const windows = [
    [Date.parse('2026-02-20T00:00:00Z'), Date.parse('2026-04-06T00:00:00Z')],
    [Date.parse('2026-10-20T00:00:00Z'), Date.parse('2026-11-16T00:00:00Z')],
  ] as const;
  return Array.from({ length: n }, () => {
    const [a, b] = windows[Math.floor(r() * windows.length)]!;
    // Half of them within two hours of a UTC midnight: the hours local days are cut at.
    let ms = a + Math.floor(r() * (b - a));
    if (r() < 0.5) ms = Math.floor(ms / DAY_MS) * DAY_MS + Math.floor((r() * 12 - 6) * HOUR);
    return { name: r() < 0.5 ? 'a' : 'b', userId: Math.floor(r() * 120), ms: Math.floor(ms / 1000) * 1000 };
  });
}

const mark = (g: TestGateway, marks: readonly Mark[], trackHourly = true): Promise<void> => markAll(g, marks, { trackHourly });

interface Point {
  period: { label: string; start: string; end: string; key: string | null };
  count: number;
}

const SERIES = `query($g: Granularity!, $from: DateTime!, $to: DateTime!, $tz: String, $name: String!) {
  series(set: { event: { name: $name } }, granularity: $g, from: $from, to: $to, timeZone: $tz) { period { label start end key } count }
}`;

for (const engine of ENGINES) {
  describe(`time zones per request (${engine})`, () => {
    let g: TestGateway;
    const marks = randomMarks(20260308, 1500);

    beforeAll(async () => {
      g = await testGateway({ engine, now: NOW, config: { trackHourly: true } });
      await mark(g, marks);
      // c: marked without hour keys, once on 2026-03-08 (UTC), and once on 2026-01-15
      await mark(g, [{ name: 'c', userId: 7, ms: Date.parse('2026-03-08T12:00:00Z') }, { name: 'c', userId: 8, ms: Date.parse('2026-01-15T12:00:00Z') }], false);
    });
    afterAll(() => g.close());

    for (const [zone, gran, from, to] of [
      ['America/New_York', 'DAY', '2026-02-27', '2026-03-12'],
      ['America/New_York', 'DAY', '2026-10-29', '2026-11-04'],
      ['America/New_York', 'WEEK', '2026-02-23', '2026-04-01'],
      ['America/New_York', 'MONTH', '2026-03-01', '2026-03-01'],
      ['America/New_York', 'MONTH', '2026-10-01', '2026-11-01'],
      ['Europe/London', 'DAY', '2026-03-26', '2026-04-02'],
      ['Europe/London', 'WEEK', '2026-10-19', '2026-11-09'],
      ['Asia/Tokyo', 'DAY', '2026-03-01', '2026-03-05'],
    ] as const) {
      it(`series by ${gran} in ${zone} ${from}..${to}: counts of the local periods, labels and bounds in the zone`, async () => {
        for (const name of ['a', 'b']) {
          const points = ok(await g.gql<{ series: Point[] }>(SERIES, { g: gran, from, to, tz: zone, name })).series;
          expect(points.length).toBeGreaterThan(0);
          for (const p of points) {
            const start = Date.parse(p.period.start);
            const end = Date.parse(p.period.end);
            // The period's bounds are the local period's: its first instant and the next's, both on its local label.
            expect(localLabel(gran, start, zone)).toBe(p.period.label);
            expect(localLabel(gran, start - 1000, zone)).not.toBe(p.period.label);
            expect(localLabel(gran, end - 1000, zone)).toBe(p.period.label);
            expect(localLabel(gran, end, zone)).not.toBe(p.period.label);
            expect(p.count, `${name} ${p.period.label}`).toBe(users(marks, name, gran, p.period.label, zone).size);
          }
          expect(points[0]!.period.label).toBe(localLabel(gran, Date.parse(`${from}T12:00:00Z`), zone));
        }
      });
    }

    it('a DST day in New York is 23 or 25 hours, printed with the offset of its start', async () => {
      const points = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-03-08', to: '2026-03-08', tz: 'America/New_York', name: 'a' })).series;
      expect(points[0]!.period).toMatchObject({ label: '2026-03-08', start: '2026-03-08T00:00:00-05:00', end: '2026-03-09T00:00:00-04:00', key: null });
      const fall = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-11-01', to: '2026-11-01', tz: 'America/New_York', name: 'a' })).series;
      expect(Date.parse(fall[0]!.period.end) - Date.parse(fall[0]!.period.start)).toBe(25 * HOUR);
    });

    it('the storage zone named as timeZone reads the same keys as without it', async () => {
      const plain = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-10', tz: null, name: 'a' })).series;
      const utc = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-10', tz: 'UTC', name: 'a' })).series;
      expect(utc).toEqual(plain);
      expect(plain[0]!.period.key).toBe('2026-3-1');
      for (const p of plain) expect(p.count).toBe(users(marks, 'a', 'DAY', p.period.label, 'UTC').size);
    });

    it('period in a zone lists the storage keys it is read as: whole storage periods inside, hour keys at the edges', async () => {
      const q = `query($g: Granularity!, $at: DateTime!, $tz: String) { period(granularity: $g, at: $at, timeZone: $tz) { label start key eventKeys(name: "a") } }`;
      type P = { period: { label: string; start: string; key: string | null; eventKeys: string[] } };
      const day = ok(await g.gql<P>(q, { g: 'DAY', at: '2026-03-08', tz: 'America/New_York' })).period;
      // 2026-03-08 in New York: 05:00 UTC that day to 04:00 UTC the next (EDT from 07:00 UTC): 23 hours.
      const hours = Array.from({ length: 23 }, (_, i) => new Date(Date.parse('2026-03-08T05:00:00Z') + i * HOUR));
      expect(day.eventKeys).toEqual(hours.map((d) => `${g.prefix}a_${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}-${d.getUTCHours()}`));
      expect(day.key).toBeNull();
      const month = ok(await g.gql<P>(q, { g: 'MONTH', at: '2026-03-15', tz: 'America/New_York' })).period;
      const expected = [
        ...Array.from({ length: 19 }, (_, i) => `${g.prefix}a_2026-3-1-${i + 5}`),
        `${g.prefix}a_W2026-10`,
        `${g.prefix}a_W2026-11`,
        `${g.prefix}a_W2026-12`,
        `${g.prefix}a_W2026-13`,
        `${g.prefix}a_2026-3-30`,
        `${g.prefix}a_2026-3-31`,
        ...Array.from({ length: 4 }, (_, i) => `${g.prefix}a_2026-4-1-${i}`),
      ];
      expect(month.eventKeys).toEqual(expected);
      // London in winter is UTC: its day is the storage day, one key.
      const london = ok(await g.gql<P>(q, { g: 'DAY', at: '2026-01-15', tz: 'Europe/London' })).period;
      expect(london.eventKeys).toEqual([`${g.prefix}a_2026-1-15`]);
      const utc = ok(await g.gql<P>(q, { g: 'DAY', at: '2026-03-08', tz: 'UTC' })).period;
      expect(utc).toMatchObject({ key: '2026-3-8', eventKeys: [`${g.prefix}a_2026-3-8`], start: '2026-03-08T00:00:00Z' });
    });

    it('cohort in New York across the spring change: rows, cells and labels from local days', async () => {
      const q = `{ cohort(cohort: { event: { name: "a" } }, activity: { event: { name: "b" } }, granularity: DAY, from: "2026-03-05", rows: 6, columns: 4, timeZone: "America/New_York") {
        rows { period { label start } size cells } } }`;
      type C = { cohort: { rows: Array<{ period: { label: string; start: string }; size: number; cells: Array<number | null> }> } };
      const rows = ok(await g.gql<C>(q)).cohort.rows;
      const day = (d: string, k: number): string => new Date(Date.parse(`${d}T00:00:00Z`) + k * DAY_MS).toISOString().slice(0, 10);
      expect(rows.map((r) => r.period.label)).toEqual([0, 1, 2, 3, 4, 5].map((k) => day('2026-03-05', k)));
      for (const r of rows) {
        const cohortSet = users(marks, 'a', 'DAY', r.period.label, 'America/New_York');
        expect(r.size).toBe(cohortSet.size);
        expect(localDay(Date.parse(r.period.start), 'America/New_York')).toBe(r.period.label);
        r.cells.forEach((cell, k) => {
          const act = users(marks, 'b', 'DAY', day(r.period.label, k), 'America/New_York');
          expect(cell, `${r.period.label}+${k}`).toBe(cohortSet.size === 0 || act.size === 0 ? null : both(cohortSet, act));
        });
      }
    });

    it('funnel in New York: event, range and week leaves named on the local clock', async () => {
      const q = `{ funnel(timeZone: "America/New_York", steps: [
        { event: { name: "a", period: { at: { granularity: DAY, date: "2026-11-01" } } } },
        { range: { name: "b", granularity: DAY, from: "2026-11-01", to: "2026-11-03" } },
        { event: { name: "a", period: { at: { granularity: WEEK, date: "2026-11-04" } } } }
      ]) { count } }`;
      const steps = ok(await g.gql<{ funnel: Array<{ count: number }> }>(q)).funnel;
      const zone = 'America/New_York';
      const s1 = users(marks, 'a', 'DAY', '2026-11-01', zone);
      const s2 = new Set(['2026-11-01', '2026-11-02', '2026-11-03'].flatMap((d) => [...users(marks, 'b', 'DAY', d, zone)]));
      const s3 = users(marks, 'a', 'WEEK', isoWeekOf('2026-11-04'), zone);
      const one2 = new Set([...s1].filter((x) => s2.has(x)));
      expect(steps.map((s) => s.count)).toEqual([s1.size, one2.size, [...one2].filter((x) => s3.has(x)).length]);
      expect(s1.size).toBeGreaterThan(0);
    });

    it('counters in New York: counterSeries and counters sum the hashes covering each local period', async () => {
      const r = rng(1101);
      const hits = Array.from({ length: 400 }, () => {
        const [a, b] = [Date.parse('2026-10-28T00:00:00Z'), Date.parse('2026-11-05T00:00:00Z')];
        return { name: 'plays', key: `song-${Math.floor(r() * 5)}`, by: 1 + Math.floor(r() * 3), ms: Math.floor((a + r() * (b - a)) / 1000) * 1000 };
      });
      const input = hits.map((h) => ({ name: h.name, key: h.key, by: h.by, at: new Date(h.ms).toISOString() }));
      ok(await g.gql('mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }', { in: input }));
      const zone = 'America/New_York';
      const sum = (label: string, key?: string): number =>
        hits.filter((h) => localDay(h.ms, zone) === label && (key === undefined || h.key === key)).reduce((n, h) => n + h.by, 0);
      type S = { counterSeries: Array<{ period: { label: string }; count: number }> };
      for (const key of [null, 'song-2']) {
        const points = ok(await g.gql<S>(`query($key: String) { counterSeries(name: "plays", key: $key, granularity: DAY, from: "2026-10-29", to: "2026-11-03", timeZone: "${zone}") { period { label } count } }`, { key })).counterSeries;
        expect(points.map((p) => p.period.label)).toEqual(['2026-10-29', '2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02', '2026-11-03']);
        for (const p of points) expect(p.count, `${key} ${p.period.label}`).toBe(sum(p.period.label, key ?? undefined));
      }
      const top = ok(await g.gql<{ counters: Array<{ key: string; value: number }> }>(`{ counters(name: "plays", period: { at: { granularity: DAY, date: "2026-11-01" } }, top: 5, timeZone: "${zone}") { key value } }`)).counters;
      const expected = new Map<string, number>();
      for (const h of hits) if (localDay(h.ms, zone) === '2026-11-01') expected.set(h.key, (expected.get(h.key) ?? 0) + h.by);
      expect(new Map(top.map((t) => [t.key, t.value]))).toEqual(expected);
      // Kolkata's 1 November is read with the minute hashes of the UTC hours 18 at its two ends, which these increments (no TRACK_MINUTELY) lack.
      const kolkata = await g.gql(`{ counters(name: "plays", period: { at: { granularity: DAY, date: "2026-11-01" } }, timeZone: "Asia/Kolkata") { key } }`);
      const cut = ['2026-10-31T18', '2026-11-01T18'].filter((hour) => hits.some((h) => new Date(h.ms).toISOString().slice(0, 13) === hour));
      if (cut.length) {
        expect(code(kolkata)).toBe('MINUTES_NOT_TRACKED');
        expect(kolkata.errors![0]!.extensions).toMatchObject({ counter: 'plays', hour: cut[0] });
      } else ok(kolkata);
    });

    it('HOURS_NOT_TRACKED names the event and the storage day whose hours are missing', async () => {
      const r = await g.gql(SERIES, { g: 'DAY', from: '2026-03-07', to: '2026-03-09', tz: 'America/New_York', name: 'c' });
      expect(code(r)).toBe('HOURS_NOT_TRACKED');
      expect(r.errors![0]!.extensions).toMatchObject({ event: 'c', day: '2026-03-08' });
      // In the storage zone, and in a zone that is the storage zone then (London in January), it answers.
      const utc = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-03-08', to: '2026-03-08', tz: null, name: 'c' })).series;
      expect(utc[0]!.count).toBe(1);
      const london = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-01-15', to: '2026-01-15', tz: 'Europe/London', name: 'c' })).series;
      expect(london[0]!.count).toBe(1);
      // Tokyo's January is 15:00 UTC on 31 December to 15:00 UTC on 31 January: the mark of 15 January is in a whole storage day inside.
      const funnel = (unit: string, date: string): string =>
        `{ funnel(timeZone: "Asia/Tokyo", steps: [{ event: { name: "c", period: { at: { granularity: ${unit}, date: "${date}" } } } }]) { count } }`;
      expect(ok(await g.gql<{ funnel: Array<{ count: number }> }>(funnel('MONTH', '2026-01-10'))).funnel[0]!.count).toBe(1);
      // Tokyo's 16 January starts at 15:00 UTC on the 15th: that day's hours are needed, and were not recorded.
      const f = await g.gql(funnel('DAY', '2026-01-16'));
      expect(code(f)).toBe('HOURS_NOT_TRACKED');
      expect(f.errors![0]!.extensions).toMatchObject({ event: 'c', day: '2026-01-15', timeZone: 'Asia/Tokyo', storageTimeZone: 'UTC' });
    });

    it('zones not a whole number of hours from the storage zone need minute keys, which these marks lack (Kolkata; Lord Howe in its winter and on its change day)', async () => {
      // Kolkata days end at 18:30 UTC: read with the minute keys of the UTC hours 18, which marks without trackMinutely did not write.
      const kolkata = await g.gql(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-02', tz: 'Asia/Kolkata', name: 'a' });
      expect(code(kolkata)).toBe('MINUTES_NOT_TRACKED');
      const marked = (hour: string): boolean => marks.some((m) => m.name === 'a' && new Date(m.ms).toISOString().slice(0, 13) === hour);
      expect(kolkata.errors![0]!.extensions).toMatchObject({ event: 'a', timeZone: 'Asia/Kolkata', storageTimeZone: 'UTC' });
      expect(marked(kolkata.errors![0]!.extensions!.hour as string)).toBe(true);
      // Lord Howe: +11 in its summer (whole hours from UTC), +10:30 in its winter, changing by 30 minutes on 2026-04-05.
      const summer = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-03', tz: 'Australia/Lord_Howe', name: 'a' })).series;
      for (const p of summer) expect(p.count).toBe(users(marks, 'a', 'DAY', p.period.label, 'Australia/Lord_Howe').size);
      const change = await g.gql(SERIES, { g: 'DAY', from: '2026-04-05', to: '2026-04-05', tz: 'Australia/Lord_Howe', name: 'a' });
      // Its change day ends at 13:30 UTC: minute keys again.
      if (marked('2026-04-05T13')) expect(code(change)).toBe('MINUTES_NOT_TRACKED');
      else ok(change);
      expect(code(await g.gql(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-01', tz: 'Mars/Olympus_Mons', name: 'a' }))).toBe('BAD_INPUT');
      // Still up.
      expect(ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-01', tz: null, name: 'a' })).series).toHaveLength(1);
    });
  });
}

describe('time zones: cost and a storage zone with DST', () => {
  it('the cost from the shape prices the covering keys and hour checks, before any work', async () => {
    const g = await testGateway({ engine: 'redis', now: NOW, config: { trackHourly: true, maxCost: 1000 } });
    try {
      // 30 points in UTC cost 30; in New York each local day is up to 25 hour keys and two days' checks.
      ok(await g.gql(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-30', tz: null, name: 'a' }));
      const r = await g.gql(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-30', tz: 'America/New_York', name: 'a' });
      expect(code(r)).toBe('TOO_COMPLEX');
      expect(r.errors![0]!.extensions).toMatchObject({ limit: 1000 });
      expect(r.errors![0]!.extensions!.cost as number).toBeGreaterThanOrEqual(30 * 25);
      // Few enough points fit.
      ok(await g.gql(SERIES, { g: 'DAY', from: '2026-03-01', to: '2026-03-05', tz: 'America/New_York', name: 'a' }));
    } finally {
      await g.close();
    }
  });

  it('storage in Europe/Amsterdam: UTC-1 days answer from hour keys, except one cut inside the repeated hour of 2026-10-25', async () => {
    const g = await testGateway({ engine: 'embedded', now: NOW, config: { trackHourly: true, timeZone: 'Europe/Amsterdam' } });
    try {
      const marks = randomMarks(7, 800);
      await mark(g, marks);
      const zone = 'Etc/GMT+1'; // UTC-1: its midnight is 01:00 UTC, the second 02:00 in Amsterdam on 2026-10-25
      const points = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-10-20', to: '2026-10-23', tz: zone, name: 'a' })).series;
      for (const p of points) expect(p.count).toBe(users(marks, 'a', 'DAY', p.period.label, zone).size);
      const cut = await g.gql(SERIES, { g: 'DAY', from: '2026-10-25', to: '2026-10-25', tz: zone, name: 'a' });
      expect(code(cut)).toBe('TIME_ZONE_UNALIGNED');
      expect(cut.errors![0]!.extensions).toMatchObject({ reason: 'repeated-hour' });
      // UTC days around the change are whole Amsterdam hours: they answer, exactly.
      const utc = ok(await g.gql<{ series: Point[] }>(SERIES, { g: 'DAY', from: '2026-10-24', to: '2026-10-27', tz: 'UTC', name: 'b' })).series;
      for (const p of utc) expect(p.count).toBe(users(marks, 'b', 'DAY', p.period.label, 'UTC').size);
    } finally {
      await g.close();
    }
  });
});

describe('time zones: live series', () => {
  it('a subscription in New York answers in New York days and moves on at New York midnight', async () => {
    const t = await testGateway({ engine: 'redis', config: { trackHourly: true } });
    // The clock shows 1.5 s before a New York midnight (04:00 or 05:00 UTC, not a UTC day end).
    const zone = 'America/New_York';
    let midnight = Math.ceil(Date.now() / HOUR) * HOUR;
    while (localDay(midnight - 1, zone) === localDay(midnight, zone)) midnight += HOUR;
    const offset = midnight - 1500 - Date.now();
    const g = await createGateway(t.config, { engine: t.engine, now: () => Date.now() + offset });
    const controller = new AbortController();
    try {
      const today = localDay(midnight - 1, zone);
      const marked = await g.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...TEST_AUTH },
        body: JSON.stringify({ query: 'mutation { markEvent(input: { name: "live", userId: 5 }) { marked } }' }),
      });
      expect(((await marked.json()) as { errors?: unknown }).errors).toBeUndefined();
      const res = await g.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
        body: JSON.stringify({ query: `subscription { series(set: { event: { name: "live" } }, granularity: DAY, last: 2, timeZone: "${zone}") { count period { label } } }` }),
      });
      const stream = events(res.body!);
      type S = Array<{ count: number; period: { label: string } }>;
      const first = (await stream.next()).value!.data!.series as S;
      expect(first.map((p) => p.count)).toEqual([0, 1]);
      expect(first[1]!.period.label).toBe(today);
      const after = (await stream.next()).value!.data!.series as S;
      expect(after.map((p) => p.count)).toEqual([1, 0]);
      expect(after[0]!.period.label).toBe(today);
      // An unknown zone is refused with a code.
      const bad = await t.gql(`{ series(set: { event: { name: "live" } }, granularity: DAY, last: 2, timeZone: "Nowhere/Else") { count } }`);
      expect(code(bad)).toBe('BAD_INPUT');
    } finally {
      controller.abort();
      await g.close();
      await t.close();
    }
  });
});
