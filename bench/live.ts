// `npm run bench:live`: live answers, from an acknowledged mark to the SSE event at every subscriber, and the gateway's CPU while idle.
//
// Starts a redis-server and two gateway processes (Redis engine on that server, embedded engine in
// a temporary folder) on free loopback ports. For each engine and each size (1, 100, 1,000 open
// subscriptions), it opens that many GraphQL-over-SSE streams (GET /graphql?query=…, Accept:
// text/event-stream, one keep-alive loopback connection each, as an EventSource does), spread
// round-robin over QUESTIONS: five distinct counts that all read today's keys of the event `live`,
// so equal questions share an evaluation as they would behind many dashboards, and every mark
// changes every answer. Then it sends BENCH_LIVE_MARKS markEvent requests one at a time (a new
// user each, waiting for the ack) and times, for every subscriber, the ack to the arrival of the
// event carrying the new count (checked against a JS Set of the marked users). Marks are spaced
// at least LIVE_MIN_INTERVAL_MS + 20 ms apart: a closer mark would wait for the coalescing
// interval, which is the setting, not the gateway's cost. Last, with 1,000 subscriptions open and
// no writes, the gateway's CPU over BENCH_LIVE_IDLE_S seconds (utime + stime from /proc/<pid>/stat).
//
//
// Each engine runs twice, side by side: LIVE_DIRECT_WRITES=true (each answer's SSE frame made once
// and written to every subscriber's Node response; the default) and =false (yoga's web stream per
// subscriber, as before it). The subscribers are read two ways: `json` parses every event as a
// browser would (string concatenation, JSON.parse), `lean` only finds the expected count's bytes
// in each chunk (Buffer.indexOf): the benchmark's own clients share the gateway's cores, and the
// lean one costs them less of it.
//
//   BENCH_LIVE_MARKS    marks timed per size and engine (default 50, after 3 untimed)
//   BENCH_LIVE_SIZES    subscription counts (default 1,100,1000)
//   BENCH_LIVE_IDLE_S   seconds of the idle CPU measurement (default 10)
//   BENCH_LIVE_CLIENTS  lean, json or both (default lean,json)
//   BENCH_LIVE_WRITERS  direct, stream or both (default stream,direct)

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startRedis } from '../test/global-setup.ts';
import { startGateway } from './gateway-process.ts';
import type { GatewayProcess } from './gateway-process.ts';
import { KeepAliveClient } from './http-client.ts';
import { Cleanups, intEnv, runBenchmark } from './harness.ts';

