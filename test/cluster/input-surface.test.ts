// The input-surface property on a Redis Cluster with the closed-period cache and reused answers on
// (3 masters): each random request (hostile values, time zones, MINUTE, breakdowns; mutations
// too) goes to the cluster gateway and to one on a single Redis holding the same marks, and must
// get data or coded errors there, the same data as the single Redis when both answer, leave no
// temporary key on any master, and leave the gateway up. FC_RUNS=<n> runs longer (default 60 here).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';
import { ok } from '../assertions.ts';
import { TEST_AUTH, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { arbitraries, body, shortBody } from '../api/input-surface.arbitraries.ts';
import { physicalKeys, useCluster } from './cluster.ts';

const cluster = useCluster(3, 0);
const NOW = Date.parse('2026-11-22T09:05:00Z');
const RUNS = Number(process.env.FC_RUNS ?? 60);
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

interface Reply {
  status: number;
  json: { data?: unknown; errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> } | undefined;
}

async function send(t: TestGateway, text: string): Promise<Reply> {
  const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
    body: text,
  });
  const raw = await res.text();
  try {
    return { status: res.status, json: JSON.parse(raw) as Reply['json'] };
  } catch {
    return { status: res.status, json: undefined };
  }
}

/** Why a reply breaks the property, or undefined. */
function violation(r: Reply): string | undefined {
  if (r.json === undefined) return `not JSON (HTTP ${r.status})`;
  if (r.status >= 500) return `HTTP ${r.status}`;
  for (const e of r.json.errors ?? []) {
    const code = e.extensions?.code;
    if (typeof code !== 'string') return `an error without extensions.code: ${JSON.stringify(e.message)}`;
    if (code === 'INTERNAL_SERVER_ERROR') return 'INTERNAL_SERVER_ERROR';
  }
  return undefined;
}

describe('the GraphQL input surface on a Redis Cluster with the closed-period cache, against a single Redis', () => {
  let c: TestGateway;
  let r: TestGateway;
  const { request } = arbitraries({ hugeIds: false });

  beforeAll(async () => {
    c = await testGateway({ engine: 'cluster', cluster: cluster().seeds, cache: true, now: NOW, config: { idMapping: true, answerCacheMb: 8 } });
    r = await testGateway({ engine: 'redis', now: NOW, config: { idMapping: true } });
    const marks = [];
    for (const name of ['login', 'buy', 'a']) {
      for (let id = 0; id < 40; id += name.length) {
        for (const day of ['2026-11-22', '2026-11-15', '2026-10-31']) marks.push(`{ name: "${name}", userId: ${id}, at: "${day}T08:00:00Z", trackUnique: true }`);
      }
    }
    const seed = `mutation { markEvents(input: [${marks.join(', ')}]) { marked } incrementCounters(input: [{ name: "plays", key: "s1", by: 3 }, { name: "plays", key: "s2" }]) { incremented } }`;
    ok(await c.gql(seed));
    ok(await r.gql(seed));
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await r?.close();
  });

  it(`${RUNS} random requests: data or coded errors, the single Redis's data, no temporary key on any master`, async () => {
    const { tempPrefix } = c.gateway.services.layout;
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const text = body(req);
        const [onCluster, onRedis] = [await send(c, text), await send(r, text)];
        // Each gateway has a key prefix of its own (eventKeys shows it).
        const data = (t: TestGateway, reply: Reply): string => (JSON.stringify(reply.json?.data) ?? '').split(t.prefix).join('<prefix>');
        const both = onCluster.json?.errors === undefined && onRedis.json?.errors === undefined;
        const problems = [
          violation(onCluster),
          both && data(c, onCluster) !== data(r, onRedis) ? `data differs: cluster ${data(c, onCluster).slice(0, 300)}, single Redis ${data(r, onRedis).slice(0, 300)}` : undefined,
        ].filter(Boolean);
        const left = await physicalKeys(c.engine as ClusterEngine, tempPrefix);
        const up = (await c.gateway.yoga.fetch('http://yoga/health')).status === 200;
        if (problems.length || left.length || !up) {
          throw new Error(
            [...problems, left.length ? `temporary keys left: ${left.slice(0, 5).join(', ')}` : '', up ? '' : '/health does not answer 200', `request: ${shortBody(req)}`]
              .filter(Boolean)
              .join('\n'),
          );
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FC_SHRINK === '0' },
    );
    expect((await c.gateway.yoga.fetch('http://yoga/health')).status).toBe(200);
  }, 300_000 + RUNS * 2_000);
});
