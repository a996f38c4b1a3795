// The closed-period cache on a real Redis Cluster (3 masters, 3 replicas): copies answer with no script on any master; a write by another client (a plain SETBIT on a shard key, as a bitmapist-like writer would) is seen on the very next read, on every master; and no stale answer through a failover or a reshard, against plain JS Sets.

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { shardSetKey } from '../../src/bitmap/engines/cluster/key-shards.ts';
import { keySlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { CLUSTER_TRACKING_CLIENT_NAME } from '../../src/bitmap/engines/cluster/tracking.ts';
import { rng } from '../rng.ts';
import { TEST_AUTH, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { caughtUp, freeNodePort, nodes, owns, useCluster, waitFor } from './cluster.ts';
import type { NodeInfo, TestCluster } from './cluster.ts';

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
  if (!master.slots.length) throw new Error(`${master.port} serves no slots`);
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
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master && n.slots.length);
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
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master && n.slots.length);
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
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master && n.slots.length);
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

  it("live subscriptions move on another client's SETBIT and on a counter increment, on the cluster", async () => {
    const c = cluster();
    const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master && n.slots.length);
    const bits = await sse(s.t, `subscription { count(set: ${day(20)}) }`);
    const plays = await sse(s.t, 'subscription { counters(name: "plays", period: { at: { granularity: DAY, date: "2026-11-20" } }) { key value } }');
    try {
      expect((await bits.next()).data).toEqual({ count: s.truth.days[20].size });
      expect((await plays.next()).data).toEqual({ counters: [] });
      for (const m of masters) {
        const id = idOn(s, m);
        if (s.truth.days[20].has(id)) continue;
        await s.set(20, id, 1);
        expect((await bits.next()).data).toEqual({ count: s.truth.days[20].size });
      }
      expect((await s.t.gql('mutation { incrementCounter(name: "plays", key: "song-1", by: 3, at: "2026-11-20T10:00:00Z") { incremented } }')).errors).toBeUndefined();
      expect((await plays.next()).data).toEqual({ counters: [{ key: 'song-1', value: 3 }] });
    } finally {
      await bits.close();
      await plays.close();
    }
  });

  it("reuses whole answers (ANSWER_CACHE_MB): no script on any master, and another client's SETBIT is seen on the next read", async () => {
    const c = cluster();
    const a = await setup(99, 16);
    try {
      const masters = (await nodes(c, c.ports[0]!)).filter((n) => n.master && n.slots.length);
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
    await replicasSettled(c); // the master killed has a replica to take over
    const s = await setup(77);
    let down: number | undefined; // a port stopped and not started again
    try {
      await warm(s);
      const all = await nodes(c, c.ports[0]!);
      const victim = all.find((n) => n.master && n.slots.length)!;
      const other = c.ports.find((p) => p !== victim.port)!;
      // Its replica holds every mark so far (written without replica acks): what follows tests
      // the cache, not a failover that loses writes.
      await caughtUp(c, victim.port, all.filter((n) => n.of === victim.id).map((n) => n.port));
      await c.stopNode(victim.port);
      down = victim.port;
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
      down = undefined;
      await warm(s);
      const promotedPort = (await nodes(c, other)).find((n) => n.master && n.slots.some(([a]) => owns(victim, a)))!.port;
      expect(await c.cli(promotedPort, 'client', 'list')).toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
    } finally {
      await s.close();
      if (down !== undefined) await c.startNode(down); // the next tests need every node
    }
  }, 240_000);

  it('gives no stale answer through a manual failover (CLUSTER FAILOVER: the old master stays up, as a replica)', async () => {
    const c = cluster();
    // Replicas settled first: the gateway then tracks the masters only, and the replica it is
    // about to promote is not one of them.
    await replicasSettled(c);
    const s = await setup(4242);
    try {
      await warm(s);
      const all = await nodes(c, c.ports[0]!);
      const old = all.find((n) => n.master && n.slots.length)!;
      const replica = all.find((n) => !n.master && n.of === old.id)!;
      expect(await c.cli(replica.port, 'client', 'list')).not.toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
      await c.cli(replica.port, 'cluster', 'failover');
      let promoted = false;
      const watching = waitFor('the replica to take over', 60_000, async () => {
        promoted = (await nodes(c, replica.port)).some((n) => n.port === replica.port && n.master);
        return promoted;
      });
      const through = await readThrough(s, () => promoted, 20);
      await watching;
      const after = await readThrough(s, () => true, 40);
      console.log(`manual failover: ${through.answers + after.answers} answers, ${through.wrong.length + after.wrong.length} wrong, ${after.hits} keys answered from copies after it`);
      expect(through.wrong).toEqual([]);
      expect(after.wrong).toEqual([]);
      expect(after.hits).toBeGreaterThan(0);
      // The promoted master is tracked; the old one, a replica now, keeps its connection or not, but answers nothing.
      expect(await c.cli(replica.port, 'client', 'list')).toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
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

  it('gives no stale answer while slots move to a master that joined after tracking began (add-node, then reshard onto it)', async () => {
    const c = cluster();
    const s = await setup(9090);
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-cache-node-'));
    const port = await freeNodePort(new Set(c.ports));
    const node = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const exited = new Promise((r) => node.once('exit', r));
    let disagreement = '';
    const agreed = (via: number): Promise<void> =>
      waitFor('the nodes to agree on the slots', 30_000, async () => {
        try {
          await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${via}`]);
          return true;
        } catch (e) {
          disagreement = String((e as { stdout?: string }).stdout ?? e).slice(-600);
          throw e;
        }
      }).catch((e: Error) => {
        throw new Error(`${e.message}: ${disagreement}`);
      });
    let added: NodeInfo | undefined;
    let from: NodeInfo | undefined;
    try {
      await waitFor('the new node to answer', 10_000, async () => (await c.cli(port, 'ping')).trim() === 'PONG');
      await warm(s);
      from = (await nodes(c, c.ports[0]!)).find((n) => n.master && n.slots.length)!;
      await run('redis-cli', ['--cluster', 'add-node', `127.0.0.1:${port}`, `127.0.0.1:${from.port}`]);
      await waitFor('every node to know the new one', 30_000, async () => {
        for (const p of c.ports) if (!(await nodes(c, p).catch(() => [])).some((n) => n.port === port)) return false;
        return true;
      });
      await waitFor('the new node to see the cluster ok', 30_000, async () => /cluster_state:ok/.test(await c.cli(port, 'cluster', 'info')));
      added = (await nodes(c, from.port)).find((n) => n.port === port)!;
      let done = false;
      const moving = (async () => {
        try {
          await agreed(from!.port);
          await run('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${from!.port}`, '--cluster-from', from!.id, '--cluster-to', added!.id, '--cluster-slots', '2000', '--cluster-yes'], { maxBuffer: 64 << 20 });
          return null;
        } catch (e) {
          return e as Error;
        } finally {
          done = true;
        }
      })();
      const during = await readThrough(s, () => done, 20);
      const failed = await moving;
      if (failed) throw new Error(`reshard onto the new node: ${String((failed as { stdout?: string }).stdout ?? '').slice(-300)} ${String((failed as { stderr?: string }).stderr ?? '').slice(-500)}`);
      // The new master holds slots now: writes there, read at once.
      const after = await readThrough(s, () => true, 40);
      console.log(`new master: ${during.answers + after.answers} answers, ${during.wrong.length + after.wrong.length} wrong, ${during.unavailable + after.unavailable} SERVICE_UNAVAILABLE, ${during.hits + after.hits} keys answered from copies`);
      expect(during.wrong).toEqual([]);
      expect(after.wrong).toEqual([]);
      expect(after.hits).toBeGreaterThan(0);
      expect(await c.cli(port, 'client', 'list')).toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
    } finally {
      // Slots back to where they were and the node out of the cluster, for the tests after this one.
      if (added && from) {
        await agreed(from.port).catch((e: Error) => console.log(e.message));
        await run('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${from.port}`, '--cluster-from', added.id, '--cluster-to', from.id, '--cluster-slots', '16384', '--cluster-yes'], { maxBuffer: 64 << 20 }).catch(() => {});
        await agreed(from.port).catch(() => {});
        await run('redis-cli', ['--cluster', 'del-node', `127.0.0.1:${from.port}`, added.id]).catch(() => {});
      }
      if (node.exitCode === null) node.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      await s.close();
    }
  }, 240_000);
});

