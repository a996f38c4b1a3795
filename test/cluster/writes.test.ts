// Writes on a real Redis Cluster (3 masters, 3 replicas): idempotent counter increments (the same checks as one Redis and the embedded engine), and MIN_REPLICA_ACKS refusing a write its master cannot replicate.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { keySlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { describeIdempotency } from '../api/idempotency-checks.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { useCluster, waitFor } from './cluster.ts';

const cluster = useCluster();
const W = 8;
const MARK = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
let t: TestGateway | undefined;

beforeAll(async () => {
  t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: W } });
});
afterAll(async () => t?.close());

describeIdempotency('the cluster', () => t!);

describe('a retried batch of increments that had landed in part', () => {
  it('applies only the slots that had not landed: every counter ends incremented once', async () => {
    const engine = t!.engine as ClusterEngine;
    const hashes = Array.from({ length: 12 }, (_, i) => `${t!.gateway.services.layout.counterPrefix}part${i}:2026-11-20`);
    expect(new Set(hashes.map((h) => keySlot(h))).size).toBeGreaterThanOrEqual(6);
    const batch = hashes.map((key, i) => ({ key, field: 'f', by: i + 1 }));
    const once = { key: 'partial', digest: 'D' };
    // The first attempt: only the first four hashes' slots answered before the connection dropped.
    expect(await engine.increment(batch.slice(0, 4), once)).toEqual({ replayed: false });
    expect(await engine.increment(batch, once)).toEqual({ replayed: true });
    expect(await engine.increment(batch, once)).toEqual({ replayed: true });
    const values = await engine.run({ registers: 0, instructions: hashes.map((key) => ({ op: 'hget' as const, key, field: 'f' })) });
    expect(values).toEqual(batch.map((b) => b.by));
    await engine.delete(hashes);
  });
});

describe('MIN_REPLICA_ACKS', () => {
  it('fails a write whose master has no replica with REPLICATION_TIMEOUT, acknowledges the others, and acknowledges again once the replica is back', async () => {
    const c = cluster();
    const acks = await testGateway({ engine: 'cluster', cluster: c.seeds, config: { shardBits: W, minReplicaAcks: 1, replicaAckTimeoutMs: 300 } });
    try {
      const engine = acks.engine as ClusterEngine;
      // Every replica listed with its master (just after creation a node may not list them all yet).
      let lines: string[][] = [];
      await waitFor('every replica to be listed', 30_000, async () => {
        lines = (await c.cli(c.ports[0]!, 'cluster', 'nodes')).trim().split('\n').map((l) => l.split(' '));
        return lines.filter((l) => l[2]!.includes('slave') && l[3] !== '-').length === c.ports.length / 2;
      });
      const port = (addr: string): number => Number(addr.split('@')[0]!.split(':')[1]);
      // Shards 0..15, each with the port of the master holding its slot.
      const slotOwner = (slot: number): string[] =>
        lines.find((l) => l[2]!.includes('master') && l.slice(8).some((r) => {
          const [a, b] = r.split('-').map(Number);
          return slot >= a! && slot <= (b ?? a!);
        }))!;
      const shards = Array.from({ length: 16 }, (_, k) => ({ k, master: slotOwner(keySlot(`{${engine.layout.tag(k)}}x`)) }));
      const victim = shards[0]!.master;
      const replica = lines.find((l) => l[3] === victim[0])!;
      const mark = (k: number) => acks.gql(MARK, { in: [{ name: 'acks', userId: k * 2 ** W + 1, at: '2026-11-20T10:00:00Z' }] });
      const elsewhere = shards.find((s) => s.master[0] !== victim[0])!;
      // Not the shard bitmap's master either: a mark also sets its shard's bit there.
      const shardsKeyOwner = slotOwner(keySlot(engine.layout.shardsKey));

      // A new cluster's replicas finish their first sync a few seconds after cluster_state:ok:
      // until then WAIT rightly counts no replica.
      await waitFor('the replicas to be in sync', 30_000, async () => (await mark(0)).errors === undefined);
      await c.stopNode(port(replica[1]!));
      const refused = await mark(0);
      expect(refused.errors?.[0]?.extensions?.code).toBe('REPLICATION_TIMEOUT');
      expect(refused.errors?.[0]?.message).toMatch(/may or may not survive a failover/);
      if (shardsKeyOwner[0] !== victim[0]) expect((await mark(elsewhere.k)).errors).toBeUndefined();
      await c.startNode(port(replica[1]!));
      await waitFor('the replica to take writes again', 30_000, async () => (await mark(0)).errors === undefined);
      expect((await acks.gql('{ n: count(set: { event: { name: "acks", period: { at: { granularity: DAY, date: "2026-11-20" } } } }) }')).data).toEqual({
        n: shardsKeyOwner[0] !== victim[0] ? 2 : 1,
      });
    } finally {
      await acks.close();
    }
  }, 90_000);
});
