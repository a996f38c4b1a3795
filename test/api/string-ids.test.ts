// String ids: external ids mapped to dense ids, on both engines, checked against a plain Map reference.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { code, ok } from '../assertions.ts';
import { ENGINES, redisUrl, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const MARK = `mutation ($input: [MarkEventInput!]!) { markEvents(input: $input) { marked } }`;

/** The mapping must be a bijection onto 0..n-1: every external id one dense id, no id twice. */
function expectDenseBijection(pairs: ReadonlyArray<readonly [string, number]>): void {
  const byExternal = new Map<string, number>();
  for (const [e, id] of pairs) {
    const had = byExternal.get(e);
    if (had !== undefined) expect(id, `external ${e} got two ids`).toBe(had);
    byExternal.set(e, id);
  }
  const ids = [...byExternal.values()].sort((a, b) => a - b);
  expect(ids).toEqual(ids.map((_, i) => i));
}

describe.each(ENGINES)('string ids (%s engine)', (engine) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW, config: { idMapping: true } });
  });
  afterAll(() => t.close());

  it('marks by external id, answers contains and members with the same users as a Set reference', async () => {
    const random = rng(41);
    const repos = Array.from({ length: 60 }, (_, i) => `owner${i % 7}/repo-${i}/ref with spaces ✓`);
    const launched = new Map<string, Set<string>>([
      ['2026-11-20', new Set()],
      ['2026-11-21', new Set()],
    ]);
    const input = [];
    for (let i = 0; i < 300; i++) {
      const day = random() < 0.5 ? '2026-11-20' : '2026-11-21';
      const repo = repos[Math.floor(random() * random() * repos.length)]!;
      launched.get(day)!.add(repo);
      input.push({ name: 'launch', externalId: repo, at: `${day}T12:00:00Z` });
    }
    expect(ok(await t.gql(MARK, { input }))).toEqual({ markEvents: { marked: 300 } });

    for (const [day, set] of launched) {
      const r = ok(
        await t.gql<{ count: number; members: { ids: number[]; externalIds: string[]; hasMore: boolean } }>(
          `query ($day: DateTime!) {
            count(set: { event: { name: "launch", period: { at: { granularity: DAY, date: $day } } } })
            members(set: { event: { name: "launch", period: { at: { granularity: DAY, date: $day } } } }, first: 1000) { ids externalIds hasMore }
          }`,
          { day },
        ),
      );
      expect(r.count).toBe(set.size);
      expect(r.members.hasMore).toBe(false);
      expect(new Set(r.members.externalIds)).toEqual(set);
      expect(r.members.externalIds).toHaveLength(r.members.ids.length);
    }
    // Every repo that was marked has one dense id, 0..n-1.
    const all = new Set([...launched.values()].flatMap((s) => [...s]));
    const ids = await t.engine.resolveIds([...all], false);
    expectDenseBijection([...all].map((e, i) => [e, ids[i]!] as const));

    const some = [...launched.get('2026-11-20')!][0]!;
    const notThere = repos.find((r) => !launched.get('2026-11-21')!.has(r))!;
    const c = ok(
      await t.gql(
        `query ($a: String!, $b: String!) {
          yes: contains(set: { event: { name: "launch", period: { at: { granularity: DAY, date: "2026-11-20" } } } }, externalId: $a)
          no: contains(set: { event: { name: "launch", period: { at: { granularity: DAY, date: "2026-11-21" } } } }, externalId: $b)
          byId: contains(set: { event: { name: "launch", period: { at: { granularity: DAY, date: "2026-11-20" } } } }, userId: ${ids[[...all].indexOf(some)]})
        }`,
        { a: some, b: notThere },
      ),
    );
    expect(c).toEqual({ yes: true, no: launched.get('2026-11-21')!.has(notThere), byId: true });
  });

  it('a never-seen external id is in no set and is not assigned by reads or unmarks', async () => {
    const before = await t.engine.resolveIds(['ghost'], false);
    expect(before).toEqual([null]);
    const r = ok(
      await t.gql(`{
        a: contains(set: { event: { name: "launch", period: { current: MONTH } } }, externalId: "ghost")
        b: contains(set: { ids: [0, 1, 2, 3] }, externalId: "ghost")
      }`),
    );
    expect(r).toEqual({ a: false, b: false });
    const u = ok(await t.gql(`mutation { unmarkEvent(input: { name: "launch", externalId: "ghost" }) { marked } unmarkUnique(name: "launch", externalId: "ghost") { marked } }`));
    expect(u).toEqual({ unmarkEvent: { marked: 0 }, unmarkUnique: { marked: 0 } });
    expect(await t.engine.resolveIds(['ghost'], false)).toEqual([null]);
  });

  it('unmarks and unique sets by external id', async () => {
    ok(await t.gql(`mutation { markUnique(name: "signup", externalId: "alice@example.com") { marked } }`));
    const [alice] = await t.engine.resolveIds(['alice@example.com'], false);
    expect(alice).toEqual(expect.any(Number));
    const q = `{ contains(set: { unique: "signup" }, externalId: "alice@example.com") }`;
    expect(ok(await t.gql(q))).toEqual({ contains: true });
    // The bit is at the dense id in the bitmapist unique key.
    expect(ok(await t.gql(`{ contains(set: { unique: "signup" }, userId: ${alice}) }`))).toEqual({ contains: true });
    ok(await t.gql(`mutation { unmarkUnique(name: "signup", externalId: "alice@example.com") { marked } }`));
    expect(ok(await t.gql(q))).toEqual({ contains: false });
  });

  it('rejects bad references with stable codes', async () => {
    expect(code(await t.gql(`mutation { markEvent(input: { name: "x" }) { marked } }`))).toBe('BAD_INPUT');
    expect(code(await t.gql(`mutation { markEvent(input: { name: "x", userId: 1, externalId: "a" }) { marked } }`))).toBe('BAD_INPUT');
    expect(code(await t.gql(`mutation { markEvent(input: { name: "x", externalId: "" }) { marked } }`))).toBe('BAD_USER_ID');
    expect(code(await t.gql(MARK, { input: [{ name: 'x', externalId: 'e'.repeat(513) }] }))).toBe('BAD_USER_ID');
    expect(code(await t.gql(`{ contains(set: { ids: [1] }) }`))).toBe('BAD_INPUT');
    // A bad item fails the whole batch before any id is assigned.
    expect(code(await t.gql(MARK, { input: [{ name: 'x', externalId: 'fresh-1' }, { name: 'bad name', externalId: 'fresh-2' }] }))).toBe('BAD_EVENT_NAME');
    expect(await t.engine.resolveIds(['fresh-1', 'fresh-2'], false)).toEqual([null, null]);
  });
});

