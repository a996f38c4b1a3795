// A master lost with no replica to take over, on a Redis Cluster that serves the slots it still covers (cluster-require-full-coverage no): requests touching its shards are SERVICE_UNAVAILABLE, the others answer exactly, and all answer once it returns.

import { describe, expect, it } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { keySlot } from '../../src/bitmap/engines/cluster/slots.ts';
import { testGateway } from '../helpers.ts';
import { useCluster, waitFor } from './cluster.ts';

const cluster = useCluster(3, 0);
const W = 8;
const DAY = '2026-11-20';
const MARK = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const COUNT = `{ away: count(set: { event: { name: "away", period: { at: { granularity: DAY, date: "${DAY}" } } } })
  here: count(set: { event: { name: "here", period: { at: { granularity: DAY, date: "${DAY}" } } } }) }`;
const HERE = `{ here: count(set: { event: { name: "here", period: { at: { granularity: DAY, date: "${DAY}" } } } }) }`;

describe('a master down with no replica', () => {
  it('refuses only the requests touching its shards, with SERVICE_UNAVAILABLE, and answers them again once it returns', async () => {
    const c = cluster();
    for (const p of c.ports) await c.cli(p, 'config', 'set', 'cluster-require-full-coverage', 'no');
    const t = await testGateway({ engine: 'cluster', cluster: c.seeds, config: { shardBits: W } });
    try {
      const engine = t.engine as ClusterEngine;
      const masters = (await c.cli(c.ports[0]!, 'cluster', 'nodes'))
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .map((f) => ({
          port: Number(f[1]!.split('@')[0]!.split(':')[1]),
          ranges: f.slice(8).map((r) => r.split('-').map(Number) as [number, number?]),
        }));
      const ownerPort = (slot: number): number => masters.find((m) => m.ranges.some(([a, b]) => slot >= a && slot <= (b ?? a)))!.port;
      const shardPort = (k: number): number => ownerPort(keySlot(engine.layout.key('', k)));
      // Not the master of the shard bitmap and sets: every request and mark reads or writes them.
      const setsPort = ownerPort(keySlot(engine.layout.shardsKey));
      const victim = masters.find((m) => m.port !== setsPort)!.port;
      const shards = Array.from({ length: 64 }, (_, k) => k);
      const onVictim = shards.filter((k) => shardPort(k) === victim).slice(0, 3);
      const elsewhere = shards.filter((k) => shardPort(k) !== victim).slice(0, 5);
      expect(onVictim).toHaveLength(3);
      const id = (k: number, n: number): number => k * 2 ** W + n;
      const mark = (name: string, userId: number) => t.gql(MARK, { in: [{ name, userId, at: `${DAY}T10:00:00Z` }] });
      for (const k of onVictim) expect((await mark('away', id(k, 1))).errors).toBeUndefined();
      for (const k of elsewhere.slice(0, 2)) expect((await mark('away', id(k, 2))).errors).toBeUndefined();
      for (const k of elsewhere) expect((await mark('here', id(k, 3))).errors).toBeUndefined();
      expect((await t.gql(COUNT)).data).toEqual({ away: 5, here: 5 });

      await c.stopNode(victim);
      // Until the others mark it failed, a call to it fails on its closed connection; after, they answer CLUSTERDOWN for its slots.
      for (let i = 0; i < 20; i++) {
        const both = await t.gql(COUNT);
        expect(both.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        expect((await t.gql(HERE)).data).toEqual({ here: 5 });
        if (i === 10) await new Promise((r) => setTimeout(r, 4000)); // past the node timeout (2 s): the victim is failed
      }
      expect((await mark('away', id(onVictim[0]!, 4))).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect((await mark('here', id(elsewhere[0]!, 4))).errors).toBeUndefined();
      expect((await t.gql(HERE)).data).toEqual({ here: 6 });
      expect((await t.gateway.yoga.fetch('http://yoga/health')).status).toBe(200); // the process still answers

      await c.startNode(victim);
      // It kept nothing (no persistence here): its shards answer again, empty; the others' bits are all there.
      await waitFor('the returned master to answer', 30_000, async () => (await t.gql(COUNT)).errors === undefined);
      expect((await t.gql(COUNT)).data).toEqual({ away: 2, here: 6 });
      expect((await mark('away', id(onVictim[0]!, 5))).errors).toBeUndefined();
      expect((await t.gql(COUNT)).data).toEqual({ away: 3, here: 6 });
    } finally {
      await t.close();
    }
  }, 120_000);
});
