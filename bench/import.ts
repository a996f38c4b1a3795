// `npm run bench:import`: importing the demo launch archive (≥ 1,000,000 lines), four ways.
//
//   (a) importFiles into Redis       the import command's library (median of BENCH_IMPORT_RUNS runs)
//   (b) importFiles into embedded    the same into an embedded data folder (FSYNC=os)
//   (c) GraphQL, one line a request  markEvent × 2 + incrementCounter per line over HTTP to a
//                                    gateway process, on a sample; extrapolated to the archive
//   (d) hand-written pipeline        gunzip + JSON.parse, then one ioredis pipeline per batch
//                                    (one in flight while the next is parsed): SETBIT per
//                                    (key, id) of the batch and HINCRBY per (key, field)
//
// All write what `bitmapql import --id spec --mark launch --mark 'launch:provider:{provider}'
// --count 'launches={provider}'` writes. (a) and (b) map string ids through the store's id
// mapping; (c) and (d) use dense ids from a Map in this process. The archive is generated once
// and kept in the OS temp folder; a redis-server and a gateway are started on free loopback
// ports and stopped at the end (also on error or Ctrl-C).
//
//   BENCH_IMPORT_DAYS        days (files) in the archive (default 30)
//   BENCH_IMPORT_LINES       average lines a day (default 35,000)
//   BENCH_IMPORT_RUNS        runs of (a) and (b) (default 3; (b) runs once if a run takes > 60 s)
//   BENCH_IMPORT_SAMPLE      lines sent in (c) (default 3,000)

import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { hashKey, newKey } from '../src/auth.ts';
import { openEmbeddedEngine } from '../src/bitmap/engines/embedded/index.ts';
import type { Engine } from '../src/bitmap/engines/engine.ts';
import { RedisEngine } from '../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../src/bitmap/keys.ts';
import { TimeZone } from '../src/bitmap/period.ts';
import { writeDemoArchive } from '../src/demo/write.ts';
import { DEMO_IMPORT_SPEC } from '../src/demo/generate.ts';
import { importFiles } from '../src/import/importer.ts';
import type { ImportSummary } from '../src/import/importer.ts';
import type { ImportSpec } from '../src/import/spec.ts';
import { startRedis } from '../test/global-setup.ts';
import { startGateway } from './gateway-process.ts';
import type { GatewayProcess } from './gateway-process.ts';
import { KeepAliveClient } from './http-client.ts';
import { Cleanups, intEnv, runBenchmark } from './harness.ts';

const DAYS = intEnv('BENCH_IMPORT_DAYS', 30);
const LINES_PER_DAY = intEnv('BENCH_IMPORT_LINES', 35_000);
const RUNS = intEnv('BENCH_IMPORT_RUNS', 3);
const SAMPLE = intEnv('BENCH_IMPORT_SAMPLE', 3_000);
const DEMO = { days: DAYS, end: '2026-10-31', linesPerDay: LINES_PER_DAY, seed: 1, badLines: 0.001 };
const SPEC: ImportSpec = DEMO_IMPORT_SPEC;
const BATCH = 10_000;
const UTC = new TimeZone('UTC');

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const cleanups = new Cleanups(log);

