// `npm run load`: a bounded load test of the gateway over HTTP, loopback only.
//
// Starts its own redis-server (free loopback port) and the gateway as a child process
// (`node bin/bitmapql.js serve`, as `npm start` runs it), then runs timed phases with a fixed
// number of concurrent workers, each over its own keep-alive connection:
//
//   mixed      half the workers are "backend services" sending markEvents batches of 500 marks,
//              half are "frontends" sending a dashboard query of 20 counts
//   batch      markEvents batches of 500 only
//   single     single markEvent mutations only
//
// and prints per phase (and role) the requests, requests/s, marks/s, p50/p99 latency and errors,
// then the targets. Every phase is bounded in time and in requests; everything started is
// stopped at the end, also on error or Ctrl-C. Exit code 1 when any request failed.
//
//   LOAD_SECONDS       timed seconds per phase (default 10, at most 120)
//   LOAD_WARMUP        untimed seconds before each phase (default 1)
//   LOAD_CONCURRENCY   workers (= connections) per phase (default 8)
//   LOAD_MAX_REQUESTS  requests per phase at most (default 500000)
//   LOAD_ENGINES       redis, embedded or both, comma-separated (default redis)

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../test/global-setup.ts';
import { startGateway } from '../bench/gateway-process.ts';
import type { GatewayProcess } from '../bench/gateway-process.ts';
import { LoadClient, isOk } from './client.ts';

function numEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return v;
}

const SECONDS = numEnv('LOAD_SECONDS', 10, 0.5, 120);
const WARMUP = numEnv('LOAD_WARMUP', 1, 0, 30);
const CONCURRENCY = Math.round(numEnv('LOAD_CONCURRENCY', 8, 1, 256));
const MAX_REQUESTS = Math.round(numEnv('LOAD_MAX_REQUESTS', 500_000, 1, 10_000_000));
const ENGINES = (process.env.LOAD_ENGINES || 'redis').split(',').map((e) => e.trim());
for (const e of ENGINES) if (e !== 'redis' && e !== 'embedded') throw new Error(`LOAD_ENGINES: unknown engine ${JSON.stringify(e)}`);

const BATCH = 500;
const EVENTS = ['active', 'signup', 'purchase', 'view', 'search'];
const USERS = 1 << 20;

const TARGETS = { batchMarksPerSecond: 50_000, singlePerSecond: 3_000, singleP99Ms: 20 };

// ---- Workload: request bodies, built before timing so the client spends its CPU on sending. ----

const MARK_EVENTS = 'mutation Marks($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const MARK_EVENT = 'mutation Mark($in: MarkEventInput!) { markEvent(input: $in) { marked } }';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function batchBodies(n: number, seed: number): string[] {
  const next = lcg(seed);
  return Array.from({ length: n }, () => {
    const items: string[] = [];
    for (let i = 0; i < BATCH; i++) items.push(`{"name":"${EVENTS[next() % EVENTS.length]}","userId":${next() % USERS}}`);
    return `{"query":${JSON.stringify(MARK_EVENTS)},"variables":{"in":[${items.join(',')}]}}`;
  });
}

function singleBodies(n: number, seed: number): string[] {
  const next = lcg(seed);
  return Array.from(
    { length: n },
    () => `{"query":${JSON.stringify(MARK_EVENT)},"variables":{"in":{"name":"${EVENTS[next() % EVENTS.length]}","userId":${next() % USERS}}}}`,
  );
}