describe('closed-period cache with cluster-require-full-coverage no', () => {
  it('stays off while a master with slots is down (no replica took over), and gives no stale answer once it is back, empty', async () => {
    const c = cluster();
    await replicasSettled(c);
    const s = await setup(3131);
    let stopped: { master: NodeInfo; replica: NodeInfo; masterBack: boolean } | undefined;
    try {
      await warm(s);
      const all = await nodes(c, c.ports[0]!);
      // A master that holds none of the gateway's own records (shard width, shard sets): it comes back empty.
      const records = [s.engine.layout.shardBitsKey, s.engine.layout.shardsKey, shardSetKey(s.engine.layout, `${s.t.prefix}seen_2026-11-20`)].map(keySlot);
      const master = all.find((n) => n.master && n.slots.length && !records.some((r) => owns(n, r)))!;
      const replica = all.find((n) => !n.master && n.of === master.id)!;
      for (const p of c.ports) await c.cli(p, 'config', 'set', 'cluster-require-full-coverage', 'no');
      stopped = { master, replica, masterBack: false };
      await c.stopNode(replica.port);
      await c.stopNode(master.port);
      const other = c.ports.find((p) => p !== master.port && p !== replica.port)!;
      await waitFor('the master to be marked failed', 30_000, async () => (await c.cli(other, 'cluster', 'nodes')).split('\n').some((l) => l.includes(`:${master.port}@`) && / master,fail /.test(` ${l.split(' ')[2]} `)));
      for (let i = 0; i < 10; i++) await s.t.gql(QUERY);
      expect(s.engine.caching.cache!.active).toBe(false);
      await c.startNode(master.port); // empty: the nodes keep nothing on disk
      stopped.masterBack = true;
      for (const d of [20, 21] as const) for (const id of [...s.truth.days[d]]) if (owns(master, keySlot(s.where(d, id).key))) s.truth.days[d].delete(id);
      await waitFor('the master to be back', 30_000, async () => !(await c.cli(other, 'cluster', 'nodes')).split('\n').some((l) => l.includes(`:${master.port}@`) && l.split(' ')[2]!.includes('fail')));
      await waitFor('the master to see the cluster ok', 30_000, async () => /cluster_state:ok/.test(await c.cli(master.port, 'cluster', 'info')));
      // Tracking is back once every master with slots is tracked again; until then copies are off.
      await waitFor('copies to be in use again', 30_000, async () => s.engine.caching.cache!.active);
      const after = await readThrough(s, () => true, 60);
      console.log(`master back: ${after.answers} answers, ${after.wrong.length} wrong, ${after.unavailable} SERVICE_UNAVAILABLE, ${after.hits} keys answered from copies`);
      expect(after.wrong).toEqual([]);
      expect(after.hits).toBeGreaterThan(0);
      expect(await c.cli(master.port, 'client', 'list')).toContain(`name=${CLUSTER_TRACKING_CLIENT_NAME} `);
    } finally {
      if (stopped) {
        // Started once each: a second start on a port in use would leave the running node unowned.
        if (!stopped.masterBack) await c.startNode(stopped.master.port).catch(() => {});
        await c.startNode(stopped.replica.port).catch(() => {});
        for (const p of c.ports) await c.cli(p, 'config', 'set', 'cluster-require-full-coverage', 'yes').catch(() => '');
        await waitFor('cluster_state:ok on every node', 60_000, async () => {
          for (const p of c.ports) if (!/cluster_state:ok/.test(await c.cli(p, 'cluster', 'info'))) return false;
          return true;
        });
      }
      await s.close();
    }
  }, 240_000);
});