const MARKS = intEnv('BENCH_LIVE_MARKS', 50);
const WARMUP_MARKS = 3;
const IDLE_S = intEnv('BENCH_LIVE_IDLE_S', 10);
const SIZES = (process.env.BENCH_LIVE_SIZES || '1,100,1000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_LIVE_SIZES: ${JSON.stringify(s)} is not a whole number ≥ 1`);
  return n;
});
const listEnv = <T extends string>(name: string, fallback: string, allowed: readonly T[]): T[] => {
  const list = (process.env[name] || fallback).split(',').map((v) => v.trim());
  for (const v of list) if (!allowed.includes(v as T)) throw new Error(`${name}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  return list as T[];
};
type ClientKind = 'lean' | 'json';
type Writer = 'stream' | 'direct';
const CLIENTS = listEnv<ClientKind>('BENCH_LIVE_CLIENTS', 'lean,json', ['lean', 'json']);
const WRITERS = listEnv<Writer>('BENCH_LIVE_WRITERS', 'stream,direct', ['stream', 'direct']);
const MIN_INTERVAL_MS = 100; // the gateway's LIVE_MIN_INTERVAL_MS default, set explicitly below
const EVENT = 'live';
const OTHER = 'live_other';
/** Users of OTHER today, marked before any subscription: the `or` question's answer is |live| + this. */
const OTHER_USERS = 7;
/** Dense ids of marked users start here (OTHER's are below). */
const FIRST_USER = 1000;

const today = (event: string, g = 'DAY'): string => `{ event: { name: "${event}", period: { current: ${g} } } }`;
/** Distinct questions; `expected(n)`: the count after n users marked EVENT today (none marked OTHER's ids). */
const QUESTIONS: ReadonlyArray<{ name: string; set: string; expected: (n: number) => number }> = [
  { name: 'day', set: today(EVENT), expected: (n) => n },
  { name: 'week', set: today(EVENT, 'WEEK'), expected: (n) => n },
  { name: 'month', set: today(EVENT, 'MONTH'), expected: (n) => n },
  { name: 'day or other', set: `{ or: [${today(EVENT)}, ${today(OTHER)}] }`, expected: (n) => n + OTHER_USERS },
  { name: 'day and week', set: `{ and: [${today(EVENT)}, ${today(EVENT, 'WEEK')}] }`, expected: (n) => n },
];

const cleanups = new Cleanups();
const log = (msg: string): void => console.log(`· ${msg}`);

/** One SSE stream: the counts it received, each with its arrival time. */
class Subscriber {
  private readonly req: http.ClientRequest;
  /** Resolved by the next event whose count is `want` (`needle`: its bytes, for the lean client). */
  private waiter: { want: number; needle: Buffer; resolve: (at: number) => void } | null = null;
  last: number | null = null;
  private closed = false;

  constructor(url: URL, query: string, agent: http.Agent, kind: ClientKind, onFirst: () => void, onFail: (e: Error) => void) {
    this.req = http.get(
      { host: url.hostname, port: url.port, path: `/graphql?query=${encodeURIComponent(query)}`, agent, headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          onFail(new Error(`subscription answered HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        let buffer = '';
        /** The lean client's last bytes of the previous chunk: a count split between two chunks is still found. */
        let tail: Buffer | null = null;
        const received = (count: number, at: number): void => {
          const first = this.last === null;
          this.last = count;
          if (first) onFirst();
          const w = this.waiter;
          if (w && w.want === count) {
            this.waiter = null;
            w.resolve(at);
          }
        };
        res.on('data', (chunk: Buffer) => {
          const at = performance.now();
          if (kind === 'lean' && this.last !== null) {
            const hay = tail ? Buffer.concat([tail, chunk]) : chunk;
            tail = chunk.subarray(Math.max(0, chunk.length - 32));
            if (hay.indexOf(ERRORS) >= 0) onFail(new Error(`subscription error: ${hay.toString()}`));
            const w = this.waiter;
            if (w && hay.indexOf(w.needle) >= 0) received(w.want, at);
            return;
          }
          buffer += chunk.toString();
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!block.startsWith('event: next')) continue;
            const data = block.slice(block.indexOf('\ndata:') + 6).trim();
            const json = JSON.parse(data) as { data?: { count: number }; errors?: unknown };
            if (!json.data) {
              onFail(new Error(`subscription error: ${JSON.stringify(json.errors)}`));
              continue;
            }
            received(json.data.count, at);
          }
        });
      },
    );
    this.req.on('error', (e) => {
      if (!this.closed) onFail(e);
    });
  }

  /** The arrival time of the event carrying `want` (at once if it is the last one seen). */
  arrival(want: number, needle: Buffer): Promise<number> {
    if (this.last === want) return Promise.resolve(performance.now());
    return new Promise((resolve) => (this.waiter = { want, needle, resolve }));
  }

  close(): void {
    this.closed = true;
    this.req.destroy();
  }
}

const ERRORS = Buffer.from('"errors"');
/** The bytes of an event carrying `count` (yoga's JSON and the direct writer's are the same text). */
const needleOf = (count: number): Buffer => Buffer.from(`{"count":${count}}`);

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const CLOCK_TICK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICK; // fields 14 and 15 of stat(5)
}

interface Row {
  engine: string;
  writer: Writer;
  client: ClientKind;
  subscriptions: number;
  p50: number;
  p99: number;
  max: number;
  samples: number;
  /** The gateway's CPU time per mark (ms): the write, the evaluations and every subscriber's event. */
  cpuPerMark: number;
}

/** A gateway under test: one engine, one writer. */
interface Target {
  readonly g: GatewayProcess;
  readonly engine: string;
  readonly writer: Writer;
  readonly marked: Set<number>;
  readonly mark: (event: string, userId: number) => Promise<void>;
}