/** A dashboard: 20 counts over this day, week and month, alone and combined. */
function dashboardBody(): string {
  const ev = (name: string, g: string): string => `{ event: { name: "${name}", period: { current: ${g} } } }`;
  const fields: string[] = [];
  for (const g of ['DAY', 'WEEK', 'MONTH']) for (const e of EVENTS) fields.push(`${e}_${g}: count(set: ${ev(e, g)})`);
  fields.push(`buyersActive: count(set: { and: [${ev('active', 'DAY')}, ${ev('purchase', 'DAY')}] })`);
  fields.push(`newOrActive: count(set: { or: [${ev('signup', 'WEEK')}, ${ev('active', 'WEEK')}] })`);
  fields.push(`viewedNotBought: count(set: { minus: { from: ${ev('view', 'MONTH')}, subtract: [${ev('purchase', 'MONTH')}] } })`);
  fields.push(`searchedAndViewed: count(set: { and: [${ev('search', 'WEEK')}, ${ev('view', 'WEEK')}] })`);
  fields.push(`monthlyActive7: count(set: { range: { name: "active", granularity: DAY, last: 7 } })`);
  if (fields.length !== 20) throw new Error(`the dashboard has ${fields.length} counts`);
  return JSON.stringify({ query: `query Dashboard { ${fields.join('\n')} }` });
}

// ---- Timing. ----

interface RoleStats {
  role: string;
  requests: number;
  marks: number;
  errors: number;
  latencies: number[];
  firstError?: string;
}

interface Role {
  name: string;
  workers: number;
  bodies: string[];
  marksPerRequest: number;
}

