// Faults on a real Redis Cluster (3 masters, 3 replicas): a master killed during a stream of acknowledged marks (none lost with MIN_REPLICA_ACKS=1; the loss counted without), and slots resharded during a loop of counts checked against a JS Set.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { shardSetKey } from '../../src/bitmap/engines/cluster/key-shards.ts';
import { keySlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { caughtUp, masterOf, nodes, owns, useCluster, waitFor, withReplicas } from './cluster.ts';
import type { TestCluster } from './cluster.ts';

const run = promisify(execFile);
const cluster = useCluster();
const W = 8;
const DAY = '2026-11-20';
const MARK = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';

async function clusterOk(c: TestCluster): Promise<void> {
  const alive = c.ports;
  await waitFor('cluster_state:ok', 60_000, async () => {
    for (const p of alive) {
      const info = await c.cli(p, 'cluster', 'info').catch(() => '');
      if (info && !/cluster_state:ok/.test(info)) return false;
    }
    return true;
  });
}

/** The ids set in a logical bitmap (shards read back through the engine). */
async function stored(t: TestGateway, key: string): Promise<Set<number>> {
  const bytes = await (t.engine as ClusterEngine).dump(key);
  const ids = new Set<number>();
  if (!bytes) return ids;
  for (let i = 0; i < bytes.length; i++) for (let j = 0; j < 8; j++) if (bytes[i]! & (0x80 >> j)) ids.add(i * 8 + j);
  return ids;
}

/**
 * Marks one id at a time (each in its own shard, so every master takes some) until `stop()`,
 * kills the master of shard 0 after `before` acknowledgements, and keeps marking until the
 * cluster has failed over and `after` more were acknowledged. Returns the acknowledged ids and
 * the codes of the refused marks.
 */
async function markThroughFailover(t: TestGateway, event: string): Promise<{ acked: number[]; codes: Map<string, number> }> {
  const c = cluster();
  const acked: number[] = [];
  const codes = new Map<string, number>();
  const shard0 = keySlot(`{${(t.engine as ClusterEngine).layout.tag(0)}}x`);
  const all = await nodes(c, c.ports[0]!);
  const victim = all.find((n) => n.master && owns(n, shard0))!;
  let killedAt = -1;
  let failedOverAt = -1;
  let rejoined: Promise<void> | null = null;
  const other = c.ports.find((p) => p !== victim.port)!;
  for (let i = 0; ; i++) {
    const userId = (i % 200) * 2 ** W + Math.floor(i / 200);
    const r = await t.gql(MARK, { in: [{ name: event, userId, at: `${DAY}T10:00:00Z` }] });
    if (r.errors) {
      const code = String(r.errors[0]?.extensions?.code);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      await new Promise((res) => setTimeout(res, 20));
    } else acked.push(userId);
    if (killedAt < 0 && acked.length === 150) {
      await c.stopNode(victim.port);
      killedAt = acked.length;
    }
    // Once a replica has taken over, the killed master comes back as its replica (so the promoted
    // master has a replica again and acknowledged writes resume on every shard).
    if (killedAt >= 0 && !rejoined && i % 10 === 0) {
      const now = await nodes(c, other);
      if (now.some((n) => n.master && n.port !== victim.port && owns(n, shard0))) {
        rejoined = c.startNode(victim.port);
        failedOverAt = acked.length;
      }
    }
    // Marks to the other masters' shards go on meanwhile: stop only once the replica has taken
    // over (the victim restarted sooner would stay a master) and marks have been acknowledged since.
    if (failedOverAt >= 0 && acked.length >= Math.max(killedAt + 150, failedOverAt + 50)) break;
    if (i > 20_000) throw new Error('marks were not acknowledged again after the failover');
  }
  await rejoined;
  await clusterOk(c);
  await waitFor('the old master to rejoin as a replica', 30_000, async () => {
    const now = await nodes(c, victim.port === c.ports[0] ? c.ports[1]! : c.ports[0]!);
    return now.some((n) => n.port === victim.port && !n.master) && now.filter((n) => n.master).every((m) => now.some((r) => r.of === m.id));
  });
  return { acked, codes };
}

describe('a master killed during a stream of acknowledged marks', () => {
  let t: TestGateway | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('loses none with MIN_REPLICA_ACKS=1: every acknowledged mark is on the promoted replica', async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: W, minReplicaAcks: 1, replicaAckTimeoutMs: 500 } });
    const { acked, codes } = await markThroughFailover(t, 'acked');
    // Refused marks are told why, with a code: never an unknown failure.
    for (const code of codes.keys()) expect(['SERVICE_UNAVAILABLE', 'REPLICATION_TIMEOUT']).toContain(code);
    const have = await stored(t, `${t.prefix}acked_${DAY}`);
    const lost = acked.filter((id) => !have.has(id));
    expect(lost).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(300);
  }, 180_000);

  it('loses none with MIN_REPLICA_ACKS=1 when the promoted replica had stopped applying: the marks it lacks were refused with REPLICATION_TIMEOUT', async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: W, minReplicaAcks: 1, replicaAckTimeoutMs: 200 } });
    const r = await killWithReplicaPaused(t, 'held', 'held');
    expect(r.refused).toEqual({ REPLICATION_TIMEOUT: r.whilePaused.length });
    expect(r.acked.filter((id) => !r.have.has(id))).toEqual([]);
    // The replica applied none of them: a write is refused exactly when it is not on the replica.
    expect(r.whilePaused.filter((id) => r.have.has(id))).toEqual([]);
    expect(r.acked.length).toBeGreaterThan(r.whilePaused.length);
  }, 180_000);

  it('reports the acknowledged marks lost without replica acks: exactly those the promoted replica had not applied', async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: W, minReplicaAcks: 0 } });
    const r = await killWithReplicaPaused(t, 'lost', 'lost');
    expect(r.refused).toEqual({});
    const lost = r.acked.filter((id) => !r.have.has(id));
    console.log(`MIN_REPLICA_ACKS=0: ${lost.length} of ${r.acked.length} acknowledged marks lost when a master was killed while its replica applied nothing`);
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.sort((a, b) => a - b)).toEqual([...r.whilePaused].sort((a, b) => a - b));
  }, 180_000);
});