/** The archive, generated on the first run and kept (a marker file says it is complete). */
async function archive(): Promise<{ files: string[]; lines: number; bytes: number }> {
  const dir = join(tmpdir(), `bitmapql-bench-import-${DEMO.days}x${DEMO.linesPerDay}-seed${DEMO.seed}`);
  const marker = join(dir, 'complete.json');
  if (!existsSync(marker)) {
    const t = performance.now();
    const r = await writeDemoArchive({ ...DEMO, out: dir });
    writeFileSync(marker, JSON.stringify({ lines: r.lines, bytes: r.bytes }));
    log(`archive: generated ${n(r.lines)} lines in ${r.files.length} files (${(r.bytes / 1048576).toFixed(1)} MiB) in ${secs(performance.now() - t)}: ${dir}`);
  } else log(`archive: ${dir} (cached)`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl.gz'))
    .sort()
    .map((f) => join(dir, f));
  const { lines } = JSON.parse(readFileSync(marker, 'utf8')) as { lines: number };
  const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
  return { files, lines, bytes };
}

interface Row {
  name: string;
  linesPerSec: number;
  fullMs: number;
  note: string;
}

/** (a), (b): importFiles into a fresh store per run. */
async function timeImport(
  files: readonly string[],
  open: (run: number) => Promise<{ engine: Engine; prefix: string; done(): Promise<void> }>,
  runs: number,
  what: string,
): Promise<{ summary: ImportSummary; rates: number[]; ms: number[] }> {
  const rates: number[] = [];
  const ms: number[] = [];
  let summary: ImportSummary | undefined;
  for (let r = 0; r < runs; r++) {
    const store = await open(r);
    try {
      const t = performance.now();
      summary = await importFiles(store.engine, bitmapistLayout(store.prefix), UTC, files, SPEC, { batch: BATCH });
      const took = performance.now() - t;
      ms.push(took);
      rates.push((summary.linesRead * 1000) / took);
      log(`${what} run ${r + 1}/${runs}: ${n(summary.linesRead)} lines in ${secs(took)} = ${n(rates.at(-1)!)} lines/s (${n(summary.bitWrites)} bit writes, ${n(summary.newIds)} new ids)`);
      if (r === 0 && took > 60_000 && runs > 1) {
        log(`${what}: a run takes over 60 s, so one run only`);
        break;
      }
    } finally {
      await store.done();
    }
  }
  return { summary: summary!, rates, ms };
}

/** Reads every line of the archive (gunzip + split), in order. */
function* archiveLines(files: readonly string[]): Generator<string> {
  for (const f of files) {
    const text = gunzipSync(readFileSync(f)).toString('utf8');
    let at = 0;
    for (;;) {
      const nl = text.indexOf('\n', at);
      if (nl < 0) {
        if (at < text.length) yield text.slice(at);
        break;
      }
      yield text.slice(at, nl);
      at = nl + 1;
    }
  }
}

interface Launch {
  at: number;
  spec: string;
  provider: string;
}

const parseLaunch = (line: string): Launch | null => {
  let o: { timestamp?: unknown; spec?: unknown; provider?: unknown };
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    return null;
  }
  if (typeof o.timestamp !== 'string' || typeof o.spec !== 'string' || typeof o.provider !== 'string' || !o.spec) return null;
  const at = Date.parse(o.timestamp);
  return Number.isNaN(at) ? null : { at, spec: o.spec, provider: o.provider };
};

