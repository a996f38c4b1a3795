// `npm run bench:sizes` (also part of `npm run bench`): scenario A's 50 counts at several bitmap
// sizes, the gateway's closed-period cache settings side by side with the hand-written Lua
// script, and each gateway's resident memory.
//
// Why: a cache that wins while its working set fits can lose badly once it does not (copies
// fetched, evicted and fetched again); only bigger bitmaps show it. Each size starts its own
// gateways, so what each holds, and its RSS, belongs to that size alone.
//
//   BENCH_SIZES          bits per bitmap, comma-separated, M = 2^20 (default 1M,10M). 100M is
//                        opt-in: BENCH_SIZES=1M,10M,100M needs about 4 GB of memory in all (Redis
//                        ~0.9 GB, this process ~0.9 GB, a gateway holding every copy ~0.9 GB)
//   BENCH_SIZE_ROUNDS    timed rounds per size (default 100 at 1M, 60 up to 16M, 20 above)
//   BENCH_SIZE_WARMUP    untimed rounds before them (default 10), then more until the caches
//                        have stopped fetching (copies arrive in the background)

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedis } from '../test/global-setup.ts';
import { lua } from './competitors.ts';
import type { Competitor } from './competitors.ts';
import { gateway } from './competitors.ts';
import { DAYS, EVENTS, KEY_PREFIX, SEED, dayList, loadRedis, popcount, subSeed } from './dataset.ts';
import type { Dataset } from './dataset.ts';
import { referenceCount } from './expr.ts';
import { startGateway } from './gateway-process.ts';
import type { GatewayProcess } from './gateway-process.ts';
import { Cleanups, intEnv, measure, runBenchmark, verify } from './harness.ts';
import { formatBytes, median, quantile, table } from './report.ts';
import { dashboard } from './scenarios.ts';

const M = 2 ** 20;

function sizes(): number[] {
  const raw = process.env.BENCH_SIZES || '1M,10M';
  return raw.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(M?)\s*$/i.exec(part);
    const bits = m ? Number(m[1]) * (m[2] ? M : 1) : NaN;
    if (!Number.isSafeInteger(bits) || bits < 8 || bits % 8 !== 0 || bits > 2 ** 32) {
      throw new Error(`BENCH_SIZES: ${JSON.stringify(part)} is not a size: expected bits per bitmap, a multiple of 8, e.g. 1M, 10M, 100M (M = 2^20) or 8000000`);
    }
    return bits;
  });
}

const label = (bits: number): string => (bits % M === 0 ? `${bits / M}M` : bits.toLocaleString('en-US'));

/**
 * EVENTS × DAYS day bitmaps of `bits` bits, each bit set with probability 1/8: the AND of three
 * random words from a seeded xorshift generator (a draw per bit would take minutes at 100M).
 */
function buildSizedDataset(bits: number): Dataset {
  const days = dayList();
  const bitmaps = new Map<string, Buffer>();
  const keyOf = (event: string, day: number): string => `${KEY_PREFIX}${event}_${days[day]!.suffix}`;
  EVENTS.forEach((event, e) => {
    for (let day = 0; day < DAYS; day++) {
      let x = subSeed(subSeed(SEED, 5005 + bits), e * DAYS + day) | 1;
      const words = new Uint32Array(Math.ceil(bits / 32));
      for (let w = 0; w < words.length; w++) {
        let v = 0xffffffff;
        for (let k = 0; k < 3; k++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          v &= x;
        }
        words[w] = v;
      }
      bitmaps.set(keyOf(event, day), Buffer.from(words.buffer, 0, bits / 8));
    }
  });
  return {
    events: EVENTS,
    days,
    keyOf,
    bitmaps,
    bytes(key) {
      const b = bitmaps.get(key);
      if (!b) throw new Error(`not in the dataset: ${key}`);
      return b;
    },
  };
}

/** The gateways of one size: the settings the issue's table compares. */
const GATEWAYS: ReadonlyArray<{ readonly name: string; readonly column: string; readonly env: Record<string, string>; readonly cacheMb: number }> = [
  { name: 'default', column: 'gateway, default settings', env: {}, cacheMb: 256 },
  { name: 'default-copies', column: 'default, ANSWER_CACHE_MB=0', env: { ANSWER_CACHE_MB: '0' }, cacheMb: 256 },
  { name: 'nocache', column: 'CACHE_MB=0', env: { CACHE_MB: '0' }, cacheMb: 0 },
  { name: 'cache2048', column: 'CACHE_MB=2048, ANSWER_CACHE_MB=0', env: { CACHE_MB: '2048', ANSWER_CACHE_MB: '0' }, cacheMb: 2048 },
];