/**
 * Kills (kill -9) the master of one shard while its replica applies nothing, then promotes the
 * replica. The replica is held by CLIENT PAUSE WRITE: it keeps reading its replication stream but
 * applies none of it, and when the link drops it discards what it had not applied. (On Redis 7.0
 * SIGSTOP loses nothing: the kernel keeps what the master sent, and the continued replica applies
 * it; PAUSE ALL holds CLIENT UNPAUSE and INFO too, until the pause times out.) Marks go to that
 * shard and to a shard of another master before and while the replica is held (once it has
 * applied all before); after the takeover the killed master comes back as a replica. Returns the
 * acknowledged ids, the ids of that shard sent while the replica was held, the codes of the
 * refused marks, and the ids the logical key holds at the end.
 */
async function killWithReplicaPaused(
  t: TestGateway,
  event: string,
  name: string,
): Promise<{ acked: number[]; whilePaused: number[]; refused: Record<string, number>; have: Set<number> }> {
  const c = cluster();
  const engine = t.engine as ClusterEngine;
  await clusterOk(c);
  const all = await withReplicas(c, c.ports[0]!);
  const slotOf = (k: number): number => keySlot(engine.layout.key('', k));
  // The shard bitmap's master is not the one killed: its replica is never held.
  const setsOwner = masterOf(all, keySlot(engine.layout.shardsKey));
  const shards = Array.from({ length: 256 }, (_, i) => i);
  const k = shards.find((i) => masterOf(all, slotOf(i)).id !== setsOwner.id)!;
  const victim = masterOf(all, slotOf(k));
  const replica = all.find((n) => n.of === victim.id)!;
  const j = shards.find((i) => masterOf(all, slotOf(i)).id !== victim.id)!;
  const via = c.ports.find((p) => p !== victim.port && p !== replica.port)!;
  const id = (shard: number, n: number): number => shard * 2 ** W + n;
  const mark = (userId: number) => t.gql(MARK, { in: [{ name: event, userId, at: `${DAY}T10:00:00Z` }] });
  const acked: number[] = [];
  const whilePaused: number[] = [];
  const refused: Record<string, number> = {};

  await waitFor('a mark to be acknowledged (the replicas in sync)', 30_000, async () => (await mark(id(k, 0))).errors === undefined);
  acked.push(id(k, 0));
  for (let n = 1; n <= 20; n++) {
    for (const shard of [k, j]) {
      const r = await mark(id(shard, n));
      expect(r.errors).toBeUndefined();
      acked.push(id(shard, n));
    }
  }
  // Everything before is on the replica: it applied the master's whole stream so far.
  await caughtUp(c, victim.port, [replica.port]);
  let held = false;
  let killed = false;
  try {
    await c.cli(replica.port, 'client', 'pause', '120000', 'WRITE');
    held = true;
    for (let n = 21; n <= 60; n++) {
      for (const shard of [k, j]) {
        const r = await mark(id(shard, n));
        if (shard === k) whilePaused.push(id(shard, n));
        if (r.errors) {
          const code = String(r.errors[0]?.extensions?.code);
          refused[code] = (refused[code] ?? 0) + 1;
        } else acked.push(id(shard, n));
      }
    }
    await c.stopNode(victim.port);
    killed = true;
    // The held replica sees its link drop (it still reads the socket) before it applies again.
    await waitFor('the held replica to see its master gone', 30_000, async () => /master_link_status:down/.test(await c.cli(replica.port, 'info', 'replication')));
    await c.cli(replica.port, 'client', 'unpause');
    held = false;
    // Promoted now rather than after the node timeout (if it already was, it refuses: ignored).
    await c.cli(replica.port, 'cluster', 'failover', 'takeover').catch(() => '');
    await waitFor('the replica to be promoted', 30_000, async () => (await nodes(c, via)).some((n) => n.port === replica.port && n.master && owns(n, slotOf(k))));
    await clusterOk(c);
  } finally {
    // Whatever failed: the replica applies again and the killed master comes back (as a replica).
    if (held) await c.cli(replica.port, 'client', 'unpause');
    if (killed) await c.startNode(victim.port);
  }
  await withReplicas(c, via);
  let have = new Set<number>();
  await waitFor(`the ${name} key to be read after the failover`, 30_000, async () => {
    have = await stored(t, `${t.prefix}${event}_${DAY}`);
    return true;
  });
  return { acked, whilePaused, refused, have };
}