async function target(g: GatewayProcess, engine: string, writer: Writer): Promise<Target> {
  const client = new KeepAliveClient(`${g.url}/graphql`, 1);
  cleanups.push(`${g.name} writer`, () => client.close());
  const mark = async (event: string, userId: number): Promise<void> => {
    const res = await client.post(JSON.stringify({ query: `mutation { markEvent(input: { name: "${event}", userId: ${userId} }) { __typename } }` }));
    const json = JSON.parse(res.body) as { errors?: unknown };
    if (res.status !== 200 || json.errors) throw new Error(`${g.name}: markEvent answered HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  };
  for (let id = 0; id < OTHER_USERS; id++) await mark(OTHER, id);
  return { g, engine, writer, marked: new Set(), mark };
}

/** One size on one gateway with one kind of client; with `idle`, the gateway's CPU with them open and no writes after (% of a core). */
async function benchSize(t: Target, size: number, kind: ClientKind, rows: Row[], idle: boolean): Promise<number> {
  const { g, marked } = t;
  const url = new URL(g.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const subs: Subscriber[] = [];
  const question: number[] = [];
  let failure: Error | null = null;
  const opening: Array<Promise<void>> = [];
  try {
    for (let i = 0; i < size; i++) {
      const q = i % QUESTIONS.length;
      opening.push(
        new Promise<void>((resolve, reject) => {
          subs.push(
            new Subscriber(url, `subscription { count(set: ${QUESTIONS[q]!.set}) }`, agent, kind, resolve, (e) => {
              failure ??= e;
              reject(e);
            }),
          );
        }),
      );
      question.push(q);
      if (opening.length % 100 === 0) await Promise.all(opening.slice(-100)); // opened in steps, as dashboards would
    }
    await withTimeout(Promise.all(opening), 60_000, `${g.name}: opening ${size} subscriptions`);
    for (let i = 0; i < size; i++) {
      const want = QUESTIONS[question[i]!]!.expected(marked.size);
      if (subs[i]!.last !== want) throw new Error(`${g.name}: subscription ${i} (${QUESTIONS[question[i]!]!.name}) began with ${subs[i]!.last}, expected ${want}`);
    }

    const latencies: number[] = [];
    let nextMarkAt = 0;
    let cpuBefore = 0;
    for (let m = 0; m < WARMUP_MARKS + MARKS; m++) {
      if (m === WARMUP_MARKS) cpuBefore = cpuSeconds(g.pid);
      const wait = nextMarkAt - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const userId = FIRST_USER + marked.size;
      marked.add(userId);
      const needles = QUESTIONS.map((q) => needleOf(q.expected(marked.size)));
      const arrivals = subs.map((s, i) => s.arrival(QUESTIONS[question[i]!]!.expected(marked.size), needles[question[i]!]!));
      await t.mark(EVENT, userId);
      const acked = performance.now();
      nextMarkAt = acked + MIN_INTERVAL_MS + 20;
      const at = await withTimeout(Promise.all(arrivals), 10_000, `${g.name}: mark ${m} with ${size} subscriptions`);
      if (failure) throw failure;
      // An event read before the ack (the embedded engine evaluates as it acknowledges) counts as 0.
      if (m >= WARMUP_MARKS) for (const a of at) latencies.push(Math.max(0, a - acked));
    }
    const cpuPerMark = ((cpuSeconds(g.pid) - cpuBefore) / MARKS) * 1000;
    latencies.sort((a, b) => a - b);
    const row: Row = {
      engine: t.engine,
      writer: t.writer,
      client: kind,
      subscriptions: size,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1]!,
      samples: latencies.length,
      cpuPerMark,
    };
    rows.push(row);
    log(`${g.name} (${kind} client): ${size} subscriptions: p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, gateway CPU ${cpuPerMark.toFixed(1)} ms a mark`);
    if (!idle) return NaN;
    await new Promise((r) => setTimeout(r, 1000)); // the last answers sent, the last timers spent
    const before = cpuSeconds(g.pid);
    const start = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const cpu = ((cpuSeconds(g.pid) - before) / ((performance.now() - start) / 1000)) * 100;
    log(`${g.name}: idle with ${size} subscriptions for ${IDLE_S} s: ${cpu.toFixed(2)}% of a core`);
    return cpu;
  } finally {
    for (const s of subs) s.close();
    agent.destroy();
    await new Promise((r) => setTimeout(r, 500)); // the gateway drops the closed subscriptions
  }
}

async function main(): Promise<void> {
  const redisServer = await startRedis();
  cleanups.push('redis-server', () => redisServer.stop());
  const dataDir = await mkdtemp(join(tmpdir(), 'bitmapql-bench-live-'));
  cleanups.push('embedded data folder', () => rm(dataDir, { recursive: true, force: true }));
  const live = { LIVE_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS), LIVE_MAX_PER_KEY: String(2 * Math.max(...SIZES)), LIVE_MAX_TOTAL: String(2 * Math.max(...SIZES)) };
  const specs: Array<{ engine: string; writer: Writer; env: Record<string, string> }> = [];
  for (const writer of WRITERS) {
    const env = { ...live, LIVE_DIRECT_WRITES: String(writer === 'direct') };
    // The two Redis gateways share the server under their own prefixes: one's marks are not the other's.
    specs.push({ engine: 'redis', writer, env: { REDIS_URL: redisServer.url, KEY_PREFIX: `live_${writer}_`, ...env } });
    specs.push({ engine: 'embedded', writer, env: { DATA_DIR: join(dataDir, writer), FSYNC: 'os', ...env } });
  }
  const started = await Promise.allSettled(specs.map((s) => startGateway(`gateway-${s.engine}-${s.writer}`, s.env)));
  for (const s of started) if (s.status === 'fulfilled') cleanups.push(s.value.name, () => s.value.stop());
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const targets: Target[] = [];
  for (const [i, s] of started.entries()) targets.push(await target((s as PromiseFulfilledResult<GatewayProcess>).value, specs[i]!.engine, specs[i]!.writer));

  console.log('bitmapql live benchmark');
  console.log(`  node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), redis-server on ${redisServer.url}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`  ${QUESTIONS.length} distinct questions (count of ${QUESTIONS.map((q) => q.name).join(', ')}), subscriptions round-robin over them`);
  console.log(`  ${MARKS} timed marks per size (after ${WARMUP_MARKS}), one at a time, ≥ ${MIN_INTERVAL_MS + 20} ms apart (LIVE_MIN_INTERVAL_MS=${MIN_INTERVAL_MS})`);
  console.log(`  writers: ${WRITERS.join(', ')}; clients: ${CLIENTS.join(', ')}; each size runs every gateway in turn`);

  const rows: Row[] = [];
  const idle: Array<{ name: string; cpu: number }> = [];
  const top = Math.max(...SIZES);
  for (const size of SIZES) {
    for (const kind of CLIENTS) {
      for (const t of targets) {
        const cpu = await benchSize(t, size, kind, rows, size === top && kind === CLIENTS[0]);
        if (!Number.isNaN(cpu)) idle.push({ name: t.g.name, cpu });
      }
    }
  }

  const f = (r: Row | undefined): string => (r ? `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}` : '–');
  const c = (r: Row | undefined): string => (r ? r.cpuPerMark.toFixed(1) : '–');
  console.log('');
  console.log('Ack of markEvent → SSE event at every subscriber: p50 / p99 (ms), and the gateway\'s CPU a mark (ms)');
  console.log(`| engine | client | subscriptions | ${WRITERS.map((w) => `${w} p50 / p99`).join(' | ')} | ${WRITERS.map((w) => `${w} CPU`).join(' | ')} |`);
  console.log(`| --- | --- | ---: | ${WRITERS.map(() => '---:').join(' | ')} | ${WRITERS.map(() => '---:').join(' | ')} |`);
  for (const engine of ['redis', 'embedded']) {
    for (const kind of CLIENTS) {
      for (const size of SIZES) {
        const of = (w: Writer) => rows.find((r) => r.engine === engine && r.client === kind && r.subscriptions === size && r.writer === w);
        console.log(`| ${engine} | ${kind} | ${size.toLocaleString('en-US')} | ${WRITERS.map((w) => f(of(w))).join(' | ')} | ${WRITERS.map((w) => c(of(w))).join(' | ')} |`);
      }
    }
  }
  console.log('');
  console.log(`Gateway CPU with ${top.toLocaleString('en-US')} idle subscriptions over ${IDLE_S} s (% of one core)`);
  for (const i of idle) console.log(`  ${i.name}: ${i.cpu.toFixed(2)}%`);
  const direct = rows.filter((r) => r.subscriptions === 1000 && r.writer === 'direct');
  if (direct.length) {
    console.log('');
    console.log(
      `targets (direct writer): p99 ≤ 100 ms at 1,000 subscriptions: ${direct.map((r) => `${r.engine}/${r.client} ${r.p99 <= 100 ? 'met' : 'MISSED'}`).join(', ')}; idle CPU < 2% of a core: ${idle.every((i) => i.cpu < 2) ? 'met' : 'MISSED'}`,
    );
  }
}

await runBenchmark(main, () => cleanups.run());
