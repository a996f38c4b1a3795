// Observability: /metrics (a registry per gateway), request ids, one JSON log line per request,
// /ready while draining, and the closed-period cache counters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { closedPeriodKeys } from '../../src/bitmap/engines/open.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { requestIdFrom } from '../../src/observability/request-log.ts';
import { redisUrl } from '../helpers.ts';

const KEY = `bmq_obs_${randomBytes(8).toString('hex')}`;
const apiKeys = [{ name: 'obs', sha256: hashKey(KEY), scopes: ['read' as const, 'write' as const] }];

interface Setup {
  gateway: Gateway;
  engine: Engine;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

async function embedded(): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-obs-'));
  const engine = await openEmbeddedEngine({ dir, fsync: 'os' });
  const logs: Array<Record<string, unknown>> = [];
  const gateway = await createGateway(loadConfig({}, { dataDir: dir, apiKeys }), { engine, log: (f) => logs.push(f) });
  return {
    gateway,
    engine,
    logs,
    close: async () => {
      await gateway.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function post(gateway: Gateway, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return await gateway.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
}

async function metrics(gateway: Gateway): Promise<string> {
  const res = await gateway.yoga.fetch('http://yoga/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

/** The value of one sample line, e.g. value(text, 'bitmapql_marks_total{action="mark"}'). */
function value(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

const MARKS = `mutation Marks($input: [MarkEventInput!]!) { markEvents(input: $input) { marked } }`;
const DAY = `{ event: { name: "o", period: { at: { granularity: DAY, date: "2026-03-04" } } } }`;

describe('observability', () => {
  let a: Setup;
  let b: Setup;
  beforeAll(async () => {
    a = await embedded();
    b = await embedded();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('counts requests, errors, marks, bit writes, round trips and program sizes, per gateway', async () => {
    const input = [1, 2, 3, 4].map((userId) => ({ name: 'o', userId, at: '2026-03-04T10:00:00Z' }));
    expect(await (await post(a.gateway, MARKS, { input })).json()).toEqual({ data: { markEvents: { marked: 4 } } });
    await post(a.gateway, `mutation { x: markEvent(input: { name: "o", userId: 9, at: "2026-03-04" }) { marked } y: unmarkEvent(input: { name: "o", userId: 9, at: "2026-03-04" }) { marked } }`);
    const q = await (await post(a.gateway, `query Board { n: count(set: ${DAY}) both: count(set: { and: [${DAY}, { ids: [1, 2, 7] }] }) }`)).json();
    expect(q).toEqual({ data: { n: 4, both: 2 } });
    await post(a.gateway, `query Broken { count(set: { event: { name: "o" } }) }`); // MISSING_PERIOD
    await post(a.gateway, `{ nope }`); // validation

    const text = await metrics(a.gateway);
    expect(value(text, 'bitmapql_graphql_requests_total{operation="Marks",type="mutation",outcome="ok"}')).toBe(1);
    expect(value(text, 'bitmapql_graphql_requests_total{operation="Board",type="query",outcome="ok"}')).toBe(1);
    expect(value(text, 'bitmapql_graphql_requests_total{operation="Broken",type="query",outcome="error"}')).toBe(1);
    expect(value(text, 'bitmapql_graphql_requests_total{operation="(anonymous)",type="query",outcome="error"}')).toBe(1);
    expect(value(text, 'bitmapql_graphql_request_duration_seconds_count{operation="Board",type="query"}')).toBe(1);
    expect(value(text, 'bitmapql_graphql_errors_total{code="MISSING_PERIOD"}')).toBe(1);
    expect(value(text, 'bitmapql_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}')).toBe(1);
    expect(value(text, 'bitmapql_marks_total{action="mark"}')).toBe(5);
    expect(value(text, 'bitmapql_marks_total{action="unmark"}')).toBe(1);
    // 6 marks × (month, week, day)
    expect(value(text, 'bitmapql_bit_writes_total{engine="embedded",mode="local"}')).toBe(18);
    expect(value(text, 'bitmapql_engine_round_trips_total{engine="embedded",mode="local",method="write",outcome="ok"}')).toBe(3);
    expect(value(text, 'bitmapql_engine_round_trips_total{engine="embedded",mode="local",method="run",outcome="ok"}')).toBe(1);
    expect(value(text, 'bitmapql_engine_round_trip_duration_seconds_count{engine="embedded",mode="local",method="run"}')).toBe(1);
    expect(value(text, 'bitmapql_program_instructions_count')).toBe(1);
    expect(value(text, 'bitmapql_program_keys_sum')).toBe(1);
    expect(value(text, 'bitmapql_program_instructions_sum')).toBeGreaterThanOrEqual(2);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // the other gateway's registry saw none of it
    expect(value(await metrics(b.gateway), 'bitmapql_marks_total{action="mark"}')).toBeUndefined();
  });

  it('keeps a safe x-request-id, replaces an unsafe one, and echoes it on every path', async () => {
    const ok = await post(a.gateway, '{ events { name } }', undefined, { 'x-request-id': 'req-42_a.b:c' });
    expect(ok.headers.get('x-request-id')).toBe('req-42_a.b:c');
    for (const bad of ['x'.repeat(65), 'has space', 'semi;colon', 'new\u00e9']) {
      const res = await post(a.gateway, '{ events { name } }', undefined, { 'x-request-id': bad });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    for (const path of ['/health', '/ready', '/metrics']) {
      const res = await a.gateway.yoga.fetch(`http://yoga${path}`, { headers: { 'x-request-id': 'probe-1' } });
      expect(res.headers.get('x-request-id')).toBe('probe-1');
    }
    const fresh = await a.gateway.yoga.fetch('http://yoga/health');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom(null)).not.toBe(requestIdFrom(null));
  });

  it('logs one line per GraphQL request: id, operation, status, duration, error codes, never variables', async () => {
    b.logs.length = 0;
    await post(b.gateway, MARKS, { input: [{ name: 'secret_event', userId: 123456, at: '2026-03-04' }] }, { 'x-request-id': 'log-1' });
    await post(b.gateway, `query Broken { count(set: { event: { name: "o" } }) }`, undefined, { 'x-request-id': 'log-2' });
    await b.gateway.yoga.fetch('http://yoga/health');
    await b.gateway.yoga.fetch('http://yoga/ready');
    await b.gateway.yoga.fetch('http://yoga/metrics');
    const lines = b.logs.filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(2); // probes and scrapes are not logged
    expect(lines[0]).toMatchObject({ level: 'info', requestId: 'log-1', operation: 'Marks', type: 'mutation', status: 200 });
    expect(lines[0]).not.toHaveProperty('errors');
    expect(typeof lines[0]!.durationMs).toBe('number');
    expect(lines[1]).toMatchObject({ requestId: 'log-2', operation: 'Broken', type: 'query', errors: ['MISSING_PERIOD'] });
    const text = JSON.stringify(b.logs);
    expect(text).not.toContain('secret_event');
    expect(text).not.toContain('123456');
  });

  it('bounds operation-name labels', async () => {
    const g = await embedded();
    try {
      for (let i = 0; i < 205; i++) await post(g.gateway, `query Op${i} { events { name } }`);
      const text = await metrics(g.gateway);
      expect(value(text, 'bitmapql_graphql_requests_total{operation="Op0",type="query",outcome="ok"}')).toBe(1);
      expect(value(text, 'bitmapql_graphql_requests_total{operation="(other)",type="query",outcome="ok"}')).toBe(5);
    } finally {
      await g.close();
    }
  });

  it('/ready answers 503 while draining', async () => {
    expect((await a.gateway.yoga.fetch('http://yoga/ready')).status).toBe(200);
    a.gateway.observability.draining = true;
    try {
      const res = await a.gateway.yoga.fetch('http://yoga/ready');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ready: false, draining: true });
    } finally {
      a.gateway.observability.draining = false;
    }
  });

  it('Redis engine: round trips by mode, and closed-period cache hits and misses', async () => {
    const prefix = `o${randomBytes(4).toString('hex')}_`;
    const layout = bitmapistLayout(prefix);
    const now = Date.parse('2026-03-10T12:00:00Z');
    const engine = await new RedisEngine({
      url: redisUrl(),
      mode: 'lua',
      tempPrefix: layout.tempPrefix,
      cache: { keyPrefix: prefix, maxBytes: 1 << 20, isClosed: closedPeriodKeys(layout, new TimeZone('UTC'), () => now) },
    }).connect();
    const gateway = await createGateway(loadConfig({}, { keyPrefix: prefix, apiKeys }), { engine, now: () => now });
    try {
      expect(engine.cache?.active).toBe(true);
      // the instrumented engine is a proxy: the engine's own members and instanceof still work
      expect(gateway.services.engine).toBeInstanceOf(RedisEngine);
      expect((gateway.services.engine as RedisEngine).cache).toBe(engine.cache);
      await post(gateway, MARKS, { input: [1, 2, 3].map((userId) => ({ name: 'o', userId, at: '2026-03-04T10:00:00Z' })) });
      // (the write's keyspace notification may still drop the first copy: compare with the cache's own counts)
      for (let i = 0; i < 3; i++) expect(await (await post(gateway, `{ count(set: ${DAY}) }`)).json()).toEqual({ data: { count: 3 } });
      const text = await metrics(gateway);
      const { hits, misses } = engine.cache!;
      expect(hits + misses).toBe(3);
      expect(hits).toBeGreaterThanOrEqual(1);
      expect(value(text, 'bitmapql_closed_cache_misses_total')).toBe(misses);
      expect(value(text, 'bitmapql_closed_cache_hits_total')).toBe(hits);
      expect(value(text, 'bitmapql_closed_cache_active')).toBe(1);
      expect(value(text, 'bitmapql_closed_cache_entries')).toBe(engine.cache!.size);
      expect(value(text, 'bitmapql_engine_round_trips_total{engine="redis",mode="lua",method="write",outcome="ok"}')).toBe(1);
      expect(value(text, 'bitmapql_engine_round_trips_total{engine="redis",mode="lua",method="run",outcome="ok"}')).toBe(3);
      expect(value(text, 'bitmapql_bit_writes_total{engine="redis",mode="lua"}')).toBe(9);
      // counters are deltas of the cache's running totals: a second scrape adds nothing new
      expect(value(await metrics(gateway), 'bitmapql_closed_cache_hits_total')).toBe(hits);
    } finally {
      const keys: string[] = [];
      for await (const batch of engine.scan(prefix)) keys.push(...batch);
      await engine.delete(keys);
      await gateway.close();
      await engine.close();
    }
  });
});