describe('slots resharded while counts run', () => {
  it('gives no wrong answer: every count equals the JS Set reference or is SERVICE_UNAVAILABLE', async () => {
    const c = cluster();
    const t = await testGateway({ engine: 'cluster', cluster: c.seeds, config: { shardBits: W } });
    try {
      // 3000 ids over 256 shards: every master holds many shards' keys.
      const a = new Set<number>();
      const b = new Set<number>();
      for (let i = 0; i < 3000; i++) {
        const id = (i * 7919) % 2 ** 16;
        a.add(id);
        if (i % 3 === 0) b.add(id);
      }
      const marks = [...a].map((userId) => ({ name: 'ra', userId, at: `${DAY}T10:00:00Z` }));
      marks.push(...[...b].map((userId) => ({ name: 'rb', userId, at: `${DAY}T11:00:00Z` })));
      for (let i = 0; i < marks.length; i += 500) expect((await t.gql(MARK, { in: marks.slice(i, i + 500) })).errors).toBeUndefined();
      const only = [...a].filter((x) => !b.has(x)).length;
      const query = `{ a: count(set: { event: { name: "ra", period: { at: { granularity: DAY, date: "${DAY}" } } } })
        d: count(set: { minus: { from: { event: { name: "ra", period: { at: { granularity: DAY, date: "${DAY}" } } } }, subtract: [{ event: { name: "rb", period: { at: { granularity: DAY, date: "${DAY}" } } } }] } }) }`;
      const first = await t.gql(query);
      expect(first.errors).toBeUndefined();
      expect(first.data).toEqual({ a: a.size, d: only });

      const all = await nodes(c, c.ports[0]!);
      const masters = all.filter((n) => n.master && n.slots.length);
      const [from, to] = [masters[0]!, masters[1]!];
      let done = false;
      // Nodes take a moment to agree on the new owners; --cluster reshard refuses to start before.
      const agreed = (): Promise<void> =>
        waitFor('the nodes to agree on the slots', 30_000, async () => {
          await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${from.port}`]);
          return true;
        });
      const resharding = (async () => {
        try {
          for (const [src, dst] of [[from, to], [to, from]] as const) {
            await agreed();
            await run('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${src.port}`, '--cluster-from', src.id, '--cluster-to', dst.id, '--cluster-slots', '3000', '--cluster-yes'], { maxBuffer: 64 * 1024 * 1024 });
          }
          return null;
        } catch (e) {
          return e as Error;
        } finally {
          done = true;
        }
      })();
      let answers = 0;
      let wrong = 0;
      const unavailable: number[] = [];
      const other: string[] = [];
      while (!done || answers < 20) {
        const r = await t.gql(query);
        answers++;
        if (r.errors) {
          const code = String(r.errors[0]?.extensions?.code);
          if (code === 'SERVICE_UNAVAILABLE') unavailable.push(answers);
          else other.push(`${code}: ${r.errors[0]?.message}`);
        } else if (JSON.stringify(r.data) !== JSON.stringify({ a: a.size, d: only })) wrong++;
      }
      const failed = await resharding;
      if (failed) throw failed;
      console.log(`reshard: ${answers} answers, ${wrong} wrong, ${unavailable.length} SERVICE_UNAVAILABLE, ${other.length} other errors`);
      expect(wrong).toBe(0);
      expect(other).toEqual([]);
      expect(answers - unavailable.length).toBeGreaterThan(0);
      // Slots really moved, and the data with them.
      expect((await t.gql(query)).data).toEqual({ a: a.size, d: only });
    } finally {
      await t.close();
    }
  }, 240_000);
});

