// `npm run bench:cluster` (also part of `npm run bench`): one Redis against a 3-master Redis Cluster, side by side: the 50-count dashboard and the 30×30 cohort on 10M-id data, each master's share of the work, and the memory of sparse ids.
//
// Starts its own redis-server and its own cluster (3 masters, no replicas: test/cluster/cluster.ts),
// loads the same seeded 10M-bit day bitmaps into the Redis and copies them into the cluster with
// copyKeys (what `bitmapql copy` does), then, for each shard width W, a gateway over each, checked
// against plain JS counts and timed in interleaved rounds. Everything it started is stopped at the
// end, also on an error.
//
//   BENCH_CLUSTER_W        shard widths to run, comma-separated (default 16,18,20): the cluster's data
//                          is copied again for each
//   BENCH_CLUSTER_ROUNDS   timed rounds of the dashboard (default 30, after 5 untimed)
//   BENCH_CLUSTER_COHORT_ROUNDS  timed rounds of the cohort (default 8, after 2 untimed)

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedis } from '../test/global-setup.ts';
import { startCluster } from '../test/cluster/cluster.ts';
import { copyKeys } from '../src/bitmap/copy.ts';
import { ClusterEngine } from '../src/bitmap/engines/cluster/engine.ts';
import { shardSetKey } from '../src/bitmap/engines/cluster/key-shards.ts';
import { RedisEngine } from '../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../src/bitmap/keys.ts';
import { cohortLabel, gatewayCohort, referenceCohort } from './cohort.ts';
import { gateway } from './competitors.ts';
import { COHORT_EVENTS, EVENTS, KEY_PREFIX, SEED, dayList, loadRedis, rng, subSeed } from './dataset.ts';
import type { Dataset, Day } from './dataset.ts';
import { referenceCount } from './expr.ts';
import { startGateway } from './gateway-process.ts';
import { intEnv, measure, verify } from './harness.ts';
import { formatBytes, median, quantile, table } from './report.ts';
import { dashboard } from './scenarios.ts';

const BITS = 10 * 2 ** 20;
const SPARSE = 1000;

function listEnv(name: string, fallback: string): number[] {
  return (process.env[name] || fallback).split(',').map((p) => {
    const v = Number(p.trim());
    if (!Number.isInteger(v) || v < 3 || v > 32) throw new Error(`${name}: ${JSON.stringify(p)} is not a shard width (3 to 32)`);
    return v;
  });
}
const log = (msg: string): void => console.log(`· ${msg}`);
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Day bitmaps of BITS bits, each bit set with probability 1/8 (the AND of three random words, as bench/sizes.ts). */
function sizedDataset(events: readonly string[], days: readonly Day[], seed: number): Dataset {
  const bitmaps = new Map<string, Buffer>();
  const keyOf = (event: string, d: number): string => `${KEY_PREFIX}${event}_${days[d]!.suffix}`;
  events.forEach((event, e) => {
    for (let d = 0; d < days.length; d++) {
      const next = rng(subSeed(seed, e * days.length + d));
      const bytes = Buffer.alloc(BITS / 8);
      const word = (): number => (next() * 2 ** 32) >>> 0;
      for (let w = 0; w < bytes.length / 4; w++) bytes.writeUInt32LE((word() & word() & word()) >>> 0, w * 4);
      bitmaps.set(keyOf(event, d), bytes);
    }
  });
  return { events, days, keyOf, bitmaps, bytes: (key) => bitmaps.get(key)! };
}

interface Work {
  /** Wall-clock microseconds in commands (INFO commandstats): on a loaded machine this includes time the process waited for a core. */
  usec: number;
  calls: number;
  /** CPU milliseconds the process used (INFO cpu, user + system): the work itself. */
  cpu: number;
}

/** Per master: microseconds Redis spent in commands, script calls and CPU used, so far (INFO commandstats, INFO cpu). */
async function work(masters: readonly Redis[]): Promise<Work[]> {
  return Promise.all(
    masters.map(async (m) => {
      const [info, cpuInfo] = await Promise.all([m.info('commandstats'), m.info('cpu')]);
      let usec = 0;
      let calls = 0;
      for (const x of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)) {
        usec += Number(x[3]);
        if (x[1] === 'evalsha' || x[1] === 'eval') calls += Number(x[2]);
      }
      const seconds = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpuInfo)?.[1] ?? 0);
      return { usec, calls, cpu: 1000 * (seconds('used_cpu_user') + seconds('used_cpu_sys')) };
    }),
  );
}

