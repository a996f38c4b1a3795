// bitmapql_marks_total and bitmapql_counter_increments_total count what storage acknowledged, where it is written, whatever field or selection asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { incrementCounters } from '../../src/resolvers/counters.ts';
import { markEvents, markUnique } from '../../src/resolvers/events.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const AT = '2026-03-04T10:00:00Z';
const at = { utcMs: Date.parse(AT) };

async function value(t: TestGateway, sample: string): Promise<number> {
  const text = await (await t.gateway.yoga.fetch('http://yoga/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
const marks = (t: TestGateway, action: 'mark' | 'unmark'): Promise<number> => value(t, `bitmapql_marks_total{action="${action}"}`);
const hits = (t: TestGateway): Promise<number> => value(t, 'bitmapql_counter_increments_total');

describe('write tally', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'embedded' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('counts marks and counter hits made by the domain calls themselves, with no GraphQL field around them', async () => {
    const ctx = createContext(t.gateway.services);
    const ids = Array.from({ length: 37 }, (_, i) => i * 3 + 1);
    expect(await markEvents(ctx, ids.map((userId) => ({ name: 'tally', userId, at })), 1)).toEqual({ marked: ids.length });
    expect(await marks(t, 'mark')).toBe(ids.length);
    expect(await markEvents(ctx, ids.slice(0, 5).map((userId) => ({ name: 'tally', userId, at })), 0)).toEqual({ marked: 5 });
    expect(await marks(t, 'unmark')).toBe(5);
    await markUnique(ctx, { name: 'tally', userId: 9 }, 1);
    expect(await marks(t, 'mark')).toBe(ids.length + 1);
    const counted = ['a', 'b', 'a', 'c'].map((key) => ({ name: 'plays', key, at }));
    expect(await incrementCounters(ctx, counted)).toEqual({ incremented: 4, replayed: false });
    expect(await hits(t)).toBe(4); // hits, not the 4 period hashes each adds to
  });

  it('counts marks whatever the selection: an alias, only __typename, a fragment', async () => {
    const before = await marks(t, 'mark');
    const beforeHits = await hits(t);
    const r = await t.gql(
      `mutation {
        a: markEvents(input: [{ name: "sel", userId: 1, at: "${AT}" }, { name: "sel", userId: 2, at: "${AT}" }]) { __typename }
        b: markEvent(input: { name: "sel", userId: 3, at: "${AT}" }) { ...M }
        c: incrementCounters(input: [{ name: "plays", key: "z", at: "${AT}" }, { name: "plays", key: "y", at: "${AT}" }]) { __typename }
      }
      fragment M on MarkResult { marked }`,
    );
    expect(r.errors).toBeUndefined();
    expect(await marks(t, 'mark')).toBe(before + 3);
    expect(await hits(t)).toBe(beforeHits + 2);
  });

  it('counts nothing for a refused batch', async () => {
    const before = await marks(t, 'mark');
    const r = await t.gql(`mutation { markEvents(input: [{ name: "ok", userId: 1, at: "${AT}" }, { name: "bad name!", userId: 2 }]) { marked } }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_EVENT_NAME');
    expect(await marks(t, 'mark')).toBe(before);
  });
});