describe('a write redirected by ASK while its slot migrates', () => {
  it('is acknowledged only once the replica of the node that took it (the importing one) holds it', async () => {
    const c = cluster();
    await clusterOk(c);
    const t = await testGateway({ engine: 'cluster', cluster: c.seeds, config: { shardBits: W, minReplicaAcks: 1, replicaAckTimeoutMs: 300 } });
    const engine = t.engine as ClusterEngine;
    let paused: number[] = [];
    try {
      const all = await withReplicas(c, c.ports[0]!);
      const masters = all.filter((n) => n.master && n.slots.length);
      const slotOf = (k: number): number => keySlot(engine.layout.key('', k));
      // The shard bitmap's master is neither end of the migration: a mark sets its shard's bit there
      // (WAITed on its own), and its replica stays up.
      const setsOwner = masterOf(all, keySlot(engine.layout.shardsKey));
      const k = Array.from({ length: 256 }, (_, i) => i).find((i) => masterOf(all, slotOf(i)).id !== setsOwner.id)!;
      const slot = slotOf(k);
      const source = masterOf(all, slot);
      const target = masters.find((m) => m.id !== source.id && m.id !== setsOwner.id)!;
      // Every replica of it: after the failovers above one master may hold two (replica migration).
      const targetReplicas = all.filter((n) => n.of === target.id);
      expect(targetReplicas.length).toBeGreaterThan(0);
      const key = `${t.prefix}moving_${DAY}`;
      const id = (n: number): number => k * 2 ** W + n;
      const mark = (n: number) => t.gql(MARK, { in: [{ name: 'moving', userId: id(n), at: `${DAY}T10:00:00Z` }] });

      await waitFor('a mark to be acknowledged (the replicas in sync)', 30_000, async () => (await mark(1)).errors === undefined);
      // Slot `slot` half moved from `source` to `target`: its keys already on `target`, so `source`
      // answers ASK for them (and for new keys), and `target` takes them after ASKING.
      await c.cli(target.port, 'cluster', 'setslot', String(slot), 'importing', source.id);
      await c.cli(source.port, 'cluster', 'setslot', String(slot), 'migrating', target.id);
      const moving = (await c.cli(source.port, 'cluster', 'getkeysinslot', String(slot), '100')).trim().split('\n').filter(Boolean);
      expect(moving).toContain(engine.layout.key(key, k));
      expect((await c.cli(source.port, 'migrate', '127.0.0.1', String(target.port), '', '0', '5000', 'keys', ...moving)).trim()).toBe('OK');

      // The importing node's replicas apply nothing (CLIENT PAUSE WRITE holds its replication
      // stream too): a write the importing node takes cannot be acknowledged.
      for (const r of targetReplicas) await c.cli(r.port, 'client', 'pause', '60000', 'WRITE');
      paused = targetReplicas.map((r) => r.port);
      const refused = await mark(2);
      expect(refused.errors?.[0]?.extensions?.code).toBe('REPLICATION_TIMEOUT');
      for (const r of targetReplicas) await c.cli(r.port, 'client', 'unpause');
      paused = [];
      await waitFor('the importing node to acknowledge', 30_000, async () => (await mark(3)).errors === undefined);

      // Finish the migration: every master names `target` as the slot's owner.
      expect((await c.cli(source.port, 'cluster', 'countkeysinslot', String(slot))).trim()).toBe('0');
      for (const m of masters) await c.cli(m.port, 'cluster', 'setslot', String(slot), 'node', target.id);
      const physical = engine.layout.key(key, k);
      for (const n of [1, 2, 3]) expect((await c.cli(target.port, 'getbit', physical, String(n))).trim()).toBe('1');
      expect([...(await stored(t, key))].sort((a, b) => a - b)).toEqual([id(1), id(2), id(3)]);
      const count = await t.gql(`{ n: count(set: { event: { name: "moving", period: { at: { granularity: DAY, date: "${DAY}" } } } }) }`);
      expect(count.data).toEqual({ n: 3 });
    } finally {
      for (const port of paused) await c.cli(port, 'client', 'unpause');
      await t.close();
    }
  }, 120_000);
});

