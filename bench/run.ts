// `npm run bench`: the gateway against hand-rolled Redis access, on a seeded bitmapist dataset.
//
// Starts its own redis-server (loopback, free port) and three gateways as child processes (two
// over that Redis, in Lua and in pipeline mode, one with the embedded engine in a temporary
// folder), loads the same datasets into both stores, checks that every competitor returns
// identical answers, then times them in interleaved rounds and prints one table per scenario.
// Everything it started is stopped at the end, also on error or Ctrl-C.
//
//   BENCH_ROUNDS          timed rounds per count scenario, A and B (default 200)
//   BENCH_WARMUP          untimed rounds before them (default 20)
//   BENCH_COHORT_ROUNDS   timed rounds of the cohort scenario D (default 20)
//   BENCH_COHORT_WARMUP   untimed rounds before them (default 3)
//   BENCH_SCENARIOS       which scenarios to run, e.g. A,B (default all: A,B,C,D)
//
// Layout: dataset.ts (data + loaders), expr.ts (expressions → BITOPs / GraphQL / reference),
// competitors.ts (naive, pipeline, lua, gateway), harness.ts (verify + timing),
// scenarios.ts (A, B; add new ones there), memory.ts (C), cohort.ts (D), report.ts (tables).

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedis } from '../test/global-setup.ts';
import { COHORT_ROWS, cohortLabel, cohortScenario, referenceCohort } from './cohort.ts';
import type { CohortContext } from './cohort.ts';
import {
  BITMAP_BITS,
  COHORT_DAYS,
  COHORT_EVENTS,
  COHORT_HOLES,
  DAYS,
  DENSITY,
  EVENTS,
  KEY_PREFIX,
  SEED,
  buildCohortDataset,
  buildDataset,
  getBit,
  loadEmbedded,
  loadRedis,
} from './dataset.ts';
import type { Dataset } from './dataset.ts';
import { toGraphQL, day, referenceCount } from './expr.ts';
import { startGateway } from './gateway-process.ts';
import { graphql } from './http-client.ts';
import type { GatewayProcess } from './gateway-process.ts';
import { Cleanups, intEnv, measure, runBenchmark, verify } from './harness.ts';
import { measureMemory, memoryCases, printMemory } from './memory.ts';
import { median, printTiming } from './report.ts';
import { COUNT_SCENARIOS } from './scenarios.ts';
import type { ScenarioContext } from './scenarios.ts';

