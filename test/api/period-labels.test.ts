// The API's own period labels (2026-W47, 2026-11, 2026, …) are accepted wherever it takes a date, and mean their period.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { code, ok } from '../assertions.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');

/**
 * Marks across year and ISO week-year ends, each with its labels worked out by hand from a
 * calendar: 2024-12-30 is a Monday in 2025-W01, 2020 has 53 ISO weeks, 2026-11-22 is the Sunday of 2026-W47.
 */
const MARKS: ReadonlyArray<{ user: number; at: string; labels: readonly string[] }> = [
  { user: 1, at: '2024-12-29T23:30:00Z', labels: ['2024', '2024-12', '2024-W52', '2024-12-29', '2024-12-29T23', '2024-12-29T23:30'] },
  { user: 2, at: '2024-12-30T00:00:00Z', labels: ['2024', '2024-12', '2025-W01', '2024-12-30', '2024-12-30T00', '2024-12-30T00:00'] },
  { user: 3, at: '2025-01-01T12:00:00Z', labels: ['2025', '2025-01', '2025-W01', '2025-01-01', '2025-01-01T12', '2025-01-01T12:00'] },
  { user: 4, at: '2020-12-31T08:00:00Z', labels: ['2020', '2020-12', '2020-W53', '2020-12-31', '2020-12-31T08', '2020-12-31T08:00'] },
  { user: 5, at: '2021-01-03T22:00:00Z', labels: ['2021', '2021-01', '2020-W53', '2021-01-03', '2021-01-03T22', '2021-01-03T22:00'] },
  { user: 6, at: '2021-01-04T01:00:00Z', labels: ['2021', '2021-01', '2021-W01', '2021-01-04', '2021-01-04T01', '2021-01-04T01:00'] },
  { user: 7, at: '2026-11-22T09:05:00Z', labels: ['2026', '2026-11', '2026-W47', '2026-11-22', '2026-11-22T09', '2026-11-22T09:05'] },
  { user: 8, at: '2026-11-16T00:00:00Z', labels: ['2026', '2026-11', '2026-W47', '2026-11-16', '2026-11-16T00', '2026-11-16T00:00'] },
];

const GRANULARITY = (label: string): string =>
  /W/.test(label) ? 'WEEK' : /:/.test(label) ? 'MINUTE' : /T/.test(label) ? 'HOUR' : label.length === 10 ? 'DAY' : label.length === 7 ? 'MONTH' : 'YEAR';

/** Users of each label, from the table above. */
const REFERENCE = new Map<string, Set<number>>();
for (const m of MARKS) for (const l of m.labels) (REFERENCE.get(l) ?? REFERENCE.set(l, new Set()).get(l)!).add(m.user);

