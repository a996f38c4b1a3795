// `bitmapql copy` into and out of a real Redis Cluster: Redis (bitmapist's layout) → cluster → Redis and data folder → cluster → data folder, bytes, counters, ledger and id mapping unchanged, keys in the sharded layout.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { shardedLayout } from '../../src/bitmap/engines/cluster/layout.ts';
import { keySlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import type { KeyLayout } from '../../src/bitmap/keys.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { DEMO_IMPORT_SPEC } from '../../src/demo/generate.ts';
import { writeDemoArchive } from '../../src/demo/write.ts';
import { importFiles } from '../../src/import/importer.ts';
import { redisUrl, rng } from '../helpers.ts';
import { useCluster } from './cluster.ts';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: new URL('../../', import.meta.url).pathname,
    env: { ...process.env, SHARD_BITS: '16', REDIS_URL: '', REDIS_CLUSTER: '' },
  });
const cluster = useCluster();
const W = 16;

/** Bytes with their zero tail cut: a bitmap's meaning, the form the sharded layout keeps (README "Copying between engines"). */
const trimmed = (b: Buffer | null): Buffer => {
  if (!b) return Buffer.alloc(0);
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
};

/** Ids of a Redis bitmap, read bit by bit in plain JS (the reference). */
function idsOf(bytes: Buffer): Set<number> {
  const ids = new Set<number>();
  bytes.forEach((b, i) => {
    for (let j = 0; j < 8; j++) if (b & (0x80 >> j)) ids.add(i * 8 + j);
  });
  return ids;
}

/** Every hash, counter and bitmap of a dataset in an engine, read through the Engine interface. */
async function snapshot(engine: Engine, layout: KeyLayout): Promise<{ bitmaps: Map<string, Buffer>; hashes: Map<string, unknown>; ids: Map<string, number> }> {
  const bitmaps = new Map<string, Buffer>();
  for await (const batch of engine.scan(layout.prefix)) {
    for (const key of batch) if (!key.startsWith(layout.tempPrefix)) bitmaps.set(key, trimmed(await engine.dump(key)));
  }
  const hashKeys = [layout.importsKey];
  for await (const batch of engine.scan(layout.counterPrefix)) hashKeys.push(...batch);
  const values = await engine.run({ registers: 0, instructions: hashKeys.map((key) => ({ op: 'hgetall' as const, key })) });
  const hashes = new Map<string, unknown>();
  hashKeys.forEach((k, i) => {
    const entries = values[i] as Array<[string, number]>;
    if (entries.length) hashes.set(k, Object.fromEntries(entries));
  });
  const ids = new Map<string, number>();
  for await (const pairs of engine.idPairs()) for (const [e, id] of pairs) ids.set(e, id);
  return { bitmaps, hashes, ids };
}

