// MINUTE keys on a real Redis Cluster (3 masters): a mark with minutes tracked writes its minute
// key's shard under the shard tag like every other key, a series of minutes reads them back
// against a plain Set reference, and counters keep their per-minute hashes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { shardTag } from '../../src/bitmap/engines/cluster/slots.ts';
import { rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { physicalKeys, useCluster } from './cluster.ts';
import { ok } from '../assertions.ts';

const W = 7; // 128 ids a shard
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const NOW = Date.parse('2026-11-30T12:00:00Z');
const cluster = useCluster(3, 0);

describe('MINUTE on the cluster', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, now: NOW, config: { shardBits: W, trackMinutely: true } });
  });
  afterAll(async () => t?.close());

  it('a mark writes its minute key in its shard, at bit id - k * 2^W; none when the mark turns minutes off', async () => {
    const engine = t.engine as ClusterEngine;
    const ids = [5, 130, 70_000]; // shards 0, 1 and 546
    ok(await t.gql(MARKS, { in: [...ids.map((userId) => ({ name: 'tap', userId, at: '2026-11-22T09:05:30Z' })), { name: 'tap', userId: 9, at: '2026-11-22T09:06:00Z', trackMinutely: false }] }));
    const minuteKeys = (await physicalKeys(engine, `${t.prefix}tap_m`)).filter((k) => k.startsWith('{') && !k.includes(':cluster:'));
    expect(minuteKeys).toEqual(ids.map((id) => `{${shardTag(Math.floor(id / 128))}}${t.prefix}tap_m2026-11-22-9-5`).sort());
    for (const id of ids) {
      const k = Math.floor(id / 128);
      expect(await engine.cluster.getbit(`{${shardTag(k)}}${t.prefix}tap_m2026-11-22-9-5`, id - k * 128)).toBe(1);
    }
    expect(await physicalKeys(engine, `${t.prefix}tap_m2026-11-22-9-6`)).toEqual([]);
    expect((await physicalKeys(engine, `${t.prefix}tap_2026-11-22`)).length).toBeGreaterThan(0);
  });

  it('a series of minutes and per-minute counters against plain Sets and sums, with ids over many shards', async () => {
    const random = rng(7);
    const first = Date.parse('2026-11-29T10:00:00Z');
    const marks = Array.from({ length: 600 }, () => ({ userId: Math.floor(random() * 5000), ms: first + Math.floor(random() * 30 * 60_000) }));
    ok(await t.gql(MARKS, { in: marks.map((m) => ({ name: 'play', userId: m.userId, at: new Date(m.ms).toISOString() })) }));
    const hits = Array.from({ length: 200 }, () => ({ key: random() < 0.5 ? 'x' : 'y', by: 1 + Math.floor(random() * 3), ms: first + Math.floor(random() * 30 * 60_000) }));
    ok(await t.gql('mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }', { in: hits.map((h) => ({ name: 'c', key: h.key, by: h.by, at: new Date(h.ms).toISOString() })) }));
    const minute = (ms: number): number => Math.floor((ms - first) / 60_000);
    const sets = Array.from({ length: 30 }, (_, i) => new Set(marks.filter((m) => minute(m.ms) === i).map((m) => m.userId)));
    const sums = Array.from({ length: 30 }, (_, i) => hits.filter((h) => minute(h.ms) === i && h.key === 'x').reduce((s, h) => s + h.by, 0));
    const d = ok(
      await t.gql<{ series: Array<{ count: number; period: { label: string } }>; counters: Array<{ count: number }> }>(`{
        series(set: { event: { name: "play" } }, granularity: MINUTE, from: "2026-11-29T10:00Z", to: "2026-11-29T10:29Z") { count period { label } }
        counters: counterSeries(name: "c", key: "x", granularity: MINUTE, from: "2026-11-29T10:00Z", to: "2026-11-29T10:29Z") { count }
      }`),
    );
    expect(d.series[29]!.period.label).toBe('2026-11-29T10:29');
    expect(d.series.map((p) => p.count)).toEqual(sets.map((s) => s.size));
    expect(d.counters.map((p) => p.count)).toEqual(sums);
  });
});
