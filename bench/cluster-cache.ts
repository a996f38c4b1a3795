// `npm run bench:cluster-cache`: the closed-period cache on a Redis Cluster (3 masters), side by side in one run: a gateway with CACHE_MB=0, one with copies only (ANSWER_CACHE_MB=0) and one with the defaults (copies and reused answers), on one 21-count request over closed days; medians, ratios, and the copies' hit rate.
//
// Starts its own cluster (3 masters, no replicas: test/cluster/cluster.ts), writes seeded day
// bitmaps through the cluster engine (sharded, W=16), checks every gateway against plain JS
// counts, then times them in interleaved rounds. Everything it started is stopped at the end.
//
//   BENCH_CLUSTER_CACHE_BITS    ids a day bitmap spans (default 4194304, 1/8 of them set)
//   BENCH_CLUSTER_CACHE_ROUNDS  timed rounds (default 40, after the copies are fetched)

import { performance } from 'node:perf_hooks';
import { startCluster } from '../test/cluster/cluster.ts';
import type { TestCluster } from '../test/cluster/cluster.ts';
import { ClusterEngine } from '../src/bitmap/engines/cluster/engine.ts';
import { bitmapistLayout } from '../src/bitmap/keys.ts';
import type { Competitor } from './competitors.ts';
import { startGateway } from './gateway-process.ts';
import type { GatewayProcess } from './gateway-process.ts';
import { intEnv, measure, runBenchmark, verify } from './harness.ts';
import { graphql } from './http-client.ts';
import { median, quantile, table } from './report.ts';
import { rng } from './dataset.ts';

const BITS = intEnv('BENCH_CLUSTER_CACHE_BITS', 4 * 2 ** 20);
const ROUNDS = intEnv('BENCH_CLUSTER_CACHE_ROUNDS', 40);
const W = 16;
const PREFIX = 'ccbench_';
const DAYS = 8;
const log = (msg: string): void => console.log(`· ${msg}`);
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const date = (d: number): string => `2025-01-0${d}`;
/** bitmapist's day key part: month and day not zero-padded. */
const keyDate = (d: number): string => `2025-1-${d}`;
const leaf = (event: string, d: number): string => `{ event: { name: "${event}", period: { at: { granularity: DAY, date: "${date(d)}" } } } }`;

/** Day bitmaps in Redis layout, each bit set with probability 1/8. */
function bitmaps(): Map<string, Buffer> {
  const next = rng(1517);
  const out = new Map<string, Buffer>();
  for (const event of ['a', 'b']) {
    for (let d = 1; d <= DAYS; d++) {
      const bytes = Buffer.alloc(BITS / 8);
      for (let i = 0; i < bytes.length; i++) {
        let b = 0;
        for (let j = 0; j < 8; j++) if (next() < 1 / 8) b |= 0x80 >> j;
        bytes[i] = b;
      }
      out.set(`${PREFIX}${event}_${keyDate(d)}`, bytes);
    }
  }
  return out;
}

function popcount(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) {
    let x = b;
    while (x) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

/** The request (21 aliased counts) and its answers by plain byte arithmetic. */
function request(data: Map<string, Buffer>): { body: string; expected: number[] } {
  const fields: string[] = [];
  const expected: number[] = [];
  const day = (event: string, d: number): Buffer => data.get(`${PREFIX}${event}_${keyDate(d)}`)!;
  const combine = (x: Buffer, y: Buffer, f: (p: number, q: number) => number): number => popcount(Uint8Array.from(x, (p, i) => f(p, y[i]!)));
  for (let d = 1; d < DAYS; d++) {
    fields.push(`c${fields.length}: count(set: { and: [${leaf('a', d)}, ${leaf('b', d)}] })`);
    expected.push(combine(day('a', d), day('b', d), (p, q) => p & q));
    fields.push(`c${fields.length}: count(set: { or: [${leaf('a', d)}, ${leaf('a', d + 1)}] })`);
    expected.push(combine(day('a', d), day('a', d + 1), (p, q) => p | q));
    fields.push(`c${fields.length}: count(set: { minus: { from: ${leaf('a', d)}, subtract: [${leaf('b', d)}] } })`);
    expected.push(combine(day('a', d), day('b', d), (p, q) => p & ~q & 0xff));
  }
  return { body: JSON.stringify({ query: `{ ${fields.join('\n')} }` }), expected };
}

function competitor(name: string, g: GatewayProcess, body: string, n: number): Competitor {
  return {
    name,
    description: `one POST /graphql with ${n} aliased count fields`,
    async run() {
      const data = await graphql(`${g.url}/graphql`, body, name);
      return Array.from({ length: n }, (_, i) => Number(data[`c${i}`]));
    },
  };
}

/** The closed-period cache's running totals, from the gateway's /metrics. */
async function cacheTotals(g: GatewayProcess): Promise<{ hits: number; misses: number }> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  const total = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return { hits: total('bitmapql_closed_cache_hits_total'), misses: total('bitmapql_closed_cache_misses_total') };
}

