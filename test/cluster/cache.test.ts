// The closed-period cache on a real Redis Cluster (3 masters, 3 replicas): copies answer with no script on any master; a write by another client (a plain SETBIT on a shard key, as a bitmapist-like writer would) is seen on the very next read, on every master; and no stale answer through a failover or a reshard, against plain JS Sets.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { keySlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { CLUSTER_TRACKING_CLIENT_NAME } from '../../src/bitmap/engines/cluster/tracking.ts';
import { rng } from '../rng.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { useCluster, waitFor } from './cluster.ts';
import type { TestCluster } from './cluster.ts';

const run = promisify(execFile);
const cluster = useCluster();
/** 256 ids a shard, 256 shards over ids [0, 2^16): every master holds many. */
const W = 8;
const SHARDS = 256;
const NOW = Date.parse('2026-11-22T09:05:00Z'); // the 20th and 21st have ended: their bitmaps are cached
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const day = (d: number) => `{ event: { name: "seen", period: { at: { granularity: DAY, date: "2026-11-${d}" } } } }`;
const QUERY = `{
  both: count(set: { and: [${day(20)}, ${day(21)}] })
  either: count(set: { or: [${day(20)}, ${day(21)}] })
  one: count(set: { xor: [${day(20)}, ${day(21)}] })
  only20: count(set: { minus: { from: ${day(20)}, subtract: [${day(21)}] } })
}`;

interface NodeInfo {
  id: string;
  port: number;
  master: boolean;
  slots: Array<[number, number]>;
}

async function nodes(c: TestCluster, via: number): Promise<NodeInfo[]> {
  return (await c.cli(via, 'cluster', 'nodes'))
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, , , , , , ...slots] = line.split(' ');
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':')[1]),
        master: flags!.split(',').includes('master') && !flags!.includes('fail'),
        slots: slots
          .filter((s) => /^\d/.test(s))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a!, b ?? a!] as [number, number];
          }),
      };
    });
}

const owns = (n: NodeInfo, slot: number): boolean => n.slots.some(([a, b]) => slot >= a && slot <= b);

/** The two days' members in plain JS Sets, and the answers QUERY must give. */
class Truth {
  readonly days: Record<20 | 21, Set<number>> = { 20: new Set(), 21: new Set() };
  expected(): Record<string, number> {
    const [a, b] = [this.days[20], this.days[21]];
    const both = [...a].filter((x) => b.has(x)).length;
    const either = new Set([...a, ...b]).size;
    return { both, either, one: either - both, only20: a.size - both };
  }
}

interface Setup {
  t: TestGateway;
  engine: ClusterEngine;
  /** A client of its own, writing shard keys with plain SETBIT (bitmapist-like, bypassing the gateway). */
  raw: Cluster;
  truth: Truth;
  random: () => number;
  /** The shard key holding `id` of a day, and the bit's offset in it. */
  where(d: 20 | 21, id: number): { key: string; offset: number };
  /** SETBIT through `raw`; the truth follows what Redis holds (read back when the write's outcome is unknown). */
  set(d: 20 | 21, id: number, bit: 0 | 1): Promise<boolean>;
  close(): Promise<void>;
}

async function setup(seed: number, answerCacheMb = 0): Promise<Setup> {
  const c = cluster();
  const t = await testGateway({ engine: 'cluster', cluster: c.seeds, cache: true, now: NOW, config: { shardBits: W, answerCacheMb } });
  const engine = t.engine as ClusterEngine;
  const raw = new Cluster(c.seeds, { clusterRetryStrategy: () => 100, redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 2000 } });
  raw.on('error', () => {});
  const truth = new Truth();
  const random = rng(seed);
  // Every shard holds ids of both days (written through the gateway), so plain SETBITs anywhere
  // below 2^16 land in shards the gateway reads.
  const marks: Array<{ name: string; userId: number; at: string }> = [];
  for (const d of [20, 21] as const) {
    for (let k = 0; k < SHARDS; k++) {
      for (const id of [k * 256, k * 256 + Math.floor(random() * 256)]) {
        marks.push({ name: 'seen', userId: id, at: `2026-11-${d}T10:00:00Z` });
        truth.days[d].add(id);
      }
    }
  }
  for (let i = 0; i < marks.length; i += 500) expect((await t.gql(MARKS, { in: marks.slice(i, i + 500) })).errors).toBeUndefined();
  const where = (d: 20 | 21, id: number) => ({ key: engine.layout.key(`${t.prefix}seen_2026-11-${d}`, engine.layout.shardOf(id)), offset: id - engine.layout.base(engine.layout.shardOf(id)) });
  return {
    t,
    engine,
    raw,
    truth,
    random,
    where,
    async set(d, id, bit) {
      const { key, offset } = where(d, id);
      try {
        await raw.setbit(key, offset, bit);
        if (bit) truth.days[d].add(id);
        else truth.days[d].delete(id);
        return true;
      } catch {
        // Applied or not: ask (the cluster may be failing over; wait until it answers).
        await waitFor('the bit to be readable', 60_000, async () => {
          const now = await raw.getbit(key, offset);
          if (now) truth.days[d].add(id);
          else truth.days[d].delete(id);
          return true;
        });
        return false;
      }
    },
    async close() {
      raw.disconnect();
      await t.close();
    },
  };
}