/** Every node lists three masters, each with its replica (a fresh cluster lists replicas-to-be as masters for a moment), and every replica is in sync. */
function replicasSettled(c: TestCluster): Promise<void> {
  return waitFor('every master to have a replica, on every node', 60_000, async () => {
    for (const p of c.ports) {
      const now = await nodes(c, p);
      const masters = now.filter((n) => n.master);
      if (masters.length !== 3 || !masters.every((m) => now.some((r) => !r.master && r.of === m.id))) return false;
    }
    // And each replica has synced once: one that never has refuses to take over (its data age is unknown).
    for (const r of (await nodes(c, c.ports[0]!)).filter((n) => !n.master)) {
      if (!/master_link_status:up/.test(await c.cli(r.port, 'info', 'replication'))) return false;
    }
    return true;
  });
}

/** A subscription over GraphQL over SSE, through the gateway's fetch: its `next` payloads in order. */
async function sse(t: TestGateway, query: string): Promise<{ next(ms?: number): Promise<{ data?: unknown; errors?: unknown }>; close(): Promise<void> }> {
  const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
    body: JSON.stringify({ query }),
  });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const queued: Array<{ data?: unknown; errors?: unknown }> = [];
  let buffer = '';
  return {
    async next(ms = 5000) {
      const end = Date.now() + ms;
      while (!queued.length) {
        const left = end - Date.now();
        if (left <= 0) throw new Error(`no answer within ${ms} ms`);
        const read = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
        if (!read) continue;
        if (read.done) throw new Error('the stream ended');
        buffer += decoder.decode(read.value, { stream: true });
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          if (!/^event: next$/m.test(block)) continue;
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          queued.push(JSON.parse(data) as { data?: unknown; errors?: unknown });
        }
      }
      return queued.shift()!;
    },
    close: () => reader.cancel().catch(() => {}),
  };
}