const stops: Array<() => Promise<void>> = [];
let cluster: TestCluster | undefined;

async function main(): Promise<void> {
  let t = performance.now();
  cluster = await startCluster(3, 0);
  log(`cluster of 3 masters up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const data = bitmaps();
  const engine = await new ClusterEngine({ seeds: cluster.seeds, layout: bitmapistLayout(PREFIX), shardBits: W }).connect();
  t = performance.now();
  for (const [key, bytes] of data) await engine.restore(key, bytes);
  await engine.close();
  log(`${data.size} day bitmaps of ${BITS} ids written into the cluster (W=${W}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const { body, expected } = request(data);

  const seeds = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');
  const base = { REDIS_CLUSTER: seeds, SHARD_BITS: String(W), KEY_PREFIX: PREFIX, REDIS_TIMEOUT_MS: '60000' };
  const gateways: Array<[string, GatewayProcess]> = [];
  for (const [name, env] of [
    ['CACHE_MB=0', { CACHE_MB: '0', ANSWER_CACHE_MB: '0' }],
    ['copies (ANSWER_CACHE_MB=0)', { CACHE_MB: '256', ANSWER_CACHE_MB: '0' }],
    ['defaults (copies, reused answers)', { CACHE_MB: '256', ANSWER_CACHE_MB: '16' }],
  ] as const) {
    const g = await startGateway(name, { ...base, ...env });
    stops.push(() => g.stop());
    gateways.push([name, g]);
  }
  const competitors = gateways.map(([name, g]) => competitor(name, g, body, expected.length));
  await verify('cluster dashboard', competitors, expected);
  // Copies are fetched in the background once a key has been read twice: a few untimed rounds, then a pause for the fetches.
  for (let i = 0; i < 3; i++) for (const c of competitors) await c.run();
  await new Promise((r) => setTimeout(r, 2000));
  await verify('cluster dashboard (warm)', competitors, expected);
  const copies = gateways[1]![1];
  const before = await cacheTotals(copies);
  const samples = await measure(competitors, { warmup: 3, rounds: ROUNDS });
  const after = await cacheTotals(copies);
  await verify('cluster dashboard (after)', competitors, expected);
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;

  const uncached = median(samples[0]!.ms);
  console.log(`\n## Closed-period cache on a Redis Cluster of 3 masters (${data.size} day bitmaps of ${BITS} ids, W=${W}, one request of ${expected.length} counts)\n`);
  console.log(
    table(
      ['gateway', 'median', 'p25–p75', 'vs CACHE_MB=0'],
      samples.map((s) => [s.name, `${ms(median(s.ms))} ms`, `${ms(quantile(s.ms, 0.25))}–${ms(quantile(s.ms, 0.75))} ms`, `${(median(s.ms) / uncached).toFixed(2)}×`]),
      ['l', 'r', 'r', 'r'],
    ),
  );
  console.log(`\n- copies' hit rate over the timed rounds: ${hits} keys answered from copies, ${misses} read in Redis (${((100 * hits) / Math.max(1, hits + misses)).toFixed(1)}%)`);
  console.log(`- ${ROUNDS} timed rounds, interleaved; this machine has ${(await import('node:os')).cpus().length} cores for the cluster, the gateways and this client.`);
}

async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0)) await stop().catch(() => {});
  await cluster?.stop();
  cluster = undefined;
}

await runBenchmark(main, cleanup);