/** bitmapist suffixes of a UTC instant's hour, day, ISO week and month (plain Date arithmetic). */
function suffixesOf(ms: number): { hour: string; day: string; week: string; month: string } {
  const d = new Date(ms);
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  t.setUTCDate(t.getUTCDate() + 4 - (t.getUTCDay() || 7));
  const week = Math.ceil(((t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7);
  const day = `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
  return { hour: `${day}-${d.getUTCHours()}`, day, week: `W${t.getUTCFullYear()}-${week}`, month: `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}` };
}

/** (d): the best a hand-written loader does with one pipeline a batch. */
async function handWritten(url: string, files: readonly string[], prefix: string): Promise<{ ms: number; lines: number; commands: number }> {
  const redis = new Redis(url);
  const counterPrefix = `${prefix.replace(/_$/, '')}:counter:`;
  const ids = new Map<string, number>();
  const hourCache = new Map<number, ReturnType<typeof suffixesOf>>();
  let lines = 0;
  let commands = 0;
  const t = performance.now();
  let bits = new Map<string, Set<number>>();
  let counts = new Map<string, Map<string, number>>();
  let inBatch = 0;
  // One pipeline in flight while the next batch is parsed.
  let inflight: Promise<unknown> = Promise.resolve();
  const flush = async (): Promise<void> => {
    const p = redis.pipeline();
    for (const [key, set] of bits) for (const id of set) p.setbit(key, id, 1);
    for (const [key, fields] of counts) for (const [field, by] of fields) p.hincrby(key, field, by);
    commands += p.length;
    await inflight;
    inflight = p.exec();
    bits = new Map();
    counts = new Map();
    inBatch = 0;
  };
  for (const line of archiveLines(files)) {
    lines++;
    inBatch++;
    const e = parseLaunch(line);
    if (e) {
      let id = ids.get(e.spec);
      if (id === undefined) ids.set(e.spec, (id = ids.size));
      const hour = Math.floor(e.at / 3_600_000);
      let s = hourCache.get(hour);
      if (!s) hourCache.set(hour, (s = suffixesOf(e.at)));
      for (const name of ['launch', `launch:provider:${e.provider}`]) {
        for (const suffix of [s.month, s.week, s.day]) {
          const key = `${prefix}${name}_${suffix}`;
          let set = bits.get(key);
          if (!set) bits.set(key, (set = new Set()));
          set.add(id);
        }
      }
      for (const suffix of [s.hour, s.day, s.week, s.month]) {
        const key = `${counterPrefix}launches:${suffix}`;
        let fields = counts.get(key);
        if (!fields) counts.set(key, (fields = new Map()));
        fields.set(e.provider, (fields.get(e.provider) ?? 0) + 1);
      }
    }
    if (inBatch === BATCH) await flush();
  }
  if (inBatch) await flush();
  await inflight;
  const ms = performance.now() - t;
  redis.disconnect();
  return { ms, lines, commands };
}

/** (c): one GraphQL request a line, awaited one after the other. */
async function graphqlSample(gateway: GatewayProcess, key: string, files: readonly string[]): Promise<{ ms: number; lines: number }> {
  const client = new KeepAliveClient(`${gateway.url}/graphql`, 1, { authorization: `Bearer ${key}` });
  const query =
    'mutation($at: DateTime!, $u: UserId!, $n: String!, $p: String!) { a: markEvent(input: {name: "launch", userId: $u, at: $at}) { marked } b: markEvent(input: {name: $n, userId: $u, at: $at}) { marked } c: incrementCounter(name: "launches", key: $p, at: $at) { incremented } }';
  const ids = new Map<string, number>();
  const sample: Launch[] = [];
  let lines = 0;
  for (const line of archiveLines(files)) {
    if (lines++ >= SAMPLE) break;
    const e = parseLaunch(line);
    if (e) sample.push(e);
  }
  const bodies = sample.map((e) => {
    let id = ids.get(e.spec);
    if (id === undefined) ids.set(e.spec, (id = ids.size));
    return JSON.stringify({ query, variables: { at: new Date(e.at).toISOString(), u: id, n: `launch:provider:${e.provider}`, p: e.provider } });
  });
  // A few untimed requests first (connection, first plans).
  for (const b of bodies.slice(0, 20)) await client.post(b);
  const t = performance.now();
  for (const b of bodies) {
    const res = await client.post(b);
    if (res.status !== 200 || res.body.includes('"errors"')) throw new Error(`gateway: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  }
  const ms = performance.now() - t;
  client.close();
  return { ms, lines: Math.min(lines, SAMPLE) };
}