describe('period labels as dates', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'embedded', now: NOW });
    const input = MARKS.map((m) => ({ name: 'seen', userId: m.user, at: m.at, trackHourly: true, trackMinutely: true }));
    ok(await t.gql(`mutation ($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }`, { in: input }));
    ok(await t.gql(`mutation { incrementCounters(input: [
      { name: "hits", key: "a", by: 2, at: "2026-11-16T10:00:00Z" }
      { name: "hits", key: "a", by: 3, at: "2026-11-30T23:00:00Z" }
      { name: "hits", key: "a", by: 5, at: "2026-12-01T00:00:00Z" }
    ]) { incremented } }`));
  });
  afterAll(() => t.close());

  it('an event leaf at a label counts the users of that period, and period(at:) gives the label back', async () => {
    const labels = [...REFERENCE.keys()];
    const fields = labels.map(
      (l, i) => `c${i}: count(set: { event: { name: "seen", period: { at: { granularity: ${GRANULARITY(l)}, date: "${l}" } } } })
                 p${i}: period(granularity: ${GRANULARITY(l)}, at: "${l}") { label }`,
    );
    const d = ok(await t.gql<Record<string, unknown>>(`{ ${fields.join('\n')} }`));
    labels.forEach((l, i) => {
      expect(d[`c${i}`], l).toBe(REFERENCE.get(l)!.size);
      expect(d[`p${i}`], l).toEqual({ label: l });
    });
  });

  it('labels an answer prints are taken back as from/to/date, for every granularity', async () => {
    const ranges: Array<[string, string, string]> = [
      ['MINUTE', '2024-12-29T23:28', '2024-12-30T00:02'],
      ['HOUR', '2024-12-29T22', '2024-12-30T01'],
      ['DAY', '2020-12-30', '2021-01-05'],
      ['WEEK', '2020-W52', '2021-W02'],
      ['WEEK', '2024-W51', '2025-W02'],
      ['MONTH', '2024-11', '2025-02'],
      ['YEAR', '2019', '2022'],
    ];
    type Point = { period: { label: string }; count: number };
    for (const [g, from, to] of ranges) {
      const { series } = ok(await t.gql<{ series: Point[] }>(`{ series(set: { event: { name: "seen" } }, granularity: ${g}, from: "${from}", to: "${to}") { period { label } count } }`));
      expect(series[0]!.period.label, g).toBe(from);
      expect(series.at(-1)!.period.label, g).toBe(to);
      const again = ok(
        await t.gql<Record<string, unknown>>(`{ ${series
          .map((p, i) => `c${i}: count(set: { event: { name: "seen", period: { at: { granularity: ${g}, date: "${p.period.label}" } } } }) p${i}: period(granularity: ${g}, at: "${p.period.label}") { label }`)
          .join('\n')} }`),
      );
      series.forEach((p, i) => {
        expect(again[`p${i}`], `${g} ${p.period.label}`).toEqual({ label: p.period.label });
        expect(again[`c${i}`], `${g} ${p.period.label}`).toBe(p.count);
        expect(p.count, `${g} ${p.period.label}`).toBe(REFERENCE.get(p.period.label)?.size ?? 0);
      });
    }
  });

  it('range leaves, cohorts and counter series take labels too, as variables as well as literals', async () => {
    const d = ok(
      await t.gql<{ range: number; cohort: { rows: Array<{ period: { label: string }; size: number }> }; hits: Array<{ period: { label: string }; count: number }>; v: { label: string } }>(
        `query ($week: DateTime!) {
          range: count(set: { range: { name: "seen", granularity: MONTH, from: "2024-12", to: "2025-01" } })
          cohort(cohort: { event: { name: "seen" } }, activity: { event: { name: "seen" } }, granularity: WEEK, from: "2024-W52", to: "2025-W01") { rows { period { label } size } }
          hits: counterSeries(name: "hits", granularity: MONTH, from: "2026-11", to: "2026-12") { period { label } count }
          v: period(granularity: WEEK, at: $week) { label }
        }`,
        { week: '2026-W47' },
      ),
    );
    expect(d.range).toBe(new Set([...REFERENCE.get('2024-12')!, ...REFERENCE.get('2025-01')!]).size);
    expect(d.cohort.rows.map((r) => [r.period.label, r.size])).toEqual([
      ['2024-W52', REFERENCE.get('2024-W52')!.size],
      ['2025-W01', REFERENCE.get('2025-W01')!.size],
    ]);
    expect(d.hits.map((p) => [p.period.label, p.count])).toEqual([['2026-11', 5], ['2026-12', 5]]);
    expect(d.v).toEqual({ label: '2026-W47' });
  });

  it('refuses a malformed label with BAD_DATETIME, and still answers', async () => {
    for (const bad of ['2026-W54', '2025-W53', '2026-13', '2026-1', '+010000', '2026-W47T09']) {
      expect(code(await t.gql(`{ period(granularity: WEEK, at: "${bad}") { label } }`)), bad).toBe('BAD_DATETIME');
      expect(code(await t.gql(`query ($d: DateTime!) { period(granularity: WEEK, at: $d) { label } }`, { d: bad })), bad).toBe('BAD_DATETIME');
    }
    const r = await t.gql(`{ series(set: { event: { name: "seen" } }, granularity: WEEK, from: "2026-W00") { count } }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_DATETIME');
    expect(r.errors?.[0]?.message).toMatch(/2026-W00.*names no ISO week/);
    expect(ok(await t.gql(`{ period(granularity: WEEK, at: "2026-W53") { label } }`))).toEqual({ period: { label: '2026-W53' } });
  });
});
