// The gateway on a real Redis Cluster (3 masters, 3 replicas): the set algebra, members, series, cohorts and counters against JS references, with ids over many shards, and the keys as the sharded layout names them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { shardTag, targetSlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { openEngine } from '../../src/bitmap/engines/open.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { UsageError } from '../../src/usage-error.ts';
import { NOW, World, checkRandomExpressions, checkSpellings, iso } from '../api/algebra-world.ts';
import { rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { physicalKeys, useCluster } from './cluster.ts';
import { ok } from '../assertions.ts';

/** 128 ids a shard: the algebra world's ids (0-419, 4095, 65535, 65536, 1000003) fall in 8 shards. */
const W = 7;
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const cluster = useCluster();

/** A bitmap with these bits set (bit 0 the top bit of byte 0), as SETBIT leaves it. */
function bitmapOf(bits: readonly number[]): Buffer {
  const out = Buffer.alloc(Math.floor(Math.max(...bits) / 8) + 1);
  for (const b of bits) out[b >> 3]! |= 0x80 >> (b & 7);
  return out;
}

/** Calls of scripts each master has run so far (INFO commandstats). */
async function scriptCalls(masters: readonly Redis[]): Promise<number[]> {
  return Promise.all(
    masters.map(async (m) => {
      const info = await m.info('commandstats');
      return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, x) => n + Number(x[1]), 0);
    }),
  );
}

describe('set algebra on the cluster against a JS Set reference', () => {
  let t: TestGateway;
  const world = new World(rng(20261122));

  beforeAll(async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, now: NOW, config: { shardBits: W } });
    for (let i = 0; i < world.marks.length; i += 500) {
      const batch = world.marks.slice(i, i + 500).map((m) => ({ name: m.name, userId: m.userId, at: iso(m.at), trackHourly: true, trackUnique: m.unique }));
      ok(await t.gql(MARKS, { in: batch }));
    }
  });
  afterAll(async () => t?.close());

  it('spreads the marks over shards on every master', async () => {
    const engine = t.engine as ClusterEngine;
    const ids = new Set(world.marks.map((m) => m.userId));
    const shards = new Set([...ids].map((id) => Math.floor(id / 2 ** W)));
    expect(shards.size).toBeGreaterThanOrEqual(7);
    expect(await engine.liveShards()).toEqual([...shards].sort((a, b) => a - b));
  });

  it('answers random nested expressions (count, hasEvents, contains, members) as the reference does, every master working', async () => {
    const masters = (t.engine as ClusterEngine).cluster.nodes('master');
    const before = await scriptCalls(masters);
    await checkRandomExpressions(t, world);
    const after = await scriptCalls(masters);
    for (let i = 0; i < masters.length; i++) expect(after[i]! - before[i]!, `master ${i}`).toBeGreaterThan(0);
  });

  it('gives two spellings of one set the same count', async () => {
    await checkSpellings(t, world);
  });

  it('leaves no temporary key behind on any master', async () => {
    expect(await physicalKeys(t.engine as ClusterEngine, 'bitop_')).toEqual([]);
  });
});