/** Counter hashes and bitmap sizes under a prefix, to check that the loaders wrote the same thing. */
async function fingerprint(redis: Redis, prefix: string): Promise<string> {
  const counterPrefix = `${prefix.replace(/_$/, '')}:counter:`;
  const keys = (await redis.keys(`${prefix}*`)).sort();
  const counterKeys = (await redis.keys(`${counterPrefix}*`)).sort();
  const sizes = await Promise.all(keys.map((k) => redis.bitcount(k)));
  const hashes = await Promise.all(counterKeys.map((k) => redis.hgetall(k)));
  return JSON.stringify({
    bitmaps: keys.map((k, i) => [k.slice(prefix.length), sizes[i]]),
    counters: counterKeys.map((k, i) => [k.slice(counterPrefix.length), Object.entries(hashes[i]!).sort()]),
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  const { files, lines, bytes } = await archive();
  if (lines < 1_000_000) log(`note: the archive has ${n(lines)} lines (< 1,000,000): raise BENCH_IMPORT_DAYS or BENCH_IMPORT_LINES`);

  const redisServer = await startRedis();
  cleanups.push('redis-server', () => redisServer.stop());
  const admin = new Redis(redisServer.url);
  cleanups.push('redis client', async () => admin.disconnect());
  log(`redis-server on ${redisServer.url} (pid ${redisServer.process.pid})`);

  // (d) first: the reference.
  await admin.flushall();
  const d = await handWritten(redisServer.url, files, 'hand_');
  log(`(d) hand-written: ${n(d.lines)} lines in ${secs(d.ms)} = ${n((d.lines * 1000) / d.ms)} lines/s (${n(d.commands)} commands)`);
  const reference = await fingerprint(admin, 'hand_');

  // (a) importFiles into Redis, a fresh database per run; the first run's result is checked
  // against (d): the same bitmaps (by size: dense ids differ) and the same counters.
  const a = await timeImport(
    files,
    async (run) => {
      await admin.flushall();
      const prefix = `imp${run}_`;
      const layout = bitmapistLayout(prefix);
      const engine = await new RedisEngine({ url: redisServer.url, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys, commandTimeoutMs: 60_000 }).connect();
      return {
        engine,
        prefix,
        async done() {
          await engine.close();
          if (run === 0 && (await fingerprint(admin, prefix)) !== reference) {
            throw new Error('(a) and (d) wrote different bitmaps or counters');
          }
        },
      };
    },
    RUNS,
    '(a) importFiles → Redis',
  );
  log('(a) wrote the same bitmaps (sizes) and counters as (d)');

  // (b) importFiles into the embedded engine, a fresh folder per run.
  const b = await timeImport(
    files,
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bitmapql-bench-import-embedded-'));
      const engine = await openEmbeddedEngine({ dir, fsync: 'os' });
      return {
        engine,
        prefix: 'trackist_',
        async done() {
          await engine.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    RUNS,
    '(b) importFiles → embedded',
  );

  if (b.summary.linesImported !== a.summary.linesImported || b.summary.bitWrites !== a.summary.bitWrites) {
    throw new Error('(b) imported other lines than (a)');
  }

  // (c) the gateway, one request a line.
  await admin.flushall();
  const key = newKey();
  const gateway = await startGateway('gateway-redis', {
    REDIS_URL: redisServer.url,
    KEY_PREFIX: 'gw_',
    API_KEYS: JSON.stringify([{ name: 'bench', sha256: hashKey(key), scopes: ['read', 'write'] }]),
    NODE_ENV: 'production',
  });
  cleanups.push(gateway.name, () => gateway.stop());
  log(`gateway on ${gateway.url} (pid ${gateway.pid})`);
  const c = await graphqlSample(gateway, key, files);
  log(`(c) GraphQL: ${n(c.lines)} lines in ${secs(c.ms)} = ${n((c.lines * 1000) / c.ms)} lines/s`);

  const dRate = (d.lines * 1000) / d.ms;
  const rows: Row[] = [
    { name: `(a) importFiles → Redis`, linesPerSec: median(a.rates), fullMs: median(a.ms), note: `median of ${a.rates.length}; ${n(a.summary.bitWrites)} bit writes, ids mapped in Redis` },
    { name: `(b) importFiles → embedded`, linesPerSec: median(b.rates), fullMs: median(b.ms), note: `median of ${b.rates.length}; FSYNC=os` },
    { name: `(c) GraphQL, 1 request a line`, linesPerSec: (c.lines * 1000) / c.ms, fullMs: (lines * c.ms) / c.lines, note: `${n(c.lines)}-line sample, extrapolated` },
    { name: `(d) hand-written pipeline`, linesPerSec: dRate, fullMs: d.ms, note: `${n(d.commands)} commands, ids from a local Map` },
  ];
  const out = [
    '',
    `Import of ${n(lines)} lines (${files.length} files, ${(bytes / 1048576).toFixed(1)} MiB gzip), --id spec --mark launch --mark 'launch:provider:{provider}' --count 'launches={provider}', batches of ${n(BATCH)}`,
    '',
    `| ${'loader'.padEnd(32)} | ${'lines/s'.padStart(9)} | ${'full archive'.padStart(12)} | ${'vs (d)'.padStart(6)} | notes`,
    `| ${'-'.repeat(32)} | ${'-'.repeat(9)} | ${'-'.repeat(12)} | ${'-'.repeat(6)} | -----`,
    ...rows.map((r) => `| ${r.name.padEnd(32)} | ${n(r.linesPerSec).padStart(9)} | ${secs(r.fullMs).padStart(12)} | ${`${(r.linesPerSec / dRate).toFixed(2)}×`.padStart(6)} | ${r.note}`),
    '',
    `total ${secs(performance.now() - t0)}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

await runBenchmark(main, () => cleanups.run(), log);
