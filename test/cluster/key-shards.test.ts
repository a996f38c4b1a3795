// Per-key shard sets on a real Redis Cluster (3 masters): each logical key's set names exactly the shards written, a read that starts after an acknowledged write to a new shard sees it, a request's script work touches only the shards holding its keys (INFO commandstats), and a cluster written before the sets existed gets them on open.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { shardSetKey, shardSetsReadyKey } from '../../src/bitmap/engines/cluster/key-shards.ts';
import { targetSlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import type { Program } from '../../src/bitmap/program.ts';
import { rng } from '../helpers.ts';
import { useCluster } from './cluster.ts';

const cluster = useCluster(3, 0);
const W = 8; // 256 ids a shard

/** Per master: calls of each command so far, scripts' inner commands included (INFO commandstats). */
async function calls(masters: readonly Redis[], command: string): Promise<number[]> {
  return Promise.all(
    masters.map(async (m) => {
      const info = await m.info('commandstats');
      return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    }),
  );
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const shardsOfIds = (ids: Iterable<number>): number[] => [...new Set([...ids].map((id) => Math.floor(id / 2 ** W)))].sort((a, b) => a - b);
const count = (key: string): Program => ({ registers: 0, instructions: [{ op: 'count', src: { key } }] });

describe('per-key shard sets', () => {
  const prefix = `kshards${Date.now()}_`;
  const layout = bitmapistLayout(prefix);
  let engine: ClusterEngine;
  let masters: Redis[];

  beforeAll(async () => {
    engine = await new ClusterEngine({ seeds: cluster().seeds, layout, shardBits: W }).connect();
    masters = engine.cluster.nodes('master');
    expect(masters).toHaveLength(3);
  });
  afterAll(async () => engine?.close());

  it('names exactly the shards each key was written in, and the cluster-wide bitmap their union', async () => {
    const r = rng(3);
    const written = new Map<string, Set<number>>();
    for (let e = 0; e < 5; e++) {
      const key = `${prefix}ev${e}_2026-11-20`;
      const ids = new Set<number>();
      for (let i = 0; i < 40; i++) ids.add(Math.floor(r() * 2 ** (12 + 4 * e))); // key e spans up to 2^(4+4e) shards
      written.set(key, ids);
      await engine.write([...ids].map((offset) => ({ key, offset, bit: 1 as const })));
    }
    for (const [key, ids] of written) {
      expect(await engine.keyShards(key), key).toEqual(shardsOfIds(ids));
      // Stored where the layout says: in the slot of the cluster-wide shard bitmap.
      expect(Number(await masters[0]!.cluster('KEYSLOT', shardSetKey(engine.layout, key)))).toBe(Number(await masters[0]!.cluster('KEYSLOT', engine.layout.shardsKey)));
    }
    expect(await engine.liveShards()).toEqual(shardsOfIds([...written.values()].flatMap((s) => [...s])));
    expect(await engine.run({ registers: 0, instructions: [...written.keys()].map((key) => ({ op: 'count' as const, src: { key } })) })).toEqual(
      [...written.values()].map((s) => s.size),
    );
  });

  it('runs a request only on the shards holding its keys: AND on the shards both hold, OR on either, one call a master', async () => {
    const a = `${prefix}a_2026-11`;
    const b = `${prefix}b_2026-11`;
    const sparse = `${prefix}sparse_2026-11`;
    const aIds = [1, 2, 3 * 256 + 5, 40 * 256]; // shards 0, 3, 40
    const bIds = [2, 3 * 256 + 9, 7 * 256]; // shards 0, 3, 7
    const r = rng(9);
    const sparseIds = new Set<number>();
    while (sparseIds.size < 300) sparseIds.add(Math.floor(r() * 2 ** 32)); // about 300 shards of the 2^24
    await engine.write([
      ...aIds.map((offset) => ({ key: a, offset, bit: 1 as const })),
      ...bIds.map((offset) => ({ key: b, offset, bit: 1 as const })),
      ...[...sparseIds].map((offset) => ({ key: sparse, offset, bit: 1 as const })),
    ]);
    const aShards = shardsOfIds(aIds);
    const bShards = shardsOfIds(bIds);
    const both = aShards.filter((k) => bShards.includes(k));
    const either = [...new Set([...aShards, ...bShards])];
    const owners = await Promise.all(masters.map(async (m) => `${m.options.host}:${m.options.port}`));
    const slotOwner = (engine.cluster as unknown as { slots: string[][] }).slots;
    const mastersOf = (shards: readonly number[]): number[] =>
      owners.map((o) => shards.filter((k) => slotOwner[targetSlot(k)]![0] === o).length > 0 ? 1 : 0);

    const cases: Array<{ program: Program; shards: number[]; expected: number[] }> = [
      { program: count(a), shards: aShards, expected: [aIds.length] },
      { program: { registers: 1, instructions: [{ op: 'and', dest: 0, args: [{ key: a }, { key: b }] }, { op: 'count', src: { reg: 0 } }] }, shards: both, expected: [aIds.filter((id) => bIds.includes(id)).length] },
      {
        program: { registers: 1, instructions: [{ op: 'or', dest: 0, args: [{ key: a }, { key: b }] }, { op: 'count', src: { reg: 0 } }] },
        shards: either,
        expected: [new Set([...aIds, ...bIds]).size],
      },
      { program: count(sparse), shards: shardsOfIds(sparseIds), expected: [sparseIds.size] },
    ];
    for (const c of cases) {
      const [counts0, scripts0] = await Promise.all([calls(masters, 'bitcount'), calls(masters, 'evalsha')]);
      expect(await engine.run(c.program)).toEqual(c.expected);
      const [counts1, scripts1] = await Promise.all([calls(masters, 'bitcount'), calls(masters, 'evalsha')]);
      // One BITCOUNT a shard the output may be non-empty in, none elsewhere.
      expect(sum(counts1) - sum(counts0)).toBe(c.shards.length);
      // One script call on each master holding one of those shards, none on the others.
      expect(scripts1.map((n, i) => n - scripts0[i]!)).toEqual(mastersOf(c.shards));
    }
    // A dense key is not slowed by a sparse one: its count touches its own 3 shards however many the sparse key has.
    expect(shardsOfIds(sparseIds).length).toBeGreaterThan(250);
  });

  it('lets a read that starts after an acknowledged write to a new shard see it, with writes and reads interleaved', async () => {
    const key = `${prefix}fresh_2026-11-21`;
    const r = rng(21);
    const ids: number[] = [];
    const used = new Set<number>();
    while (ids.length < 60) {
      const id = Math.floor(r() * 2 ** 32);
      const k = Math.floor(id / 2 ** W);
      if (used.has(k)) continue; // each write opens a shard of its own
      used.add(k);
      ids.push(id);
    }
    let acknowledged = 0;
    let stop = false;
    const writer = (async () => {
      for (const offset of ids) {
        await engine.write([{ key, offset, bit: 1 }]);
        acknowledged++;
      }
      stop = true;
    })();
    const seen: Array<{ floor: number; got: number }> = [];
    const reader = (async () => {
      while (!stop) {
        const floor = acknowledged;
        const [got] = (await engine.run(count(key))) as number[];
        seen.push({ floor, got: got! });
      }
    })();
    await Promise.all([writer, reader]);
    expect(seen.length).toBeGreaterThan(5);
    for (const s of seen) {
      expect(s.got).toBeGreaterThanOrEqual(s.floor);
      expect(s.got).toBeLessThanOrEqual(ids.length);
    }
    // And after each acknowledgement on its own: the count right after is exact.
    const key2 = `${prefix}fresh2_2026-11-21`;
    for (let i = 0; i < 20; i++) {
      await engine.write([{ key: key2, offset: ids[i]!, bit: 1 }]);
      expect(await engine.run(count(key2))).toEqual([i + 1]);
    }
  });

  it('reads the sets of a program over 10,001 keys (two MGETs) and answers its union', async () => {
    const keys = Array.from({ length: 10_001 }, (_, i) => `${prefix}many${i}_2026-11-22`);
    const idOf = (i: number): number => i * 97; // ids up to 970,000: shards 0 … 3789
    await engine.write(keys.map((key, i) => ({ key, offset: idOf(i), bit: 1 as const })));
    const program: Program = { registers: 1, instructions: [{ op: 'or', dest: 0, args: keys.map((key) => ({ key })) }, { op: 'count', src: { reg: 0 } }] };
    const counts0 = await calls(masters, 'bitcount');
    expect(await engine.run(program)).toEqual([keys.length]);
    expect(sum(await calls(masters, 'bitcount')) - sum(counts0)).toBe(shardsOfIds(keys.map((_, i) => idOf(i))).length);
    await engine.delete(keys);
    expect(await engine.run(program)).toEqual([0]);
  }, 60_000);

  it('gives a cluster written before the sets existed its sets on open, from the keys it holds', async () => {
    const legacyPrefix = `klegacy${Date.now()}_`;
    const legacy = bitmapistLayout(legacyPrefix);
    const first = await new ClusterEngine({ seeds: cluster().seeds, layout: legacy, shardBits: W }).connect();
    const key = `${legacyPrefix}old_2026-11-01`;
    const ids = [5, 300, 70_000, 2 ** 31 + 17];
    try {
      // As the engine wrote before: the cluster-wide bitmap, then the shard keys, no per-key sets.
      for (const id of ids) {
        const k = Math.floor(id / 2 ** W);
        await first.cluster.setbit(first.layout.shardsKey, k, 1);
        await first.cluster.setbit(first.layout.key(key, k), id - k * 2 ** W, 1);
      }
      await first.cluster.del(shardSetsReadyKey(first.layout));
    } finally {
      await first.close();
    }
    const reopened = await new ClusterEngine({ seeds: cluster().seeds, layout: legacy, shardBits: W }).connect();
    try {
      expect(await reopened.cluster.get(shardSetsReadyKey(reopened.layout))).toBe('1');
      expect(await reopened.keyShards(key)).toEqual(shardsOfIds(ids));
      expect(await reopened.run(count(key))).toEqual([ids.length]);
    } finally {
      await reopened.close();
    }
  });
});