describe('the gateway on the cluster', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: W } });
  });
  afterAll(async () => t?.close());

  it('stores a mark in its shard of each key, under the shard tag, at bit id - k * 2^W', async () => {
    const engine = t.engine as ClusterEngine;
    const ids = [5, 130, 70_000]; // shards 0, 1 and 546
    ok(await t.gql(MARKS, { in: ids.map((userId) => ({ name: 'login', userId, at: '2026-11-22T09:05:00Z' })) }));
    const expected: string[] = [];
    for (const id of ids) {
      const k = Math.floor(id / 128);
      for (const suffix of ['2026-11', 'W2026-47', '2026-11-22']) expected.push(`{${shardTag(k)}}${t.prefix}login_${suffix}`);
    }
    // Beside them, each logical key's shard set, in the slot of the cluster-wide shard bitmap.
    const shardsKey = `${t.prefix.replace(/_$/, '')}:cluster:shards`;
    const sets = ['2026-11', 'W2026-47', '2026-11-22'].map((suffix) => `{${shardsKey}}${t.prefix}login_${suffix}`);
    expect(await physicalKeys(engine, `${t.prefix}login_`)).toEqual([...expected, ...sets].sort());
    for (const key of sets) expect(await engine.cluster.getBuffer(key)).toEqual(bitmapOf([0, 1, 546]));
    const node = engine.cluster.nodes('master')[0]!;
    for (const id of ids) {
      const k = Math.floor(id / 128);
      const key = `{${shardTag(k)}}${t.prefix}login_2026-11-22`;
      expect(Number(await node.cluster('KEYSLOT', key))).toBe(targetSlot(k)); // Redis agrees on the slot
      expect(await engine.cluster.getbit(key, id - k * 128)).toBe(1);
      expect(await engine.cluster.bitcount(key)).toBe(1);
    }
    // Shards 0 and 1 land in slots 0 and 8192: two masters.
    const owner = async (k: number): Promise<string> => {
      const slot = targetSlot(k);
      const slots = (await node.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
      const range = slots.find(([a, b]) => slot >= a && slot <= b)!;
      return `${range[2][0]}:${range[2][1]}`;
    };
    expect(await owner(0)).not.toBe(await owner(1));
    expect(await engine.cluster.get(`${t.prefix.replace(/_$/, '')}:cluster:shard-bits`)).toBe(String(W));
    expect(await engine.liveShards()).toEqual([0, 1, 546]);
    // Logical keys come back from a scan once each, whatever the number of shards.
    const names: string[] = [];
    for await (const batch of engine.scan(`${t.prefix}login_`)) names.push(...batch);
    expect(names.sort()).toEqual([`${t.prefix}login_2026-11`, `${t.prefix}login_2026-11-22`, `${t.prefix}login_W2026-47`]);
    expect(ok(await t.gql<{ events: Array<{ name: string }> }>('{ events { name } }')).events.map((e) => e.name)).toContain('login');
  });

  it('pages members across shards in id order, and counts, contains and id lists agree with a JS Set', async () => {
    const r = rng(7);
    const ids = new Set<number>();
    while (ids.size < 300) ids.add(Math.floor(r() * 20_000)); // up to 157 shards
    for (const id of [0, 127, 128, 255, 256, 2 ** 32 - 1]) ids.add(id); // shard edges and the last id
    const sorted = [...ids].sort((a, b) => a - b);
    ok(await t.gql(MARKS, { in: sorted.map((userId) => ({ name: 'visit', userId, at: '2026-11-20T10:00:00Z' })) }));
    const set = '{ event: { name: "visit", period: { at: { granularity: DAY, date: "2026-11-20" } } } }';
    const pages: number[] = [];
    let after: number | null = null;
    for (let n = 0; n < 100; n++) {
      const page: { members: { ids: number[]; hasMore: boolean; endCursor: number | null } } = ok(
        await t.gql(`{ members(set: ${set}, first: 37${after === null ? '' : `, after: ${after}`}) { ids hasMore endCursor } }`),
      );
      pages.push(...page.members.ids);
      if (!page.members.hasMore) break;
      after = page.members.endCursor;
    }
    expect(pages).toEqual(sorted);
    const probe = [0, 1, 127, 128, 129, 5000, 19_999, 2 ** 32 - 1, 2 ** 32 - 2];
    const literal = [3, 127, 128, 300, 4000, 2 ** 32 - 1, 2 ** 31];
    const d = ok(
      await t.gql<Record<string, unknown>>(`{
        n: count(set: ${set})
        any: hasEvents(set: ${set})
        ${probe.map((id, i) => `p${i}: contains(set: ${set}, userId: ${id})`).join('\n')}
        both: count(set: { and: [${set}, { ids: [${literal.join(', ')}] }] })
        either: count(set: { or: [${set}, { ids: [${literal.join(', ')}] }] })
        listed: members(set: { and: [{ ids: [${literal.join(', ')}] }, ${set}] }, first: 100) { ids }
      }`),
    );
    expect(d.n).toBe(ids.size);
    expect(d.any).toBe(true);
    probe.forEach((id, i) => expect(d[`p${i}`], `contains ${id}`).toBe(ids.has(id)));
    const inBoth = literal.filter((x) => ids.has(x)).sort((a, b) => a - b);
    expect(d.both).toBe(inBoth.length);
    expect(d.either).toBe(new Set([...ids, ...literal]).size);
    expect(d.listed).toEqual({ ids: inBoth });
  });

  it('answers series, cohorts and counters as JS works them out', async () => {
    const r = rng(11);
    const day = (n: number): string => `2026-10-${String(10 + n).padStart(2, '0')}`;
    const signup: Array<Set<number>> = [];
    const active: Array<Set<number>> = [];
    const marks: Array<{ name: string; userId: number; at: string }> = [];
    for (let d = 0; d < 6; d++) {
      signup.push(new Set());
      active.push(new Set());
      for (let j = 0; j < 40; j++) {
        const id = Math.floor(r() * 3000);
        signup[d]!.add(id);
        marks.push({ name: 'signup', userId: id, at: `${day(d)}T08:00:00Z` });
      }
      for (let j = 0; j < 120; j++) {
        const id = Math.floor(r() * 3000);
        active[d]!.add(id);
        marks.push({ name: 'active', userId: id, at: `${day(d)}T12:00:00Z` });
      }
    }
    ok(await t.gql(MARKS, { in: marks }));
    const hits: Array<{ name: string; key: string; by: number; at: string }> = [];
    const sums = new Map<string, number>();
    for (let j = 0; j < 60; j++) {
      const key = `song${Math.floor(r() * 7)}`;
      const by = 1 + Math.floor(r() * 5);
      hits.push({ name: 'plays', key, by, at: `${day(2)}T1${j % 10}:00:00Z` });
      sums.set(key, (sums.get(key) ?? 0) + by);
    }
    ok(await t.gql('mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }', { in: hits }));
    const d = ok(
      await t.gql<{
        series: Array<{ count: number }>;
        cohort: { rows: Array<{ size: number; cells: Array<number | null> }> };
        counters: Array<{ key: string; value: number }>;
      }>(`{
        series(set: { event: { name: "active" } }, granularity: DAY, from: "${day(0)}", to: "${day(5)}") { count }
        cohort(cohort: { event: { name: "signup" } }, activity: { event: { name: "active" } }, granularity: DAY, from: "${day(0)}", rows: 3, columns: 3) { rows { size cells } }
        counters(name: "plays", period: { at: { granularity: DAY, date: "${day(2)}" } }) { key value }
      }`),
    );
    expect(d.series.map((p) => p.count)).toEqual(active.map((s) => s.size));
    const cells = [0, 1, 2].map((row) => [0, 1, 2].map((k) => [...signup[row]!].filter((id) => active[row + k]!.has(id)).length));
    expect(d.cohort.rows.map((row) => row.size)).toEqual([0, 1, 2].map((row) => signup[row]!.size));
    expect(d.cohort.rows.map((row) => row.cells)).toEqual(cells);
    expect(Object.fromEntries(d.counters.map((c) => [c.key, c.value]))).toEqual(Object.fromEntries(sums));
  });

  it('answers /ready from the state of the cluster', async () => {
    const res = await t.gateway.yoga.fetch('http://yoga/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true });
  });

  it('refuses to open a cluster written with another SHARD_BITS, and names the one to set', async () => {
    const settings = { ...t.config, redisCluster: cluster().seeds, shardBits: W + 1, redisUrl: undefined, fsync: 'os' as const };
    const failure = await openEngine(settings).then(
      (e) => e.close().then(() => null),
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toContain(`set SHARD_BITS=${W}`);
  });
});

describe('settings', () => {
  it('refuse REDIS_URL and REDIS_CLUSTER together, and seeds that are not host:port', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER: '127.0.0.1:7000' })).toThrow(
      /REDIS_URL and REDIS_CLUSTER are both set/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER: '127.0.0.1:7000,redis://x:1' })).toThrow(ConfigError);
    expect(loadConfig({ REDIS_CLUSTER: '127.0.0.1:7000, [::1]:7001' }).redisCluster).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    expect(() => loadConfig({ SHARD_BITS: '2' })).toThrow(/SHARD_BITS/);
  });
});