/** Reads until a request is answered from copies alone (exact each time). */
async function warm(s: Setup): Promise<void> {
  const cache = s.engine.caching.cache!;
  for (let i = 0; i < 300; i++) {
    const misses = cache.misses;
    const r = await s.t.gql(QUERY);
    if (!r.errors) expect(r.data).toEqual(s.truth.expected());
    if (!r.errors && i > 0 && cache.active && cache.misses === misses) return;
    await s.engine.caching.idle();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the cache never answered from copies alone');
}

/** Scripts run so far on each master (EVAL, EVALSHA), from INFO commandstats. */
async function scripts(c: TestCluster, ports: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const p of ports) {
    const info = await c.cli(p, 'info', 'commandstats');
    let n = 0;
    for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha|evalsha_ro|eval_ro|fcall):calls=(\d+)/gm)) n += Number(m[1]);
    out.set(p, n);
  }
  return out;
}

/** A random id whose shard lives on `master`. */
function idOn(s: Setup, master: NodeInfo): number {
  for (;;) {
    const id = Math.floor(s.random() * SHARDS * 256);
    if (owns(master, keySlot(s.where(20, id).key))) return id;
  }
}

describe('closed-period cache on a Redis Cluster', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup(2026);
  }, 60_000);
  afterAll(async () => s?.close());

  it('tracks every master and answers from copies: no script runs on any master', async () => {
    const c = cluster();
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master);
    expect(s.engine.caching.cache!.active).toBe(true);
    for (const m of masters) expect(await c.cli(m.port, 'client', 'list')).toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
    await warm(s);
    const ports = masters.map((m) => m.port);
    const before = await scripts(c, ports);
    const hits = s.engine.caching.cache!.hits;
    expect((await s.t.gql(QUERY)).data).toEqual(s.truth.expected());
    expect(await scripts(c, ports)).toEqual(before);
    expect(s.engine.caching.cache!.hits).toBeGreaterThan(hits);
    // The same query with the copies dropped runs scripts: the count above could have moved.
    await s.set(20, idOn(s, masters[0]!), 1);
    expect((await s.t.gql(QUERY)).data).toEqual(s.truth.expected());
    expect([...(await scripts(c, ports)).values()].reduce((a, b) => a + b)).toBeGreaterThan([...before.values()].reduce((a, b) => a + b));
    expect(s.engine.describe().stats.closedCache).toMatchObject({ active: true });
  });

  it("sees another client's SETBIT on the very next read, on every master", async () => {
    const c = cluster();
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master);
    expect(masters.length).toBe(3);
    for (const m of masters) {
      for (let i = 0; i < 6; i++) {
        await warm(s);
        const id = idOn(s, m);
        const d = i % 2 ? 20 : 21;
        // Set a new bit, or clear one that is set: either way the held copy is now wrong.
        const bit = i % 3 === 2 && s.truth.days[d].size ? 0 : 1;
        const target = bit ? id : [...s.truth.days[d]].find((x) => owns(m, keySlot(s.where(d, x).key)))!;
        expect(await s.set(d, target, bit)).toBe(true);
        expect((await s.t.gql(QUERY)).data).toEqual(s.truth.expected());
      }
    }
  });

  it("watch() names the logical key of another client's SETBIT, whichever master holds it", async () => {
    const c = cluster();
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master);
    const heard: Array<readonly string[] | null> = [];
    const stop = s.engine.watch((keys) => heard.push(keys));
    try {
      const key = `${s.t.prefix}seen_2026-11-21`;
      for (const m of masters) {
        heard.length = 0;
        await s.set(21, idOn(s, m), 1);
        await waitFor(`the change on ${m.port} to be heard`, 5000, async () => heard.some((keys) => keys?.includes(key) ?? false));
      }
    } finally {
      stop();
    }
  });

  it("reuses whole answers (ANSWER_CACHE_MB): no script on any master, and another client's SETBIT is seen on the next read", async () => {
    const c = cluster();
    const a = await setup(99, 16);
    try {
      const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master);
      const ports = masters.map((m) => m.port);
      const answers = a.engine.caching.answers!;
      expect((await a.t.gql(QUERY)).data).toEqual(a.truth.expected());
      const before = await scripts(c, ports);
      const hits = answers.hits;
      expect((await a.t.gql(QUERY)).data).toEqual(a.truth.expected());
      expect(await scripts(c, ports)).toEqual(before);
      expect(answers.hits).toBeGreaterThan(hits);
      for (const m of masters) {
        await a.set(20, idOn(a, m), 1);
        expect((await a.t.gql(QUERY)).data).toEqual(a.truth.expected());
        expect((await a.t.gql(QUERY)).data).toEqual(a.truth.expected());
      }
      expect(a.engine.describe().stats.answerCache!.hits).toBeGreaterThan(0);
    } finally {
      await a.close();
    }
  }, 60_000);
});