describe('bitmapql copy: Redis in bitmapist\'s layout → cluster → Redis', () => {
  const prefix = `ccopy${Date.now()}_`;
  const layout = bitmapistLayout(prefix);
  const meta = `${prefix.slice(0, -1)}:`;
  const source = new Redis(`${redisUrl()}/9`);
  const back = new Redis(`${redisUrl()}/10`);
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-ccopy-'));
  const everything = async (r: Redis): Promise<string[]> => [...(await r.keys(`${prefix}*`)), ...(await r.keys(`${meta}*`))].sort();
  afterAll(async () => {
    for (const r of [source, back]) {
      const keys = await everything(r);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits every key into shards and joins it back, byte for byte, with counters, ledger and id mapping', async () => {
    // An imported dataset (counters, ledger, string ids), then bitmaps with ids spread far apart.
    const archive = await writeDemoArchive({ out: join(dir, 'demo'), days: 3, end: '2026-10-05', linesPerDay: 120, seed: 5, badLines: 0 });
    const engine = await new RedisEngine({ url: `${redisUrl()}/9`, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect();
    const imported = await importFiles(engine, layout, new TimeZone('UTC'), archive.files, DEMO_IMPORT_SPEC);
    await engine.close();
    expect(imported.newIds).toBeGreaterThan(10);
    const random = rng(15);
    const spread = new Map<string, Set<number>>();
    for (let e = 0; e < 4; e++) {
      const key = `${prefix}spread${e}_2026-11`;
      // Up to 2^26 (an 8 MiB key, 8 GETRANGE slices), over hundreds of shards, with the edges of a shard.
      const ids = new Set<number>([0, 2 ** W - 1, 2 ** W, 3 * 2 ** W + 7]);
      for (let i = 0; i < 300; i++) ids.add(Math.floor(random() * 2 ** 26));
      spread.set(key, ids);
      const tx = source.multi();
      for (const id of ids) tx.setbit(key, id, 1);
      await tx.exec();
    }
    // A key Redis pads with zero bytes: a bit set then cleared far above the others.
    const padded = `${prefix}padded_2026-11`;
    await source.setbit(padded, 12, 1);
    await source.setbit(padded, 2 ** 21, 1);
    await source.setbit(padded, 2 ** 21, 0);
    await source.set(`${prefix}bitop_leftover`, 'x');

    const into = await cli('copy', `${redisUrl()}/9`, `redis-cluster://${cluster().seeds.map((s) => `${s.host}:${s.port}`).join(',')}`, '--prefix', prefix);
    const bitmapKeys = (await source.keys(`${prefix}*`)).filter((k) => !k.startsWith(layout.tempPrefix));
    expect(into.stderr).toMatch(new RegExp(`${bitmapKeys.length} keys, .* copied, 1 temporary keys skipped; \\d+ counter and ledger hashes, ${imported.newIds} string ids`));

    // In the cluster: the sharded layout, never a plain bitmapist key.
    const seeds = `redis-cluster://${cluster().seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
    const c = await new ClusterEngine({ seeds: cluster().seeds, layout, shardBits: W }).connect();
    try {
      const sharded = shardedLayout(layout, W);
      for (const [key, ids] of spread) {
        const shards = new Set([...ids].map((id) => Math.floor(id / 2 ** W)));
        for (const k of shards) {
          const physical = sharded.key(key, k);
          expect(physical.startsWith(`{${k}.`)).toBe(true);
          expect(Number(await c.cluster.cluster('KEYSLOT', physical))).toBe(keySlot(physical));
          const local = idsOf((await c.cluster.getBuffer(physical))!);
          expect([...local].sort((a, b) => a - b)).toEqual([...ids].filter((id) => Math.floor(id / 2 ** W) === k).map((id) => id - k * 2 ** W).sort((a, b) => a - b));
        }
        // The key's shard set names exactly those shards.
        expect(await c.keyShards(key)).toEqual([...shards].sort((x, y) => x - y));
        // A shard with no ids has no key.
        const empty = [...Array(1024).keys()].find((k) => !shards.has(k))!;
        expect(await c.cluster.exists(sharded.key(key, empty))).toBe(0);
        expect(await c.cluster.exists(key)).toBe(0);
      }
      expect(await c.cluster.get(sharded.shardBitsKey)).toBe(String(W));
      // The id mapping in one slot of its own, under the same external ids.
      const external = (await source.hkeys(layout.idKeys.forward))[0]!;
      expect(await c.cluster.hget(sharded.idKeys.forward, external)).toBe(await source.hget(layout.idKeys.forward, external));

      // Read through the engine, every bitmap, hash and id is the source's.
      const src = await new RedisEngine({ url: `${redisUrl()}/9`, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect();
      const [a, b] = [await snapshot(src, layout), await snapshot(c, layout)];
      await src.close();
      expect([...b.bitmaps.keys()].sort()).toEqual([...a.bitmaps.keys()].sort());
      for (const [key, bytes] of a.bitmaps) expect(b.bitmaps.get(key)!.equals(bytes), key).toBe(true);
      expect(b.hashes).toEqual(a.hashes);
      expect(b.ids).toEqual(a.ids);
      expect(await c.run({ registers: 0, instructions: [...spread.keys()].map((key) => ({ op: 'count' as const, src: { key } })) })).toEqual(
        [...spread.values()].map((ids) => ids.size),
      );
    } finally {
      await c.close();
    }

    // And back: the same keys, each byte equal once the zero tail Redis kept is cut.
    const out = await cli('copy', seeds, `${redisUrl()}/10`, '--prefix', prefix);
    expect(out.stderr).toMatch(new RegExp(`${bitmapKeys.length} keys, .* copied, 0 temporary keys skipped`));
    const keys = (await everything(source)).filter((k) => !k.startsWith(layout.tempPrefix));
    expect(await everything(back)).toEqual(keys);
    for (const key of keys) {
      const type = await source.type(key);
      if (type === 'hash') expect(await back.hgetall(key), key).toEqual(await source.hgetall(key));
      else if (key === layout.idKeys.next) expect(await back.get(key)).toBe(await source.get(key));
      else if (key === padded) {
        expect((await source.strlen(key))).toBe(2 ** 18 + 1);
        expect(await back.getBuffer(key)).toEqual(trimmed(await source.getBuffer(key)));
      } else expect((await back.getBuffer(key))!.equals((await source.getBuffer(key))!), key).toBe(true);
    }
  });

  it('says what to change for a malformed cluster place', async () => {
    await expect(cli('copy', `${redisUrl()}/9`, 'redis-cluster://nothing-here', '--prefix', prefix)).rejects.toThrow(/expected redis-cluster:\/\/host:port,host:port/);
  });
});

describe('bitmapql copy: data folder → cluster → data folder', () => {
  const prefix = `ecopy${Date.now()}_`;
  const layout = bitmapistLayout(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-ecopy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('carries bitmaps, counters, ledger and string ids there and back unchanged', async () => {
    const archive = await writeDemoArchive({ out: join(dir, 'demo'), days: 3, end: '2026-10-05', linesPerDay: 120, seed: 9, badLines: 0 });
    const from = join(dir, 'from');
    const engine = await openEmbeddedEngine({ dir: from, fsync: 'os' });
    const imported = await importFiles(engine, layout, new TimeZone('UTC'), archive.files, DEMO_IMPORT_SPEC);
    // The embedded side holds a key whole (a data folder has no slices): 2^28 keeps it at 32 MiB.
    const far = [5, 2 ** 20 + 3, 2 ** 26 + 11, 2 ** 28 - 1];
    await engine.write(far.map((offset) => ({ key: `${prefix}far_2026-11`, offset, bit: 1 as const })));
    const a = await snapshot(engine, layout);
    await engine.close();
    expect(imported.newIds).toBeGreaterThan(10);

    const seeds = `redis-cluster://${cluster().seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
    await cli('copy', from, seeds, '--prefix', prefix);
    const to = join(dir, 'to');
    await cli('copy', seeds, to, '--prefix', prefix);

    const c = await new ClusterEngine({ seeds: cluster().seeds, layout, shardBits: W }).connect();
    try {
      // The far key: four shards, each id at its place in its shard.
      const sharded = shardedLayout(layout, W);
      for (const id of far) expect(await c.cluster.getbit(sharded.key(`${prefix}far_2026-11`, Math.floor(id / 2 ** W)), id % 2 ** W)).toBe(1);
      expect(await c.keyShards(`${prefix}far_2026-11`)).toEqual(far.map((id) => Math.floor(id / 2 ** W)));
    } finally {
      await c.close();
    }
    const copied = await openEmbeddedEngine({ dir: to, fsync: 'os' });
    try {
      const b = await snapshot(copied, layout);
      expect([...b.bitmaps.keys()].sort()).toEqual([...a.bitmaps.keys()].sort());
      for (const [key, bytes] of a.bitmaps) expect(b.bitmaps.get(key)!.equals(bytes), key).toBe(true);
      expect(b.hashes).toEqual(a.hashes);
      expect(b.ids).toEqual(a.ids);
      expect(idsOf(b.bitmaps.get(`${prefix}far_2026-11`)!)).toEqual(new Set(far));
    } finally {
      await copied.close();
    }
  });
});