const ROUNDS = Math.max(1, intEnv('BENCH_ROUNDS', 200, 0));
const WARMUP = intEnv('BENCH_WARMUP', 20, 0);
const D_ROUNDS = Math.max(1, intEnv('BENCH_COHORT_ROUNDS', 20, 0));
const D_WARMUP = intEnv('BENCH_COHORT_WARMUP', 3, 0);
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS || 'A,B,C,D').split(',').map((s) => s.trim().toUpperCase()));
for (const s of SCENARIOS) if (!['A', 'B', 'C', 'D'].includes(s)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${JSON.stringify(s)} (A, B, C or D)`);

const cleanups = new Cleanups();

const elapsed = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const log = (msg: string): void => console.log(`· ${msg}`);

const gql = (g: GatewayProcess, query: string): Promise<Record<string, unknown>> =>
  graphql(`${g.url}/graphql`, JSON.stringify({ query }), g.name);

/** Both gateways see the bits where JS put them (SETBIT order: bit 0 = top bit of byte 0). */
async function checkBitOrder(ds: Dataset, redis: Redis, gateways: readonly GatewayProcess[]): Promise<void> {
  const leaf = day(ds.events[0]!, DAYS - 1);
  const bytes = ds.bytes(ds.keyOf(ds.events[0]!, DAYS - 1));
  const first: number[] = [];
  for (let id = 0; first.length < 5; id++) if (getBit(bytes, id)) first.push(id);
  let absent = 0;
  while (getBit(bytes, absent)) absent++;
  if ((await redis.getbit(ds.keyOf(ds.events[0]!, DAYS - 1), first[0]!)) !== 1) throw new Error('Redis GETBIT disagrees with the dataset bytes');
  const query = `{ m: members(set: ${toGraphQL(ds, leaf)}, first: 5) { ids } yes: contains(set: ${toGraphQL(ds, leaf)}, userId: ${first[4]}) no: contains(set: ${toGraphQL(ds, leaf)}, userId: ${absent}) }`;
  for (const g of gateways) {
    const d = (await gql(g, query)) as { m: { ids: number[] }; yes: boolean; no: boolean };
    if (JSON.stringify(d.m.ids) !== JSON.stringify(first) || d.yes !== true || d.no !== false) {
      throw new Error(`${g.name}: members/contains disagree with the dataset (got ${JSON.stringify(d)}, expected ids ${JSON.stringify(first)})`);
    }
  }
}

/** Median time of a request that touches no storage (what HTTP and GraphQL cost on their own), interleaved. */
async function requestFloors(gateways: readonly GatewayProcess[]): Promise<string> {
  const samples = await measure(
    gateways.map((g) => ({
      name: g.name,
      description: '{ __typename }',
      run: async () => {
        await gql(g, '{ __typename }');
        return [];
      },
    })),
    { warmup: 20, rounds: 100 },
  );
  return samples.map((s) => `${s.name} ${median(s.ms).toFixed(2)} ms`).join(', ');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const redisServer = await startRedis();
  cleanups.push('redis-server', () => redisServer.stop());
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 0 });
  cleanups.push('redis client', async () => void (await redis.quit()));
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';

  console.log('bitmapql benchmark');
  console.log(`  node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), redis-server ${version} on ${redisServer.url}`);
  console.log(
    `  dataset: ${EVENTS.length} events × ${DAYS} days = ${EVENTS.length * DAYS} day bitmaps of ${BITMAP_BITS.toLocaleString('en-US')} bits, ` +
      `${DENSITY * 100}% set, seed ${SEED}, keys ${KEY_PREFIX}<event>_<Y>-<M>-<D>`,
  );
  console.log(
    `  cohort dataset (scenario D): ${COHORT_EVENTS.length} events (${COHORT_EVENTS.join(', ')}) × ${COHORT_DAYS} days, same size and density, ` +
      `holes: ${COHORT_HOLES.map((h) => `${h.event} day ${h.day} ${h.hole}`).join(', ')}`,
  );

  let t = performance.now();
  const ds = buildDataset();
  log(`dataset built in ${elapsed(t)} (days ${ds.days[0]!.iso} … ${ds.days[DAYS - 1]!.iso}, e.g. ${ds.keyOf(EVENTS[0], DAYS - 1)})`);
  t = performance.now();
  const cohortDs = buildCohortDataset();
  const cohortLast = cohortDs.days.length - 1;
  log(
    `cohort dataset built in ${elapsed(t)} (days ${cohortDs.days[0]!.iso} … ${cohortDs.days[cohortLast]!.iso}, ` +
      `${cohortDs.bitmaps.size} keys, e.g. ${cohortDs.keyOf(COHORT_EVENTS[0], 6)})`,
  );

  t = performance.now();
  await loadRedis(redis, ds, cohortDs);
  log(`both datasets loaded into Redis in ${elapsed(t)} (one SET per key)`);

  const dataDir = await mkdtemp(join(tmpdir(), 'bitmapql-bench-'));
  cleanups.push('embedded data folder', () => rm(dataDir, { recursive: true, force: true }));
  t = performance.now();
  await loadEmbedded(dataDir, ds, cohortDs);
  log(`both datasets loaded into an embedded data folder in ${elapsed(t)} (restore() per key)`);

  t = performance.now();
  const started = await Promise.allSettled([
    startGateway('gateway-redis', { REDIS_URL: redisServer.url, REDIS_MODE: 'lua', KEY_PREFIX }),
    startGateway('gateway-redis-nocache', { REDIS_URL: redisServer.url, REDIS_MODE: 'lua', CACHE_MB: '0', KEY_PREFIX }),
    startGateway('gateway-redis-pipeline', { REDIS_URL: redisServer.url, REDIS_MODE: 'pipeline', KEY_PREFIX }),
    startGateway('gateway-embedded', { DATA_DIR: dataDir, FSYNC: 'os', KEY_PREFIX }),
  ]);
  for (const s of started) {
    if (s.status === 'fulfilled') cleanups.push(s.value.name, () => s.value.stop());
  }
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const [gatewayRedis, gatewayRedisNoCache, gatewayRedisPipeline, gatewayEmbedded] = started.map(
    (s) => (s as PromiseFulfilledResult<GatewayProcess>).value,
  ) as [GatewayProcess, GatewayProcess, GatewayProcess, GatewayProcess];
  log(
    `gateways ready in ${elapsed(t)}: redis (lua mode, cache) ${gatewayRedis.url} (pid ${gatewayRedis.pid}), ` +
      `redis (lua mode, no cache) ${gatewayRedisNoCache.url} (pid ${gatewayRedisNoCache.pid}), ` +
      `redis (pipeline mode) ${gatewayRedisPipeline.url} (pid ${gatewayRedisPipeline.pid}), embedded ${gatewayEmbedded.url} (pid ${gatewayEmbedded.pid})`,
  );
  const gateways = [gatewayRedis, gatewayRedisNoCache, gatewayRedisPipeline, gatewayEmbedded];

  await checkBitOrder(ds, redis, gateways);
  log('bit order checked (GETBIT, members, contains agree with the dataset bytes)');

  log(`HTTP + GraphQL floor, median of 100 \`{ __typename }\` requests: ${await requestFloors(gateways)}`);

  const ctx: ScenarioContext = { ds, redis, gatewayRedis, gatewayRedisNoCache, gatewayRedisPipeline, gatewayEmbedded };
  for (const scenario of COUNT_SCENARIOS.filter((c) => SCENARIOS.has(c.id))) {
    t = performance.now();
    const exprs = scenario.exprs(ds);
    const expected = exprs.map((e) => referenceCount(ds, e));
    const competitors = await scenario.competitors(ctx, exprs);
    await verify(scenario.id, competitors, expected);
    log(`scenario ${scenario.id}: ${competitors.length} competitors agree on all ${exprs.length} counts (checked against a JS reference)`);
    const samples = await measure(competitors, { warmup: WARMUP, rounds: ROUNDS });
    printTiming({ title: scenario.title, notes: scenario.notes, samples, baseline: scenario.baseline, speedups: scenario.speedups, rounds: ROUNDS, warmup: WARMUP });
    log(`scenario ${scenario.id} took ${elapsed(t)}`);
    console.log('');
  }

  if (SCENARIOS.has('C')) {
    t = performance.now();
    printMemory(await measureMemory(redis, memoryCases()));
    console.log('');
    log(`scenario C took ${elapsed(t)}`);
    console.log('');
  }
  if (!SCENARIOS.has('D')) {
    log(`total ${elapsed(t0)}`);
    return;
  }

  t = performance.now();
  const cohortCtx: CohortContext = { ds: cohortDs, redis, gatewayRedis, gatewayRedisNoCache, gatewayEmbedded };
  const expectedTable = referenceCohort(cohortDs);
  const competitors = await cohortScenario.competitors(cohortCtx);
  await verify(cohortScenario.id, competitors, expectedTable, cohortLabel(cohortDs));
  const nulls = expectedTable.slice(COHORT_ROWS).filter((c) => c === null).length;
  log(
    `scenario ${cohortScenario.id}: ${competitors.length} competitors agree on the whole table ` +
      `(${COHORT_ROWS} sizes, ${expectedTable.length - COHORT_ROWS} cells of which ${nulls} null, checked against a JS reference)`,
  );
  const samples = await measure(competitors, { warmup: D_WARMUP, rounds: D_ROUNDS });
  printTiming({
    title: cohortScenario.title,
    notes: cohortScenario.notes,
    samples,
    baseline: cohortScenario.baseline,
    speedups: cohortScenario.speedups,
    rounds: D_ROUNDS,
    warmup: D_WARMUP,
  });
  log(`scenario ${cohortScenario.id} took ${elapsed(t)}`);
  log(`total ${elapsed(t0)}`);
}

await runBenchmark(main, () => cleanups.run());
