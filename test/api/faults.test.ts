// Redis faults: a dedicated redis-server (AOF, fsync always) is killed and paused under a stream
// of marks and queries. Failures must be SERVICE_UNAVAILABLE and fast, /ready must turn 503,
// everything must recover by itself, every acknowledged mark must survive, and a batch is
// applied whole or not at all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { startRedis } from '../global-setup.ts';
import type { GqlResult } from '../helpers.ts';

const TIMEOUT_MS = 500;
const READY_TIMEOUT_MS = 300;
/** Scheduling, JSON and a reconnect attempt on top of the Redis timeout. */
const SLACK_MS = 500;
const KEY = `bmq_faults_${randomBytes(8).toString('hex')}`;
const AUTH = { authorization: `Bearer ${KEY}` };
const IDS_PER_BATCH = 3;
const AT = '2026-03-04T10:00:00Z';

type Redis7 = Awaited<ReturnType<typeof startRedis>>;

let dir: string;
let redis: Redis7;
let redisArgs: string[];
let gateway: Gateway;
let admin: Redis;
let prefix: string;
/** Batch numbers are unique across the file; every acknowledged one is checked at each verify. */
let nextBatch = 0;
const allAcked: number[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bitmapql-faults-'));
  redisArgs = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  redis = await startRedis(undefined, redisArgs);
  prefix = `f${randomBytes(3).toString('hex')}_`;
  const config = loadConfig(
    {},
    {
      redisUrl: redis.url,
      redisTimeoutMs: TIMEOUT_MS,
      readyTimeoutMs: READY_TIMEOUT_MS,
      keyPrefix: prefix,
      apiKeys: [{ name: 'faults', sha256: hashKey(KEY), scopes: ['read', 'write'] }],
    },
  );
  gateway = await createGateway(config);
  admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  admin.on('error', () => {});
  await admin.connect();
});

afterAll(async () => {
  await gateway?.close();
  admin?.disconnect();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Timed<T> {
  ms: number;
  status: number;
  body: GqlResult<T>;
}

async function gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<Timed<T>> {
  const start = performance.now();
  const res = await gateway.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...AUTH },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResult<T>;
  return { ms: performance.now() - start, status: res.status, body };
}

async function ready(): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  const res = await gateway.yoga.fetch('http://yoga/ready');
  await res.text();
  return { status: res.status, ms: performance.now() - start };
}

const MARK = `mutation Mark($input: [MarkEventInput!]!) { markEvents(input: $input) { marked } }`;
const COUNT = `query Count { count(set: { event: { name: "f", period: { at: { granularity: DAY, date: "2026-03-04" } } } }) }`;

const batchIds = (batch: number): number[] => Array.from({ length: IDS_PER_BATCH }, (_, j) => batch * IDS_PER_BATCH + j);

interface Outcome {
  acked: number[];
  failed: number[];
  failures: Array<{ ms: number; codes: string[] }>;
}