describe('string ids are opt-in', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'embedded', now: NOW });
  });
  afterAll(() => t.close());

  it('answers UNSUPPORTED for externalId when ID_MAPPING is off, and writes nothing', async () => {
    expect(code(await t.gql(`mutation { markEvent(input: { name: "x", externalId: "a" }) { marked } }`))).toBe('UNSUPPORTED');
    expect(code(await t.gql(`{ contains(set: { ids: [1] }, externalId: "a") }`))).toBe('UNSUPPORTED');
    expect(await t.keys()).toEqual([]);
  });
});

describe('concurrent assignment', () => {
  const externals = (n: number, seed: number): string[] => {
    const random = rng(seed);
    return Array.from({ length: n }, () => `user-${Math.floor(random() * 400)}`);
  };

  it('Redis: engines on separate connections never hand out one id twice or one external id two ids', async () => {
    const layout = bitmapistLayout(`ids${randomBytes(3).toString('hex')}_`);
    const engines = await Promise.all(
      [0, 1, 2, 3].map(() => new RedisEngine({ url: redisUrl(), tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect()),
    );
    try {
      const calls = engines.flatMap((e, i) => [0, 1, 2, 3, 4].map((j) => ({ e, list: externals(50, i * 10 + j) })));
      const results = await Promise.all(calls.map(({ e, list }) => e.resolveIds(list, true)));
      const pairs = calls.flatMap(({ list }, i) => list.map((x, j) => [x, results[i]![j]!] as const));
      expectDenseBijection(pairs);
      // Stored in both directions, in hashes beside the bitmaps.
      const redis = engines[0]!.redis;
      const forward = await redis.hgetall(layout.idKeys.forward);
      const reverse = await redis.hgetall(layout.idKeys.reverse);
      expect(Object.keys(forward).sort()).toEqual([...new Set(pairs.map(([x]) => x))].sort());
      for (const [x, id] of pairs) {
        expect(forward[x]).toBe(String(id));
        expect(reverse[String(id)]).toBe(x);
      }
      expect(layout.idKeys).toEqual({ forward: `${layout.prefix.slice(0, -1)}:ids:forward`, reverse: `${layout.prefix.slice(0, -1)}:ids:reverse`, next: `${layout.prefix.slice(0, -1)}:ids:next` });
      await redis.del(layout.idKeys.forward, layout.idKeys.reverse, layout.idKeys.next);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });

  it('embedded: concurrent callers agree, and the mapping survives reopening from the log and from a snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-ids-'));
    try {
      let e = await openEmbeddedEngine({ dir, fsync: 'os', compactAfterBytes: 1 << 26 });
      const calls = Array.from({ length: 20 }, (_, i) => externals(50, 100 + i));
      const results = await Promise.all(calls.map((list) => e.resolveIds(list, true)));
      const pairs = calls.flatMap((list, i) => list.map((x, j) => [x, results[i]![j]!] as const));
      expectDenseBijection(pairs);
      await e.write([{ key: 'k_a', offset: pairs[0]![1], bit: 1 }]);
      await e.idle();
      await e.close();
      // Round 0 reads the mapping from the log alone; round 1 compacts; round 2 reads the snapshot.
      const thresholds = [1 << 26, 64, 1 << 26];
      for (let round = 0; round < thresholds.length; round++) {
        if (round === 2) expect(readdirSync(dir).some((f) => f.startsWith('snapshot-'))).toBe(true);
        e = await openEmbeddedEngine({ dir, fsync: 'os', compactAfterBytes: thresholds[round] });
        const names = [...new Set(pairs.map(([x]) => x))];
        const again = await e.resolveIds(names, false);
        expect(again).toEqual(names.map((x) => pairs.find(([y]) => y === x)![1]));
        expect(await e.externalIds(again as number[])).toEqual(names);
        // New ids continue after the highest one, never reusing one.
        const [next] = await e.resolveIds([`new-${round}`], true);
        expect(next).toBe(names.length + round);
        // Enough writes to compact in round 1.
        for (let i = 0; i < 20; i++) await e.write([{ key: `k_${i}`, offset: i, bit: 1 }]);
        await e.idle();
        await e.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