async function runPhase(client: LoadClient, roles: Role[], seconds: number, maxRequests: number): Promise<{ stats: RoleStats[]; elapsed: number }> {
  const stats = roles.map((r): RoleStats => ({ role: r.name, requests: 0, marks: 0, errors: 0, latencies: [] }));
  let total = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (role: Role, s: RoleStats, offset: number): Promise<void> => {
    let i = offset;
    while (performance.now() < deadline && total < maxRequests) {
      total++;
      const body = role.bodies[i++ % role.bodies.length]!;
      const t0 = performance.now();
      let ok = false;
      let detail = '';
      try {
        const reply = await client.post(body);
        ok = isOk(reply);
        if (!ok) detail = `HTTP ${reply.status}: ${reply.body.slice(0, 300)}`;
      } catch (e) {
        detail = (e as Error).message;
      }
      s.latencies.push(performance.now() - t0);
      s.requests++;
      if (ok) s.marks += role.marksPerRequest;
      else {
        s.errors++;
        s.firstError ??= detail;
      }
    }
  };
  const running: Array<Promise<void>> = [];
  roles.forEach((role, r) => {
    for (let w = 0; w < role.workers; w++) running.push(worker(role, stats[r]!, w * 7919));
  });
  await Promise.all(running);
  return { stats, elapsed: (performance.now() - started) / 1000 };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Row {
  engine: string;
  phase: string;
  role: string;
  requests: number;
  rps: number;
  marksPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

function rowsOf(engine: string, phase: string, stats: RoleStats[], elapsed: number): Row[] {
  return stats.map((s) => {
    const sorted = Float64Array.from(s.latencies).sort();
    return {
      engine,
      phase,
      role: s.role,
      requests: s.requests,
      rps: s.requests / elapsed,
      marksPerSecond: s.marks / elapsed,
      p50: percentile(sorted as unknown as number[], 50),
      p99: percentile(sorted as unknown as number[], 99),
      errors: s.errors,
    };
  });
}

function printRows(rows: readonly Row[]): void {
  const head = ['engine', 'phase', 'role', 'requests', 'req/s', 'marks/s', 'p50 ms', 'p99 ms', 'errors'];
  const cells = rows.map((r) => [
    r.engine,
    r.phase,
    r.role,
    String(r.requests),
    r.rps.toFixed(0),
    r.marksPerSecond ? r.marksPerSecond.toFixed(0) : '-',
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    String(r.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => (i < 3 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

// ---- Main. ----

const cleanups: Array<() => Promise<void>> = [];
async function cleanup(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
}
process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

async function main(): Promise<number> {
  console.log(
    `load: ${SECONDS} s per phase (after ${WARMUP} s warm-up), ${CONCURRENCY} connections, at most ${MAX_REQUESTS} requests per phase; ` +
      `engines: ${ENGINES.join(', ')}; ${cpus().length} CPUs, node ${process.version}`,
  );
  // The gateway refuses mutations without a write key (when API keys are configured): one for the run.
  const key = `load_${randomBytes(16).toString('hex')}`;
  const apiKeys = JSON.stringify([{ name: 'load', sha256: createHash('sha256').update(key).digest('hex'), scopes: ['read', 'write'] }]);

  const batches = batchBodies(256, 1);
  const singles = singleBodies(20_000, 2);
  const dashboard = [dashboardBody()];
  const half = Math.max(1, Math.floor(CONCURRENCY / 2));
  const phases: Array<{ name: string; roles: Role[] }> = [
    {
      name: 'mixed',
      roles: [
        { name: `backend markEvents×${BATCH}`, workers: Math.max(1, CONCURRENCY - half), bodies: batches, marksPerRequest: BATCH },
        { name: 'frontend dashboard×20', workers: half, bodies: dashboard, marksPerRequest: 0 },
      ],
    },
    { name: 'batch', roles: [{ name: `markEvents×${BATCH}`, workers: CONCURRENCY, bodies: batches, marksPerRequest: BATCH }] },
    { name: 'single', roles: [{ name: 'markEvent', workers: CONCURRENCY, bodies: singles, marksPerRequest: 1 }] },
  ];

  const rows: Row[] = [];
  const failures: string[] = [];
  const redis = await startRedis();
  cleanups.push(redis.stop);
  for (const engine of ENGINES) {
    const env: Record<string, string> = { API_KEYS: apiKeys };
    let dir: string | undefined;
    if (engine === 'redis') env.REDIS_URL = redis.url;
    else {
      dir = await mkdtemp(join(tmpdir(), 'bitmapql-load-'));
      env.DATA_DIR = dir;
      const d = dir;
      cleanups.push(() => rm(d, { recursive: true, force: true }));
    }
    const gateway: GatewayProcess = await startGateway(`gateway-${engine}`, env);
    cleanups.push(() => gateway.stop());
    const client = new LoadClient(`${gateway.url}/graphql`, CONCURRENCY, { authorization: `Bearer ${key}` });
    try {
      for (const phase of phases) {
        if (WARMUP > 0) await runPhase(client, phase.roles, WARMUP, MAX_REQUESTS);
        const { stats, elapsed } = await runPhase(client, phase.roles, SECONDS, MAX_REQUESTS);
        const phaseRows = rowsOf(engine, phase.name, stats, elapsed);
        rows.push(...phaseRows);
        for (const s of stats) if (s.firstError) failures.push(`${engine} ${phase.name} ${s.role}: ${s.errors} errors, first: ${s.firstError}`);
        process.stderr.write(`  ${engine} ${phase.name}: done (${phaseRows.reduce((n, r) => n + r.requests, 0)} requests)\n`);
      }
    } finally {
      client.close();
      await gateway.stop();
    }
  }
  await cleanup();

  console.log('');
  printRows(rows);
  console.log('');
  console.log(`targets (per engine): markEvents×${BATCH} ≥ ${TARGETS.batchMarksPerSecond} marks/s; markEvent ≥ ${TARGETS.singlePerSecond}/s with p99 < ${TARGETS.singleP99Ms} ms; no errors`);
  for (const engine of ENGINES) {
    const batch = rows.find((r) => r.engine === engine && r.phase === 'batch')!;
    const single = rows.find((r) => r.engine === engine && r.phase === 'single')!;
    const errors = rows.filter((r) => r.engine === engine).reduce((n, r) => n + r.errors, 0);
    const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    console.log(
      `  ${engine}: batch ${batch.marksPerSecond.toFixed(0)} marks/s (${verdict(batch.marksPerSecond >= TARGETS.batchMarksPerSecond)}); ` +
        `single ${single.rps.toFixed(0)}/s, p99 ${single.p99.toFixed(2)} ms (${verdict(single.rps >= TARGETS.singlePerSecond && single.p99 < TARGETS.singleP99Ms)}); ` +
        `errors ${errors} (${verdict(errors === 0)})`,
    );
  }
  for (const f of failures) console.log(`  ${f}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    await cleanup();
    console.error((e as Error)?.stack ?? e);
    process.exit(1);
  },
);