/** `workers` writers, each sending one batch at a time, until `until()` says stop. */
async function stream(outcome: Outcome, until: () => boolean, workers = 4): Promise<void> {
  const worker = async (): Promise<void> => {
    while (!until()) {
      const batch = nextBatch++;
      const r = await gql<{ markEvents: { marked: number } }>(MARK, {
        input: batchIds(batch).map((userId) => ({ name: 'f', userId, at: AT })),
      });
      if (r.status === 200 && !r.body.errors && r.body.data?.markEvents.marked === IDS_PER_BATCH) {
        outcome.acked.push(batch);
        allAcked.push(batch);
      } else {
        outcome.failed.push(batch);
        outcome.failures.push({ ms: r.ms, codes: (r.body.errors ?? []).map((e) => String(e.extensions?.code)) });
      }
      await new Promise((resolve) => setImmediate(resolve)); // failures can be immediate: let timers run
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/** Reads every key of event f straight from Redis: bit offsets per key. */
async function storedBits(): Promise<Map<string, Buffer>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [nextCursor, batch] = await admin.scan(cursor, 'MATCH', `${prefix}f_*`, 'COUNT', 1000);
    cursor = nextCursor;
    keys.push(...batch);
  } while (cursor !== '0');
  const out = new Map<string, Buffer>();
  for (const k of keys) out.set(k, (await admin.getBuffer(k)) ?? Buffer.alloc(0));
  return out;
}

const bitSet = (bytes: Buffer, offset: number): boolean => ((bytes[offset >> 3] ?? 0) & (0x80 >> (offset & 7))) !== 0;

/** Every acknowledged batch is whole in every key; every other batch is whole or absent. */
async function verify(): Promise<void> {
  const batches = nextBatch;
  const bits = await storedBits();
  expect([...bits.keys()].length).toBe(3); // month, ISO week, day
  const acked = new Set(allAcked);
  const problems: string[] = [];
  for (let b = 0; b < batches; b++) {
    let set = 0;
    for (const bytes of bits.values()) for (const id of batchIds(b)) if (bitSet(bytes, id)) set++;
    const all = bits.size * IDS_PER_BATCH;
    if (acked.has(b) && set !== all) problems.push(`acknowledged batch ${b}: ${set}/${all} bits`);
    if (set !== 0 && set !== all) problems.push(`batch ${b} half-applied: ${set}/${all} bits`);
  }
  expect(problems.slice(0, 10)).toEqual([]);
  // and the gateway agrees with Redis
  const day = [...bits.entries()].find(([k]) => k.endsWith('_2026-3-4'))![1];
  let members = 0;
  for (let b = 0; b < batches; b++) for (const id of batchIds(b)) if (bitSet(day, id)) members++;
  const r = await gql<{ count: number }>(COUNT);
  expect(r.body.errors).toBeUndefined();
  expect(r.body.data?.count).toBe(members);
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return performance.now() - start;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis faults', () => {
  it('redis-server killed mid-stream: fast SERVICE_UNAVAILABLE, /ready 503, recovery on the same port, no acknowledged mark lost', async () => {
    expect((await ready()).status).toBe(200);
    const outcome: Outcome = { acked: [], failed: [], failures: [] };
    let phase = 'before' as 'before' | 'down' | 'after' | 'done';
    const queryFailures: Array<{ ms: number; codes: string[] }> = [];
    const writers = stream(outcome, () => phase === 'done');
    const reader = (async () => {
      while (phase !== 'done') {
        const r = await gql(COUNT);
        if (r.body.errors) queryFailures.push({ ms: r.ms, codes: r.body.errors.map((e) => String(e.extensions?.code)) });
        await sleep(5);
      }
    })();

    await waitFor('acknowledged marks before the fault', async () => outcome.acked.length >= 40);
    const ackedBefore = [...outcome.acked];
    // Only this test's own redis-server, by its pid.
    const exited = new Promise((r) => redis.process.once('exit', r));
    process.kill(redis.process.pid!, 'SIGKILL');
    await exited;
    phase = 'down';

    const notReady = await waitFor('/ready 503', async () => (await ready()).status === 503, 3000);
    expect(notReady).toBeLessThan(READY_TIMEOUT_MS + SLACK_MS);
    await sleep(800); // a stream of failures while Redis is away
    const r = await ready();
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(READY_TIMEOUT_MS + SLACK_MS);
    const failedWhileDown = outcome.failures.length;
    expect(failedWhileDown).toBeGreaterThan(0);
    expect(queryFailures.length).toBeGreaterThan(0);

    // Back on the same port with the same AOF folder.
    redis = await startRedis(redis.port, redisArgs);
    const recovered = await waitFor('queries succeed again', async () => !(await gql(COUNT)).body.errors, 10_000);
    expect(recovered).toBeLessThan(5000);
    await waitFor('/ready 200', async () => (await ready()).status === 200, 5000);
    phase = 'after';
    const ackedAtRecovery = outcome.acked.length;
    await waitFor('marks acknowledged after recovery', async () => outcome.acked.length >= ackedAtRecovery + 20);
    phase = 'done';
    await Promise.all([writers, reader]);

    // Every failure was SERVICE_UNAVAILABLE, and fast.
    for (const f of [...outcome.failures, ...queryFailures]) {
      expect(f.codes).toEqual(['SERVICE_UNAVAILABLE']);
      expect(f.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    expect(ackedBefore.length).toBeGreaterThanOrEqual(40);
    await verify();

    // The closed-period cache came back too, and still hears about changes made by others
    // (the restarted server lost the keyspace-notification setting; it must be set again).
    const dayKey = [...(await storedBits()).keys()].find((k) => k.endsWith('_2026-3-4'))!;
    const counted = async (): Promise<number> => (await gql<{ count: number }>(COUNT)).body.data!.count;
    const before = await counted();
    await counted(); // a copy is now held, when the period is closed
    await admin.setbit(dayKey, 4_000_000, 1); // another writer (bitmapist itself, say)
    await waitFor('an outside change to a closed period is seen', async () => (await counted()) === before + 1, 2000);
    await admin.setbit(dayKey, 4_000_000, 0);
    await waitFor('and undone', async () => (await counted()) === before, 2000);

    const metrics = await (await gateway.yoga.fetch('http://yoga/metrics')).text();
    expect(metrics).toMatch(/bitmapql_graphql_errors_total\{code="SERVICE_UNAVAILABLE"\} [1-9]/);
    expect(metrics).toMatch(/bitmapql_engine_round_trips_total\{engine="redis",mode="lua",method="write",outcome="error"\} [1-9]/);
    expect(metrics).toMatch(/bitmapql_marks_total\{action="mark"\} [1-9]/);
  });

  it('paused Redis (CLIENT PAUSE): requests fail with SERVICE_UNAVAILABLE within the timeout instead of hanging, then recover', async () => {
    expect((await gql(COUNT)).body.errors).toBeUndefined();
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const pausedAt = performance.now();
    const [q, m, rd] = await Promise.all([
      gql(COUNT),
      gql(MARK, { input: batchIds(nextBatch++).map((userId) => ({ name: 'f', userId, at: AT })) }),
      ready(),
    ]);
    expect(performance.now() - pausedAt).toBeLessThan(1400); // answered while Redis was still paused
    for (const r of [q, m]) {
      expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    expect(rd.status).toBe(503);
    expect(rd.ms).toBeLessThan(TIMEOUT_MS - 50); // READY_TIMEOUT_MS bounds /ready, not the (longer) Redis timeout

    await waitFor('queries succeed again', async () => !(await gql(COUNT)).body.errors, 5000);
    expect((await ready()).status).toBe(200);
    const outcome: Outcome = { acked: [], failed: [], failures: [] };
    await stream(outcome, () => outcome.acked.length >= 10, 2);
    expect(outcome.failed).toEqual([]);
    // The timed-out batch's outcome was unknown (Redis ran it after the pause): whole or absent.
    await verify();
  });
});