/** CPU milliseconds a process has used so far (user + system, Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100 a second)
}

/** Each master's share of the masters' CPU between two readings, as "34% / 33% / 33%", the largest distance from an even split, and the totals. */
function shares(before: readonly Work[], after: readonly Work[]): { text: string; worst: number; calls: number; usec: number; cpu: number } {
  // Shares of CPU: command time (usec) also counts the time a master waited for a core.
  const d = after.map((a, i) => a.cpu - before[i]!.cpu);
  const total = after.reduce((s, a, i) => s + a.usec - before[i]!.usec, 0);
  const cpu = d.reduce((s, x) => s + x, 0);
  const even = 1 / d.length;
  const parts = d.map((x) => x / cpu);
  const calls = after.reduce((s, a, i) => s + a.calls - before[i]!.calls, 0);
  return { text: parts.map((p) => `${(100 * p).toFixed(0)}%`).join(' / '), worst: Math.max(...parts.map((p) => Math.abs(p - even) / even)), calls, usec: total, cpu };
}

const stops: Array<() => Promise<void>> = [];
const stopAll = async (): Promise<void> => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  for (const k of ['REDIS_URL', 'REDIS_CLUSTER', 'SHARD_BITS']) delete process.env[k];
  const widths = listEnv('BENCH_CLUSTER_W', '16,18,20');
  const rounds = intEnv('BENCH_CLUSTER_ROUNDS', 30);
  const cohortRounds = intEnv('BENCH_CLUSTER_COHORT_ROUNDS', 8);
  let t = performance.now();
  const server = await startRedis();
  stops.push(() => server.stop());
  const cluster = await startCluster(3, 0);
  stops.push(() => cluster.stop());
  log(`redis-server on ${server.port}; a cluster of 3 masters (no replicas) on ${cluster.ports.join(', ')}, in ${seconds(t)}`);

  t = performance.now();
  const ds = sizedDataset(EVENTS, dayList(), subSeed(SEED, 7007));
  const cohortDays = dayList('2025-02-23', 60);
  const cds = sizedDataset(COHORT_EVENTS, cohortDays, subSeed(SEED, 8008));
  const redis = new Redis(server.url);
  stops.push(async () => redis.disconnect());
  await loadRedis(redis, ds, cds);
  log(`${ds.bitmaps.size + cds.bitmaps.size} bitmaps of 10M ids (${formatBytes(BITS / 8)} each, 1/8 of bits set) built and loaded into Redis in ${seconds(t)}`);
  const exprs = dashboard.exprs(ds);
  const expectedCounts = exprs.map((e) => referenceCount(ds, e));
  const expectedCohort = referenceCohort(cds);
  const layout = bitmapistLayout(KEY_PREFIX);
  const seeds = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');

  const redisGateway = await startGateway('redis', { REDIS_URL: server.url, CACHE_MB: '0', ANSWER_CACHE_MB: '0', REDIS_TIMEOUT_MS: '60000' });
  stops.push(() => redisGateway.stop());

  const rows: string[][] = [];
  const targets: string[] = [];
  for (const w of widths) {
    // A fresh cluster dataset for this width: every master emptied, then copied from the Redis.
    await Promise.all(cluster.ports.map((p) => cluster.cli(p, 'flushall')));
    const target = await new ClusterEngine({ seeds: cluster.seeds, layout, shardBits: w }).connect();
    const source = await new RedisEngine({ url: server.url, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect();
    t = performance.now();
    const copied = await copyKeys(source, target, layout);
    log(`W=${w}: copied ${copied.keys} keys (${formatBytes(copied.bytes)}) from the Redis into the cluster's sharded layout in ${seconds(t)}`);
    await source.close();
    const shardCount = (await target.liveShards()).length;

    // Sparse ids: 1,000 over [0, 2^32) in one key, as one Redis and as the cluster store them.
    const next = rng(subSeed(SEED, 9009));
    const ids = [...new Set(Array.from({ length: SPARSE }, () => Math.floor(next() * 2 ** 32)))];
    const sparseKey = `${KEY_PREFIX}sparse_2025-1-1`;
    const tx = redis.multi();
    for (const id of ids) tx.setbit(sparseKey, id, 1);
    await tx.exec();
    const whole = Number(await redis.memory('USAGE', sparseKey));
    await redis.del(sparseKey); // not copied into the cluster with the next W
    await target.write(ids.map((offset) => ({ key: sparseKey, offset, bit: 1 as const })));
    let sharded = 0;
    for (const k of new Set(ids.map((id) => target.layout.shardOf(id)))) sharded += Number(await target.cluster.memory('USAGE', target.layout.key(sparseKey, k)));
    const shardMap = Number(await target.cluster.memory('USAGE', target.layout.shardsKey));
    const shardSet = Number(await target.cluster.memory('USAGE', shardSetKey(target.layout, sparseKey)));
    targets.push(
      `W=${w} sparse: ${ids.length} ids over [0, 2^32) take ${formatBytes(whole)} in one Redis key, ${formatBytes(sharded)} in the cluster's shards ` +
        `(${Math.round(whole / sharded)}× smaller; target ≥ 100×: ${whole / sharded >= 100 ? 'met' : 'missed'}), plus its shard set ${formatBytes(shardSet)} and the cluster-wide shard bitmap ${formatBytes(shardMap)}; ` +
        'it stays in the cluster while the dashboard and cohort are timed (they read only their own keys\' shards)',
    );

    const clusterGateway = await startGateway(`cluster-w${w}`, { REDIS_CLUSTER: seeds, SHARD_BITS: String(w), REDIS_TIMEOUT_MS: '60000', CACHE_MB: '0', ANSWER_CACHE_MB: '0' });
    stops.push(() => clusterGateway.stop()); // also on Ctrl-C (a second stop does nothing)
    const client = target.cluster;
    const nodes = client.nodes('master');
    try {
      const counts = [gateway('one Redis', redisGateway.url, ds, exprs), gateway(`cluster W=${w}`, clusterGateway.url, ds, exprs)];
      await verify('dashboard', counts, expectedCounts);
      const before = await work([...nodes, redis]);
      const cpu0 = cpuMs(clusterGateway.pid);
      const dashSamples = await measure(counts, { warmup: 5, rounds });
      const dashCpu = cpuMs(clusterGateway.pid) - cpu0;
      const after = await work([...nodes, redis]);
      const dashShare = shares(before.slice(0, -1), after.slice(0, -1));
      const dashOne = { usec: after.at(-1)!.usec - before.at(-1)!.usec, cpu: after.at(-1)!.cpu - before.at(-1)!.cpu };

      const cohorts = [gatewayCohort('one Redis', redisGateway.url, cds), gatewayCohort(`cluster W=${w}`, clusterGateway.url, cds)];
      await verify('cohort', cohorts, expectedCohort, cohortLabel(cds));
      const before2 = await work([...nodes, redis]);
      const cpu1 = cpuMs(clusterGateway.pid);
      const cohortSamples = await measure(cohorts, { warmup: 2, rounds: cohortRounds });
      const cohortCpu = cpuMs(clusterGateway.pid) - cpu1;
      const after2 = await work([...nodes, redis]);
      const cohortShare = shares(before2.slice(0, -1), after2.slice(0, -1));
      const cohortOne = { usec: after2.at(-1)!.usec - before2.at(-1)!.usec, cpu: after2.at(-1)!.cpu - before2.at(-1)!.cpu };

      for (const [what, samples, share, n, cpu, oneRedis] of [
        ['dashboard, 50 counts', dashSamples, dashShare, rounds + 5, dashCpu, dashOne],
        ['cohort 30×30', cohortSamples, cohortShare, cohortRounds + 2, cohortCpu, cohortOne],
      ] as const) {
        const one = median(samples[0]!.ms);
        const many = median(samples[1]!.ms);
        rows.push([
          what,
          String(w),
          String(shardCount),
          `${ms(one)} ms`,
          `${ms(many)} ms (p25–p75 ${ms(quantile(samples[1]!.ms, 0.25))}–${ms(quantile(samples[1]!.ms, 0.75))})`,
          `${(many / one).toFixed(2)}×`,
          `${Math.round(share.calls / n)}`,
          // Where a request's time goes: the gateway's CPU, and Redis's time summed over the masters.
          `${ms(cpu / n)} ms`,
          `${ms(oneRedis.usec / 1000 / n)} / ${ms(share.usec / 1000 / n)} ms`,
          `${ms(oneRedis.cpu / n)} / ${ms(share.cpu / n)} ms`,
          share.text,
          `${(100 * share.worst).toFixed(0)}%`,
        ]);
        targets.push(
          `W=${w} ${what}: latency ${(many / one).toFixed(2)}× one Redis (target ≤ 1.5×: ${many / one <= 1.5 ? 'met' : 'missed'}); ` +
            `largest distance of a master's share from an even split ${(100 * share.worst).toFixed(0)}% (target ≤ 15%: ${share.worst <= 0.15 ? 'met' : 'missed'})`,
        );
      }

    } finally {
      await clusterGateway.stop();
      await target.delete([sparseKey]);
      await target.close();
    }
  }

  console.log('\n## One Redis against a Redis Cluster of 3 masters (10M-id day bitmaps, gateways with CACHE_MB=0)\n');
  console.log(
    table(
      [
        'request',
        'W',
        'live shards',
        'one Redis',
        'cluster',
        'cluster / one Redis',
        'script calls a request',
        'cluster gateway CPU a request',
        'Redis time in commands a request, one Redis / all masters',
        'Redis CPU a request, one Redis / all masters',
        "masters' shares of Redis CPU",
        'worst vs even',
      ],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
    ),
  );
  console.log('');
  for (const line of targets) console.log(`- ${line}`);
  console.log(`\n${rounds} timed dashboard rounds and ${cohortRounds} cohort rounds, interleaved; this machine has ${(await import('node:os')).cpus().length} cores for the cluster, the Redis, both gateways and this client.`);
} finally {
  await stopAll();
}