/** Resident and peak resident memory of a process (Linux /proc), in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Copies a gateway holds (its /metrics), or null without a cache. */
async function copiesHeld(g: GatewayProcess): Promise<number | null> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  const m = /^bitmapql_closed_cache_entries (\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

interface SizeRow {
  readonly bits: number;
  readonly medians: ReadonlyMap<string, number>;
  readonly memory: ReadonlyMap<string, { rss: number; peak: number } | null>;
  readonly copies: ReadonlyMap<string, number | null>;
}

const log = (msg: string): void => console.log(`· ${msg}`);
const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (v: number): string => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;

async function runSize(bits: number, redis: Redis, redisUrl: string, track: (stop: () => Promise<void>) => void): Promise<SizeRow> {
  let t = performance.now();
  const ds = buildSizedDataset(bits);
  const setBits = [...ds.bitmaps.values()].reduce((n, b) => n + popcount(b), 0);
  log(`${label(bits)}: dataset built in ${seconds(t)} (${ds.bitmaps.size} keys of ${formatBytes(bits / 8)}, ${((100 * setBits) / (bits * ds.bitmaps.size)).toFixed(1)}% of bits set)`);
  t = performance.now();
  await loadRedis(redis, ds);
  log(`${label(bits)}: loaded into Redis in ${seconds(t)}`);

  const exprs = dashboard.exprs(ds);
  t = performance.now();
  const expected = exprs.map((e) => referenceCount(ds, e));
  log(`${label(bits)}: JS reference counts in ${seconds(t)}`);

  const gateways: GatewayProcess[] = [];
  try {
    for (const spec of GATEWAYS) {
      const g = await startGateway(spec.name, { REDIS_URL: redisUrl, REDIS_MODE: 'lua', KEY_PREFIX, ...spec.env });
      gateways.push(g);
      track(() => g.stop());
    }
    const competitors: Competitor[] = [
      await lua(redis, ds, exprs, { share: false }),
      ...gateways.map((g) => gateway(g.name, g.url, ds, exprs)),
    ];
    await verify(`A at ${label(bits)}`, competitors, expected);
    log(`${label(bits)}: ${competitors.length} competitors agree on all ${exprs.length} counts`);

    const rounds = Math.max(1, intEnv('BENCH_SIZE_ROUNDS', bits <= M ? 100 : bits <= 16 * M ? 60 : 20, 0));
    const warmup = intEnv('BENCH_SIZE_WARMUP', 10, 0);
    t = performance.now();
    await measure(competitors, { warmup: 0, rounds: warmup });
    // Copies arrive in the background: warm up until no gateway's count of copies moves.
    let last = '';
    for (let i = 0; i < 200; i++) {
      const now = JSON.stringify(await Promise.all(gateways.map(copiesHeld)));
      if (now === last) break;
      last = now;
      await measure(competitors, { warmup: 0, rounds: 1 });
      await new Promise((r) => setTimeout(r, bits > 16 * M ? 2000 : 200));
    }
    log(`${label(bits)}: warmed up in ${seconds(t)} (copies held: ${gateways.map((g, i) => `${g.name} ${JSON.parse(last)[i] ?? '–'}`).join(', ')})`);
    t = performance.now();
    const samples = await measure(competitors, { warmup: 0, rounds });
    log(`${label(bits)}: ${rounds} timed rounds in ${seconds(t)}`);

    const medians = new Map(samples.map((s) => [s.name, median(s.ms)]));
    const memory = new Map(gateways.map((g) => [g.name, memoryOf(g.pid)]));
    const copies = new Map(await Promise.all(gateways.map(async (g) => [g.name, await copiesHeld(g)] as const)));
    const base = medians.get('lua')!;
    console.log(
      [
        '',
        `Scenario A at ${label(bits)} bits a bitmap (${ds.bitmaps.size} keys of ${formatBytes(bits / 8)}, 1/8 of bits set)`,
        `  median of ${rounds} interleaved rounds after warm-up; ratio = median / median of lua; RSS after the rounds (peak in brackets)`,
        '',
        table(
          ['method', 'median ms', 'p25 – p75 ms', 'vs lua', 'copies', 'RSS (peak)'],
          samples.map((s) => {
            const mem = memory.get(s.name);
            return [
              s.name,
              ms(medians.get(s.name)!),
              `${ms(quantile(s.ms, 0.25))} – ${ms(quantile(s.ms, 0.75))}`,
              ratio(medians.get(s.name)! / base),
              String(copies.get(s.name) ?? '–'),
              mem ? `${formatBytes(mem.rss)} (${formatBytes(mem.peak)})` : '–',
            ];
          }),
        ),
        '',
      ].join('\n'),
    );
    return { bits, medians, memory, copies };
  } finally {
    for (const g of gateways) await g.stop();
    await redis.flushdb();
  }
}

function printSummary(rows: readonly SizeRow[]): void {
  const header = ['bits per bitmap', 'Lua script', ...GATEWAYS.map((g) => g.column)];
  const body = rows.map((r) => {
    const base = r.medians.get('lua')!;
    return [label(r.bits), `${ms(base)} ms`, ...GATEWAYS.map((g) => ratio(r.medians.get(g.name)! / base))];
  });
  const rss = rows.map((r) => [
    label(r.bits),
    ...GATEWAYS.map((g) => {
      const mem = r.memory.get(g.name);
      return mem ? `${formatBytes(mem.rss)} (${formatBytes(mem.peak)})` : '–';
    }),
  ]);
  console.log(
    [
      'Scenario A by size — ratio = median / median of the Lua script (lower is faster)',
      '',
      table(header, body),
      '',
      'Gateway RSS after the timed rounds (peak in brackets)',
      '',
      table(['bits per bitmap', ...GATEWAYS.map((g) => `${g.name} (CACHE_MB=${g.cacheMb})`)], rss),
    ].join('\n'),
  );
}

const cleanups = new Cleanups();

async function main(): Promise<void> {
  const t0 = performance.now();
  const list = sizes();
  const server = await startRedis();
  cleanups.push('redis-server', () => server.stop());
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
  cleanups.push('redis client', async () => void (await redis.quit()));
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  console.log('bitmapql benchmark: scenario A by bitmap size');
  console.log(`  node ${process.version}, ${cpus().length} CPUs, redis-server ${version} on ${server.url}; sizes ${list.map(label).join(', ')}`);
  const rows: SizeRow[] = [];
  for (const bits of list) {
    const stops: Array<() => Promise<void>> = [];
    cleanups.push('gateways of this size', async () => {
      for (const s of stops) await s();
    });
    rows.push(await runSize(bits, redis, server.url, (s) => stops.push(s)));
    cleanups.pop();
  }
  console.log('');
  printSummary(rows);
  log(`total ${seconds(t0)}`);
}

await runBenchmark(main, () => cleanups.run());