describe('a shard-set write redirected by ASK while the slot of the shard sets migrates', () => {
  it('is acknowledged only once the replica of the importing node holds it', async () => {
    const c = cluster();
    await clusterOk(c);
    const t = await testGateway({ engine: 'cluster', cluster: c.seeds, config: { shardBits: W, minReplicaAcks: 1, replicaAckTimeoutMs: 300 } });
    const engine = t.engine as ClusterEngine;
    let paused: number[] = [];
    try {
      const all = await withReplicas(c, c.ports[0]!);
      const masters = all.filter((n) => n.master && n.slots.length);
      const slot = keySlot(engine.layout.shardsKey);
      const source = masterOf(all, slot);
      const target = masters.find((m) => m.id !== source.id)!;
      // Every replica of it: after the failovers above one master may hold two (replica migration).
      const targetReplicas = all.filter((n) => n.of === target.id);
      expect(targetReplicas.length).toBeGreaterThan(0);
      const slotOf = (k: number): number => keySlot(engine.layout.key('', k));
      // Shards whose own keys are on neither the migrating slot nor `target`: their writes are
      // WAITed on masters whose replicas run, so only the shard-set write can miss an ack.
      const shards = Array.from({ length: 256 }, (_, i) => i)
        .filter((i) => slotOf(i) !== slot && masterOf(all, slotOf(i)).id !== target.id)
        .slice(0, 3);
      expect(shards).toHaveLength(3);
      const [k1, k2, k3] = shards as [number, number, number];
      const key = `${t.prefix}sets_${DAY}`;
      const setKey = shardSetKey(engine.layout, key);
      const id = (k: number): number => k * 2 ** W + 1;
      // Each mark is in a shard new to the key: its shard set (and the cluster-wide bitmap) changes.
      const mark = (k: number) => t.gql(MARK, { in: [{ name: 'sets', userId: id(k), at: `${DAY}T10:00:00Z` }] });

      await waitFor('a mark to be acknowledged (the replicas in sync)', 30_000, async () => (await mark(k1)).errors === undefined);
      // The slot of the shard sets half moved from `source` to `target`: its keys (the cluster-wide
      // bitmap and the sets) already on `target`, which takes writes to them after ASKING.
      await c.cli(target.port, 'cluster', 'setslot', String(slot), 'importing', source.id);
      await c.cli(source.port, 'cluster', 'setslot', String(slot), 'migrating', target.id);
      const moving = (await c.cli(source.port, 'cluster', 'getkeysinslot', String(slot), '100')).trim().split('\n').filter(Boolean);
      expect(moving).toEqual(expect.arrayContaining([engine.layout.shardsKey, setKey]));
      expect((await c.cli(source.port, 'migrate', '127.0.0.1', String(target.port), '', '0', '5000', 'keys', ...moving)).trim()).toBe('OK');

      // The importing node's replicas apply nothing: the set write it takes cannot be acknowledged
      // (WAITed on `source` instead, whose replica runs, it was acknowledged before).
      for (const r of targetReplicas) await c.cli(r.port, 'client', 'pause', '60000', 'WRITE');
      paused = targetReplicas.map((r) => r.port);
      const refused = await mark(k2);
      expect(refused.errors?.[0]?.extensions?.code).toBe('REPLICATION_TIMEOUT');
      for (const r of targetReplicas) await c.cli(r.port, 'client', 'unpause');
      paused = [];
      await waitFor('the importing node to acknowledge', 30_000, async () => (await mark(k3)).errors === undefined);

      // Finish the migration: every master names `target` as the slot's owner.
      expect((await c.cli(source.port, 'cluster', 'countkeysinslot', String(slot))).trim()).toBe('0');
      for (const m of masters) await c.cli(m.port, 'cluster', 'setslot', String(slot), 'node', target.id);
      const expected = [k1, k2, k3].sort((a, b) => a - b);
      // The set and the cluster-wide bitmap as stored on `target` (read there, bit by bit).
      const direct = new Redis({ host: '127.0.0.1', port: target.port, lazyConnect: true });
      const bits = async (physical: string): Promise<number[]> => {
        const bytes = (await direct.getBuffer(physical)) ?? Buffer.alloc(0);
        const on: number[] = [];
        for (let i = 0; i < bytes.length * 8; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) on.push(i);
        return on;
      };
      try {
        expect(await bits(setKey)).toEqual(expected);
        expect(await bits(engine.layout.shardsKey)).toEqual(expected);
      } finally {
        direct.disconnect();
      }
      expect(await engine.keyShards(key)).toEqual(expected);
      for (const k of expected) expect((await c.cli(masterOf(all, slotOf(k)).port, 'getbit', engine.layout.key(key, k), '1')).trim()).toBe('1');
      expect([...(await stored(t, key))].sort((a, b) => a - b)).toEqual(expected.map(id));
      const count = await t.gql(`{ n: count(set: { event: { name: "sets", period: { at: { granularity: DAY, date: "${DAY}" } } } }) }`);
      expect(count.data).toEqual({ n: 3 });
    } finally {
      for (const port of paused) await c.cli(port, 'client', 'unpause');
      await t.close();
    }
  }, 120_000);
});
