// Writes on a real Redis Cluster (3 masters, 3 replicas): idempotent counter increments, the same checks as one Redis and the embedded engine.

import { afterAll, beforeAll } from 'vitest';
import { describeIdempotency } from '../api/idempotency-checks.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { useCluster } from './cluster.ts';

const cluster = useCluster();
let t: TestGateway | undefined;

beforeAll(async () => {
  t = await testGateway({ engine: 'cluster', cluster: cluster().seeds, config: { shardBits: 8 } });
});
afterAll(async () => t?.close());

describeIdempotency('the cluster', () => t!);
