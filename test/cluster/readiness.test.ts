// /ready and the errors of a Redis Cluster that loses a master with no replica (3 masters, no replicas), and recovery when it returns.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { useCluster, waitFor } from './cluster.ts';

const cluster = useCluster(3, 0);
const COUNT = '{ n: count(set: { event: { name: "seen", period: { at: { granularity: DAY, date: "2026-11-20" } } } }) }';

describe('a cluster that loses a master with no replica', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: 8, readyTimeoutMs: 1000 } });
    const marks = [1, 300, 600, 900].map((userId) => ({ name: 'seen', userId, at: '2026-11-20T10:00:00Z' }));
    const r = await t.gql('mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }', { in: marks });
    expect(r.errors).toBeUndefined();
  });
  afterAll(async () => t?.close());

  const ready = async (): Promise<number> => (await t.gateway.yoga.fetch('http://yoga/ready')).status;

  it('is ready, then not ready with SERVICE_UNAVAILABLE while the master is away, then ready and answering again', async () => {
    expect(await ready()).toBe(200);
    expect((await t.gql(COUNT)).data).toEqual({ n: 4 });
    const port = cluster().ports[1]!;
    await cluster().stopNode(port);
    await waitFor('/ready to answer 503', 15_000, async () => (await ready()) === 503);
    const r = await t.gql(COUNT);
    expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await t.gateway.yoga.fetch('http://yoga/health')).status).toBe(200); // the process still answers
    await cluster().startNode(port);
    await waitFor('/ready to answer 200', 30_000, async () => (await ready()) === 200);
    // The restarted master kept nothing (no persistence here): the other masters' shards still answer.
    await waitFor('a count without error', 15_000, async () => (await t.gql(COUNT)).errors === undefined);
  });
});
