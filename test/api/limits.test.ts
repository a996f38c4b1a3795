// Production limits over real HTTP and a real Redis: the cost limit (MAX_COST, worked out from the
// request's shape and counted per question), the body limit with and without Content-Length, and
// per-caller rate limits.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markWrites } from '../../src/bitmap/events.ts';
import { BitmapError } from '../../src/bitmap/errors.ts';
import { keyExpr } from '../../src/bitmap/expr.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { GRANULARITIES, TimeZone, periodAt } from '../../src/bitmap/period.ts';
import type { Granularity } from '../../src/bitmap/period.ts';
import { DEFAULT_SET_LIMITS, resolveSet } from '../../src/bitmap/sets.ts';
import type { PeriodSpec, SetContext, SetSpec } from '../../src/bitmap/sets.ts';
import { questionCost, setCost, setShapeCost } from '../../src/limits.ts';
import { TokenBuckets } from '../../src/plugins/rate-limit.ts';
import { rng, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): GqlResult;
}

/** A gateway on a real loopback HTTP server (so the client address and chunked bodies are real). */
async function listen(t: TestGateway): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(t.gateway.yoga);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * POSTs to /graphql: `body` as one string with a Content-Length, or `chunks` streamed without one
 * (Transfer-Encoding: chunked), `endless` chunks written until the server answers.
 */
function post(
  port: number,
  opts: { body?: string; chunks?: string[]; endless?: string; headers?: Record<string, string> },
): Promise<Reply & { sent: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...opts.headers,
    };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const agent = new http.Agent({ keepAlive: false });
    const req = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers, agent });
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as GqlResult, sent });
        agent.destroy();
      });
    });
    req.on('error', (e) => {
      // The server may close the connection while an endless body is still being written.
      if (!answered && !opts.endless) reject(e);
    });
    if (opts.body !== undefined) {
      req.end(opts.body);
      return;
    }
    for (const c of opts.chunks ?? []) {
      req.write(c);
      sent += c.length;
    }
    if (!opts.endless) {
      req.end();
      return;
    }
    const chunk = opts.endless;
    const pump = (): void => {
      // Bounded: 64 MiB at most, so a server that never answers fails the test instead of hanging it.
      while (!answered && !req.destroyed && sent < 64 << 20) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && sent >= 64 << 20) reject(new Error('the server read 64 MiB without answering'));
    };
    pump();
  });
}

const gql = (query: string, variables?: Record<string, unknown>): string => JSON.stringify({ query, variables });

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

const codes = (r: GqlResult): Array<string | undefined> => (r.errors ?? []).map((e) => e.extensions?.code);

