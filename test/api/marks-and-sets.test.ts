// Marks then questions, through GraphQL, on both engines: counts, contains, members, unmark, unique sets.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');

describe.each(ENGINES)('marks and set queries (%s engine)', (engine) => {
  // Redis allocates a dense bitmap up to the highest offset (512 MiB at 2^32-1), so its tests
  // stay below 2^25; the embedded engine takes the largest id.
  const BIG = engine === 'redis' ? 2 ** 25 - 1 : 4294967295;
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
  });
  afterAll(() => t.close());

  it('writes month, ISO week and day keys in the bitmapist layout (hour and unique when asked)', async () => {
    const r = await t.gql(`mutation {
      a: markEvent(input: { name: "active", userId: 123 }) { marked }
      b: markEvent(input: { name: "played", userId: 0, at: "2026-11-22T00:30:00Z", trackHourly: true, trackUnique: true }) { marked }
    }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: { marked: 1 }, b: { marked: 1 } });
    const p = t.prefix;
    expect(await t.keys()).toEqual(
      [
        `${p}active_2026-11`,
        `${p}active_W2026-47`,
        `${p}active_2026-11-22`,
        `${p}played_2026-11`,
        `${p}played_W2026-47`,
        `${p}played_2026-11-22`,
        `${p}played_2026-11-22-0`,
        `${p}played_u`,
      ].sort(),
    );
    const bytes = await t.engine.dump(`${p}active_2026-11-22`);
    // Offset 123 is bit 3 of byte 15, counted from the most significant bit (SETBIT order).
    expect(bytes?.length).toBe(16);
    expect(bytes?.[15]).toBe(0x80 >> 3);
  });

  it('counts, checks membership and tests emptiness across periods', async () => {
    await t.gql(`mutation { markEvents(input: [
      { name: "login", userId: 1, at: "2026-11-16T10:00:00Z" },
      { name: "login", userId: 2, at: "2026-11-22T10:00:00Z" },
      { name: "login", userId: 3, at: "2026-10-31T23:59:59Z" },
      { name: "login", userId: ${BIG}, at: "2026-11-20" }
    ]) { marked } }`);
    const r = await t.gql(`{
      week: count(set: { event: { name: "login", period: { current: WEEK } } })
      lastWeek: count(set: { event: { name: "login", period: { ago: { granularity: WEEK, periods: 1 } } } })
      month: count(set: { event: { name: "login", period: { at: { granularity: MONTH, date: "2026-11-05" } } } })
      year: count(set: { event: { name: "login", period: { current: YEAR } } })
      prevMonthViaShift: count(set: { event: { name: "login", period: { current: MONTH }, shift: -1 } })
      has1: contains(set: { event: { name: "login", period: { current: MONTH } } }, userId: 1)
      has3: contains(set: { event: { name: "login", period: { current: MONTH } } }, userId: 3)
      hasMax: contains(set: { event: { name: "login", period: { current: WEEK } } }, userId: ${BIG})
      any: hasEvents(set: { event: { name: "login", period: { current: DAY } } })
      none: hasEvents(set: { event: { name: "login", period: { ago: { granularity: DAY, periods: 1 } } } })
    }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({
      week: 3, // 1 (Mon 16th), 2 (Sun 22nd), max id (20th)
      lastWeek: 0,
      month: 3,
      year: 4,
      prevMonthViaShift: 1,
      has1: true,
      has3: false,
      hasMax: true,
      any: true,
      none: false,
    });
  });

  it('pages members in ascending order with stable cursors', async () => {
    const ids = [5, 9, 64, 65, 1000, 70_000, 1_000_000, BIG];
    await t.gql(`mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }`, {
      in: ids.map((userId) => ({ name: 'paged', userId })),
    });
    const seen: number[] = [];
    let after: number | null = null;
    for (let i = 0; i < 10; i++) {
      const r: { data?: { members: { ids: number[]; hasMore: boolean; endCursor: number | null } } | null } = await t.gql(
        `query($after: UserId) { members(set: { event: { name: "paged", period: { current: DAY } } }, first: 3, after: $after) { ids hasMore endCursor } }`,
        { after },
      );
      const page = r.data!.members;
      seen.push(...page.ids);
      if (!page.hasMore) break;
      expect(page.ids).toHaveLength(3);
      after = page.endCursor;
    }
    expect(seen).toEqual(ids);
    const empty = await t.gql(`{ members(set: { event: { name: "nobody", period: { current: DAY } } }) { ids hasMore endCursor } }`);
    expect(empty.data).toEqual({ members: { ids: [], hasMore: false, endCursor: null } });
  });

  it('unmarks, and keeps date-free unique sets', async () => {
    await t.gql(`mutation { a: markEvent(input: { name: "tmp", userId: 42 }) { marked } b: markEvent(input: { name: "tmp", userId: 43 }) { marked } }`);
    await t.gql(`mutation { unmarkEvent(input: { name: "tmp", userId: 42 }) { marked } }`);
    await t.gql(`mutation { a: markUnique(name: "paid", userId: 7) { marked } b: markUnique(name: "paid", userId: 8) { marked } c: unmarkUnique(name: "paid", userId: 8) { marked } }`);
    const r = await t.gql(`{
      day: members(set: { event: { name: "tmp", period: { current: DAY } } }) { ids }
      week: count(set: { event: { name: "tmp", period: { current: WEEK } } })
      paid: members(set: { unique: "paid" }) { ids }
    }`);
    expect(r.data).toEqual({ day: { ids: [43] }, week: 1, paid: { ids: [7] } });
  });

  it('lists events that have data, with a prefix filter', async () => {
    const r = await t.gql(`{ all: events { name } some: events(prefix: "pa") { name } }`);
    expect(r.data).toEqual({
      all: ['active', 'login', 'paged', 'paid', 'played', 'tmp'].map((name) => ({ name })),
      some: [{ name: 'paged' }, { name: 'paid' }],
    });
  });

  it('describes periods', async () => {
    const r = await t.gql(`{
      w: period(granularity: WEEK, at: "2024-12-30") { key label start end previous { key } next { key } }
      y: period(granularity: YEAR) { key label shift(by: -2) { label } eventKeys(name: "a") }
      h: period(granularity: HOUR, at: "2026-11-22T00:10:00Z") { key label }
    }`);
    expect(r.errors).toBeUndefined();
    const d = r.data as Record<string, Record<string, unknown>>;
    expect(d.w).toEqual({
      key: 'W2025-1',
      label: '2025-W01',
      start: '2024-12-30T00:00:00Z',
      end: '2025-01-06T00:00:00Z',
      previous: { key: 'W2024-52' },
      next: { key: 'W2025-2' },
    });
    expect(d.y).toMatchObject({ key: null, label: '2026', shift: { label: '2024' } });
    expect(d.y!.eventKeys).toEqual(Array.from({ length: 12 }, (_, i) => `${t.prefix}a_2026-${i + 1}`));
    expect(d.h).toEqual({ key: '2026-11-22-0', label: '2026-11-22T00' });
  });
});