/**
 * Until `done()` (and at least `atLeast` rounds): a read, the background fetches it queued, a read
 * (from copies when they are held), a plain SETBIT anywhere in the ids, and a read right after it.
 * Every answer must equal the truth or be SERVICE_UNAVAILABLE.
 */
async function readThrough(s: Setup, done: () => boolean, atLeast: number): Promise<{ answers: number; wrong: string[]; unavailable: number; hits: number }> {
  let answers = 0;
  let unavailable = 0;
  const wrong: string[] = [];
  const hits = s.engine.caching.cache!.hits;
  const read = async (): Promise<void> => {
    const r = await s.t.gql(QUERY);
    answers++;
    if (r.errors) {
      const code = String(r.errors[0]?.extensions?.code);
      if (code === 'SERVICE_UNAVAILABLE') unavailable++;
      else wrong.push(`${code}: ${r.errors[0]?.message}`);
    } else if (JSON.stringify(r.data) !== JSON.stringify(s.truth.expected())) wrong.push(`${JSON.stringify(r.data)} ≠ ${JSON.stringify(s.truth.expected())}`);
  };
  for (let i = 0; !done() || i < atLeast; i++) {
    await read();
    await s.engine.caching.idle();
    await read();
    await s.set(i % 2 ? 20 : 21, Math.floor(s.random() * SHARDS * 256), i % 5 === 4 ? 0 : 1);
    await read();
  }
  return { answers, wrong, unavailable, hits: s.engine.caching.cache!.hits - hits };
}

describe('closed-period cache through a failover and a reshard', () => {
  it('gives no stale answer while a master is killed and its replica takes over, and answers from copies again after', async () => {
    const c = cluster();
    const s = await setup(77);
    try {
      await warm(s);
      const all = await nodes(c, c.ports[0]!);
      const victim = all.find((n) => n.master && n.slots.length)!;
      const other = c.ports.find((p) => p !== victim.port)!;
      await c.stopNode(victim.port);
      let promoted = false;
      const watching = waitFor('a replica to take over', 60_000, async () => {
        const now = await nodes(c, other);
        promoted = now.some((n) => n.master && n.port !== victim.port && n.slots.some(([a]) => owns(victim, a)));
        return promoted;
      });
      const through = await readThrough(s, () => promoted, 40);
      await watching;
      // Well after the promotion: writes to the promoted master's shards, read at once.
      const after = await readThrough(s, () => true, 60);
      console.log(
        `failover: ${through.answers + after.answers} answers, ${through.wrong.length + after.wrong.length} wrong, ${through.unavailable + after.unavailable} SERVICE_UNAVAILABLE, ${through.hits + after.hits} keys answered from copies`,
      );
      expect(through.wrong).toEqual([]);
      expect(after.wrong).toEqual([]);
      expect(after.hits).toBeGreaterThan(0); // copies were in use between the writes after the failover
      // Tracking is back on the new master set, and copies answer again.
      await c.startNode(victim.port);
      await warm(s);
      const promotedPort = (await nodes(c, other)).find((n) => n.master && n.slots.some(([a]) => owns(victim, a)))!.port;
      expect(await c.cli(promotedPort, 'client', 'list')).toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
    } finally {
      await s.close();
    }
  }, 240_000);

  it('gives no stale answer while slots move between masters and back (redis-cli --cluster reshard)', async () => {
    const c = cluster();
    const s = await setup(1515);
    try {
      await warm(s);
      await waitFor('cluster_state:ok', 60_000, async () => (await Promise.all(c.ports.map((p) => c.cli(p, 'cluster', 'info').catch(() => 'down')))).every((i) => /cluster_state:ok/.test(i)));
      const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master && n.slots.length);
      const [from, to] = [masters[0]!, masters[1]!];
      let done = false;
      const resharding = (async () => {
        try {
          for (const [src, dst] of [[from, to], [to, from]] as const) {
            await waitFor('the nodes to agree on the slots', 30_000, async () => {
              await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${src.port}`]);
              return true;
            });
            await run('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${src.port}`, '--cluster-from', src.id, '--cluster-to', dst.id, '--cluster-slots', '3000', '--cluster-yes'], { maxBuffer: 64 << 20 });
          }
          return null;
        } catch (e) {
          return e as Error;
        } finally {
          done = true;
        }
      })();
      const r = await readThrough(s, () => done, 40);
      const failed = await resharding;
      if (failed) throw failed;
      console.log(`reshard: ${r.answers} answers, ${r.wrong.length} wrong, ${r.unavailable} SERVICE_UNAVAILABLE, ${r.hits} keys answered from copies meanwhile`);
      expect(r.wrong).toEqual([]);
      expect(r.answers - r.unavailable).toBeGreaterThan(0);
      expect(r.hits).toBeGreaterThan(0); // copies were in use between the writes while slots moved
      await warm(s);
    } finally {
      await s.close();
    }
  }, 240_000);
});