describe('cost limit (MAX_COST)', () => {
  describe('the default limit', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await testGateway({ engine: 'redis', now: NOW });
      // Written straight to storage: this file is about queries.
      const { layout, tz } = t.gateway.services;
      const marks = Array.from({ length: 200 }, (_, i) => ({ name: 'active', userId: i, at: Date.parse(`2026-11-${String((i % 22) + 1).padStart(2, '0')}T10:00:00Z`), hourly: false, unique: false }));
      await t.engine.write(markWrites(layout, tz, marks, 1));
    });
    afterAll(() => t.close());

    it('is 50,000', () => expect(t.config.maxCost).toBe(50_000));

    it('admits a 30×30 cohort, a 90-day series with its average and a 50-count dashboard in one request', async () => {
      const counts = Array.from({ length: 50 }, (_, i) => `c${i}: count(set: { event: { name: "active", period: { ago: { granularity: DAY, periods: ${i} } } } })`);
      const r = await t.gql(`{
        cohort(cohort: { event: { name: "active" } }, activity: { event: { name: "active" } }, granularity: DAY, rows: 30, columns: 30) { rows { size } }
        series(set: { event: { name: "active" } }, granularity: DAY, last: 90, rollingAverage: 7) { count average }
        ${counts.join('\n')}
      }`);
      expect(r.errors).toBeUndefined();
      const data = r.data as { cohort: { rows: unknown[] }; series: unknown[]; c0: number };
      expect(data.cohort.rows).toHaveLength(30);
      expect(data.series).toHaveLength(90);
      expect(data.c0).toBeGreaterThan(0);
    });

    it('refuses 10 cohorts of 100×100 at once, with the cost and the limit, without running them', async () => {
      const cohorts = Array.from(
        { length: 10 },
        (_, i) =>
          `t${i}: cohort(cohort: { event: { name: "active" } }, activity: { event: { name: "active", shift: ${i} } }, granularity: DAY, rows: 100, columns: 100) { rows { size } }`,
      );
      const started = Date.now();
      const r = await t.gql(`{ ${cohorts.join('\n')} }`);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(r.data ?? null).toBeNull();
      // The fields are non-null: the first refusal nulls `data`, so graphql-js may report just that one.
      expect(r.errors!.length).toBeGreaterThanOrEqual(1);
      expect(new Set(codes(r))).toEqual(new Set(['TOO_COMPLEX']));
      for (const e of r.errors!) {
        expect(e.extensions?.limit).toBe(50_000);
        expect(e.extensions?.cost as number).toBeGreaterThan(50_000);
        expect(e.message).toMatch(/the request costs at least \d+ .*the limit is 50000/);
      }
    });

    it('a single 100×100 cohort is within it', async () => {
      const r = await t.gql(
        '{ cohort(cohort: { event: { name: "active" } }, activity: { event: { name: "active" } }, granularity: DAY, rows: 100, columns: 100) { rows { size } } }',
      );
      expect(r.errors).toBeUndefined();
    });
  });

  describe('costs, counted over the whole request', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await testGateway({ engine: 'redis', now: NOW, config: { maxCost: 100 } });
    });
    afterAll(() => t.close());

    const yearCounts = (n: number): string =>
      `{ ${Array.from({ length: n }, (_, i) => `y${i}: count(set: { event: { name: "e${i}", period: { current: YEAR } } })`).join(' ')} }`;

    it('a YEAR leaf costs 12 keys: 8 of them (96) pass, 9 (108) are refused with cost 108', async () => {
      expect((await t.gql(yearCounts(8))).errors).toBeUndefined();
      const r = await t.gql(yearCounts(9));
      expect(r.data ?? null).toBeNull();
      expect(new Set(codes(r))).toEqual(new Set(['TOO_COMPLEX']));
      expect(r.errors!.map((e) => e.extensions?.cost)).toContain(108);
      expect(r.errors![0]!.extensions?.limit).toBe(100);
    });

    it('a range costs its length; series points each count, and so do the periods before them an average reads', async () => {
      const range = (last: number): string => `{ count(set: { range: { name: "a", granularity: DAY, last: ${last} } }) }`;
      expect((await t.gql(range(100))).errors).toBeUndefined();
      expect((await t.gql(range(101))).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 101, limit: 100 });
      const series = (last: number): string => `{ series(set: { event: { name: "a" } }, granularity: DAY, last: ${last}, rollingAverage: 7) { count } }`;
      expect((await t.gql(series(94))).errors).toBeUndefined(); // 94 points + the 6 days before them
      expect((await t.gql(series(95))).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 101, limit: 100 });
      const counted = (last: number): string => `{ counterSeries(name: "hits", granularity: DAY, last: ${last}, rollingAverage: 7) { count } }`;
      expect((await t.gql(counted(94))).errors).toBeUndefined();
      expect((await t.gql(counted(95))).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 101, limit: 100 });
    });

    it('cohort cells count: a 7×7 cohort is 7 rows + 13 activity periods + 49 cells of 2 keys = 118', async () => {
      const r = await t.gql('{ cohort(cohort: { event: { name: "a" } }, activity: { event: { name: "b" } }, granularity: DAY, rows: 7) { rows { size } } }');
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 118, limit: 100 });
      const small = await t.gql('{ cohort(cohort: { event: { name: "a" } }, activity: { event: { name: "b" } }, granularity: DAY, rows: 6) { rows { size } } }');
      expect(small.errors).toBeUndefined(); // 6 + 11 + 72 = 89
    });

    it('a members page costs its keys plus its size by the hundred', async () => {
      const page = (first: number): string => `{ members(set: { event: { name: "a", period: { current: YEAR } } }, first: ${first}) { ids } }`;
      expect((await t.gql(page(8800))).errors).toBeUndefined(); // 12 + 88
      expect((await t.gql(page(8801))).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 101, limit: 100 });
    });

    it('counters cost the hashes they read', async () => {
      const cs = (last: number): string => `{ counterSeries(name: "hits", granularity: DAY, last: ${last}) { count } }`;
      expect((await t.gql(cs(100))).errors).toBeUndefined();
      expect((await t.gql(cs(101))).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 101, limit: 100 });
    });
  });

  describe('worked out from the request\'s shape, before any resolver runs', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await testGateway({ engine: 'redis', now: NOW, config: { maxCost: 100 } });
    });
    afterAll(() => t.close());

    const DAYS_30 = { range: { name: 'a', granularity: 'DAY', last: 30 } };

    it('each leaf counts as written: the same 60-day range twice is 120 (read once, it was 60)', async () => {
      const range = '{ range: { name: "a", granularity: DAY, last: 60 } }';
      expect((await t.gql(`{ count(set: { or: [${range}] }) }`)).errors).toBeUndefined();
      const r = await t.gql(`{ count(set: { or: [${range}, ${range}] }) }`);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 120, limit: 100 });
    });

    it('a YEAR series binds its event leaves to years: 12 month keys a point', async () => {
      const series = (last: number): string => `{ series(set: { event: { name: "a" } }, granularity: YEAR, last: ${last}) { count } }`;
      expect((await t.gql(series(8))).errors).toBeUndefined(); // 96
      expect((await t.gql(series(9))).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 108, limit: 100 });
    });

    it('funnel step k reads steps 1..k: four YEAR steps are 12 + 24 + 36 + 48 = 120', async () => {
      const steps = (n: number): string =>
        Array.from({ length: n }, (_, i) => `{ event: { name: "s${i}", period: { current: YEAR } } }`).join(', ');
      expect((await t.gql(`{ funnel(steps: [${steps(3)}]) { count } }`)).errors).toBeUndefined(); // 72
      expect((await t.gql(`{ funnel(steps: [${steps(4)}]) { count } }`)).errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 120 });
    });

    it('read through variables, fragments and inline fragments; @skip leaves a field out; a response key runs once', async () => {
      const query = `query($s: SetExpr!, $n: Int!, $skip: Boolean!) {
        ...F
        ... on Query { b: count(set: $s) }
        big: count(set: { range: { name: "x", granularity: DAY, last: 2000 } }) @skip(if: $skip)
        b: count(set: $s)
      }
      fragment F on Query { a: series(set: $s, granularity: DAY, last: $n) { count } }`;
      // a: 2 points × 30, b: 30 once (two selections, one execution).
      expect((await t.gql(query, { s: DAYS_30, n: 2, skip: true })).errors).toBeUndefined();
      const three = await t.gql(query, { s: DAYS_30, n: 3, skip: true });
      expect(three.data ?? null).toBeNull();
      expect(three.errors).toHaveLength(1);
      expect(three.errors![0]).toMatchObject({ path: ['b'], extensions: { code: 'TOO_COMPLEX', cost: 120, limit: 100 } });
      const big = await t.gql(query, { s: DAYS_30, n: 2, skip: false });
      expect(big.errors![0]).toMatchObject({ path: ['big'], extensions: { code: 'TOO_COMPLEX', cost: 2090 } });
    });

    it('a field its arguments make unpriceable is left to its resolver, which refuses it with its own error', async () => {
      const r = await t.gql('{ ok: count(set: { ids: [1] }) bad: count(set: { range: { name: "a", granularity: DAY, last: 0 } }) }');
      expect(r.errors?.[0]).toMatchObject({ path: ['bad'], extensions: { code: 'BAD_INPUT' } });
      const leaf = await t.gql('{ count(set: { range: { name: "a", granularity: DAY, last: 2001 } }) }');
      expect(leaf.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_COMPLEX', limit: 2000 });
      expect(leaf.errors?.[0]?.message).toContain('2001 periods');
    });

    it('mutations are not priced (MAX_BATCH bounds them)', async () => {
      const r = await t.gql('mutation { markEvent(input: { name: "a", userId: 1 }) { marked } }');
      expect(r).toEqual({ data: { markEvent: { marked: 1 } } });
    });
  });

  it('the shape cost of a set is never below what the exact meter charges for it (random sets)', () => {
    const random = rng(20261212);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
    const names = ['a', 'b', 'c'];
    const period = (): PeriodSpec => {
      const g = pick(GRANULARITIES);
      const kind = int(0, 2);
      if (kind === 0) return { current: g };
      if (kind === 1) return { ago: { granularity: g, periods: int(0, 3) } };
      return { at: { granularity: g, date: { utcMs: NOW - int(0, 400) * 86_400_000 } } };
    };
    const leaf = (bound: boolean): SetSpec => {
      switch (int(0, 4)) {
        case 0:
          return { event: { name: pick(names), period: bound && random() < 0.5 ? undefined : period(), shift: int(-2, 2) } };
        case 1:
          return { unique: pick(names) };
        case 2: {
          const granularity = pick<Granularity>(['HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR']);
          if (random() < 0.5) return { range: { name: pick(names), granularity, last: int(1, 40) } };
          const from = NOW - int(1, 60) * 86_400_000;
          return { range: { name: pick(names), granularity: granularity === 'HOUR' ? 'DAY' : granularity, from: { utcMs: from }, to: { utcMs: NOW } } };
        }
        default:
          return { ids: Array.from({ length: int(0, 250) }, () => int(0, 300)) };
      }
    };
    const set = (depth: number, bound: boolean): SetSpec => {
      if (depth === 0 || random() < 0.3) return leaf(bound);
      const operands = (): SetSpec[] => Array.from({ length: int(1, 4) }, () => set(depth - 1, bound));
      switch (int(0, 4)) {
        case 0:
          return { and: [...operands(), ...(random() < 0.3 ? [{ not: set(depth - 1, bound) }] : [])] };
        case 1:
          return { or: operands() };
        case 2:
          return { xor: operands() };
        default:
          return { minus: { from: set(depth - 1, bound), subtract: operands() } };
      }
    };
    const ctx: SetContext = { layout: bitmapistLayout('t_'), tz: new TimeZone('UTC'), now: NOW, limits: DEFAULT_SET_LIMITS };
    let compared = 0;
    let equal = 0;
    for (let i = 0; i < 1000; i++) {
      const g = i % 2 ? pick(GRANULARITIES) : undefined;
      const spec = set(3, g !== undefined);
      let exact: number;
      try {
        exact = setCost(resolveSet(spec, g ? { ...ctx, bound: periodAt(g, NOW, ctx.tz) } : ctx));
      } catch (e) {
        if (e instanceof BitmapError) continue; // e.g. a NOT with nothing positive: never charged
        throw e;
      }
      const shape = setShapeCost(spec, ctx, g);
      expect(shape, JSON.stringify(spec)).toBeGreaterThanOrEqual(exact);
      compared++;
      if (shape === exact) equal++;
    }
    expect(compared).toBeGreaterThan(900);
    expect(equal).toBeGreaterThan(100); // not a bound that holds by being huge
  });

  it('MAX_COST=0 turns it off', async () => {
    const t = await testGateway({ engine: 'redis', now: NOW, config: { maxCost: 0 } });
    try {
      const r = await t.gql('{ count(set: { range: { name: "a", granularity: DAY, last: 2000 } }) }');
      expect(r.errors).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('questionCost: keys, id literals and pages by the hundred', () => {
    const k = keyExpr('x');
    expect(questionCost({ kind: 'count', expr: k })).toBe(1);
    expect(questionCost({ kind: 'contains', expr: k, id: 3 })).toBe(1);
    expect(questionCost({ kind: 'members', expr: k, after: null, limit: 100 })).toBe(2);
    expect(questionCost({ kind: 'counter', keys: ['a', 'b', 'c'], field: null })).toBe(3);
    expect(questionCost({ kind: 'counterTop', keys: ['a'], top: 10 })).toBe(2);
  });
});

describe('request body limit (MAX_BODY_BYTES)', () => {
  let t: TestGateway;
  let server: Awaited<ReturnType<typeof listen>>;
  const LIMIT = 4096;
  const big = gql(`{ count(set: { ids: [${Array.from({ length: 2000 }, (_, i) => i).join(',')}] }) }`);
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', now: NOW, config: { maxBodyBytes: LIMIT } });
    server = await listen(t);
    expect(big.length).toBeGreaterThan(LIMIT);
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('refuses a Content-Length over the limit with 413 TOO_LARGE', async () => {
    const r = await post(server.port, { body: big });
    expect(r.status).toBe(413);
    expect(r.json().errors?.[0]?.extensions).toMatchObject({ code: 'TOO_LARGE', limit: LIMIT });
  });

  it('refuses a chunked body (no Content-Length) once it passes the limit', async () => {
    const chunks = big.match(/.{1,500}/gs)!;
    const r = await post(server.port, { chunks });
    expect(r.status).toBe(413);
    expect(r.json().errors?.[0]?.extensions).toMatchObject({ code: 'TOO_LARGE', limit: LIMIT });
  });

  it('stops reading an endless chunked body: answers 413 and closes the connection', async () => {
    const r = await post(server.port, { endless: `${' '.repeat(1023)}\n` });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(r.sent).toBeLessThan(32 << 20);
  });

  it('answers chunked and Content-Length bodies within the limit', async () => {
    const small = gql('{ count(set: { ids: [1, 2, 3] }) }');
    const chunked = await post(server.port, { chunks: small.match(/.{1,7}/gs)! });
    expect(chunked.status).toBe(200);
    expect(chunked.json().data).toEqual({ count: 3 });
    const whole = await post(server.port, { body: small });
    expect(whole.status).toBe(200);
    expect(whole.json().data).toEqual({ count: 3 });
  });
});

describe('rate limits (RATE_LIMIT_*)', () => {
  const QUERY = gql('{ count(set: { ids: [1] }) }');

  it('are off by default', async () => {
    const t = await testGateway({ engine: 'redis' });
    const server = await listen(t);
    try {
      expect(t.config.rateLimitPerSecond).toBe(0);
      const statuses = await Promise.all(Array.from({ length: 30 }, () => post(server.port, { body: QUERY }).then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await server.close();
      await t.close();
    }
  });

  describe('on', () => {
    let t: TestGateway;
    let server: Awaited<ReturnType<typeof listen>>;
    beforeAll(async () => {
      t = await testGateway({
        engine: 'redis',
        config: {
          // Slow refills (one token a second), so a loaded machine cannot refill a bucket between
          // the requests of a burst.
          rateLimitPerSecond: 1,
          rateLimitBurst: 3,
          rateLimitAnonPerSecond: 1,
          rateLimitAnonBurst: 2,
          apiKeys: ['key-one', 'key-two', 'key-three'].map((k) => ({ name: k, sha256: sha256(k), scopes: ['read' as const] })),
        },
      });
      server = await listen(t);
    });
    afterAll(async () => {
      await server.close();
      await t.close();
    });

    const send = (token?: string): Promise<Reply> =>
      post(server.port, { body: QUERY, headers: token ? { authorization: `Bearer ${token}` } : {} });

    it('a keyed caller: a burst, then 429 RATE_LIMITED with Retry-After, then a refill', async () => {
      for (let i = 0; i < 3; i++) expect((await send('key-one')).status).toBe(200);
      const refused = await send('key-one');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json().errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1, limit: 1 });
      // Another key has its own bucket.
      expect((await send('key-two')).status).toBe(200);
      // 1 per second: one token back within a second (wait a little longer).
      await new Promise((r) => setTimeout(r, 1100));
      const again = await send('key-one');
      expect(again.status).toBe(200);
      expect(again.json().data).toEqual({ count: 1 });
      expect((await send('key-one')).status).toBe(429);
    });

    it('anonymous callers are limited by client address, with their own limits', async () => {
      await new Promise((r) => setTimeout(r, 2100)); // let earlier buckets fill
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200);
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(refused.json().errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 1 });
      // A keyed caller from the same address is not affected.
      expect((await send('key-three')).status).toBe(200);
    });

    it('refuses before any work: a refused request is not parsed (a bad body still gets 429)', async () => {
      await new Promise((r) => setTimeout(r, 2100));
      await send();
      await send();
      const r = await post(server.port, { body: '{not json' });
      expect(r.status).toBe(429);
    });

    it('a token that is not an API key counts as anonymous (made-up tokens buy no fresh buckets)', async () => {
      await new Promise((r) => setTimeout(r, 2100));
      await send();
      await send();
      const r = await send('made-up-token');
      expect(r.status).toBe(429);
      expect(r.json().errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 1 });
    });

    it('leaves /health alone', async () => {
      const res = await fetch(`http://127.0.0.1:${server.port}/health`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
    });
  });

  it('TokenBuckets: refill by the clock, bounded memory', () => {
    const b = new TokenBuckets({ perSecond: 10, burst: 5 }, 100);
    for (let i = 0; i < 5; i++) expect(b.take('a', 0)).toBe(0);
    expect(b.take('a', 0)).toBe(1);
    expect(b.take('a', 100)).toBe(0); // one token after 100 ms
    expect(b.take('a', 100)).toBe(1);
    for (let i = 0; i < 1000; i++) b.take(`c${i}`, 200 + i);
    expect(b.size).toBeLessThanOrEqual(100);
  });
});
