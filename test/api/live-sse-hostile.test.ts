// Hostile traffic on /graphql/stream (GraphQL over SSE, single-connection mode) over a real HTTP
// server: a flood of reserved tokens whose streams never open, chosen tokens, operations for a
// stream that has closed, a huge body, a wrong content type, clients leaving mid-stream. Each gets
// a coded refusal or a clean one; the gateway still answers /health and a query, and no
// subscription is left once the clients have gone. And on /graphql's direct writer: clients that
// leave in the middle of a frame while marks keep coming.

import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RESERVATION_MS } from '../../src/plugins/live-sse.ts';
import { ENGINES, TEST_AUTH, serveOnHttp, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(options: Parameters<typeof testGateway>[0]): Promise<{ t: TestGateway; base: string }> {
  const t = await testGateway(options);
  cleanups.push(() => t.close());
  const served = await serveOnHttp(t.gateway);
  cleanups.push(() => served.close());
  return { t, base: served.base };
}

const STREAM = '/graphql/stream';
const TOKEN = 'x-graphql-event-stream-token';

interface Coded {
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}
const codeOf = async (res: Response): Promise<string | undefined> => ((await res.json()) as Coded).errors?.[0]?.extensions?.code;

async function stillUp(t: TestGateway, base: string): Promise<void> {
  expect((await fetch(`${base}/health`)).status).toBe(200);
  expect(await t.gql('{ count(set: { ids: [4, 5, 6] }) }')).toEqual({ data: { count: 3 } });
}

const put = (base: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${base}${STREAM}`, { method: 'PUT', headers: { ...TEST_AUTH, ...headers } });

/** Opens the stream of `token`; resolves once its response has started. */
async function openStream(base: string, token: string, signal: AbortSignal): Promise<Response> {
  const res = await fetch(`${base}${STREAM}`, { headers: { accept: 'text/event-stream', [TOKEN]: token, ...TEST_AUTH }, signal });
  expect(res.status).toBe(200);
  return res;
}

const operation = (base: string, token: string, id: string, query: string): Promise<Response> =>
  fetch(`${base}${STREAM}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN]: token, ...TEST_AUTH },
    body: JSON.stringify({ query, extensions: { operationId: id } }),
  });

async function until(test: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(ENGINES)('/graphql/stream against hostile clients (%s)', (engine) => {
  it('a flood of reservations that never open is capped at LIVE_MAX_TOTAL, and reservations lapse after RESERVATION_MS', async () => {
    const { t, base } = await open({ engine, config: { liveMaxTotal: 20 } });
    const answers = await Promise.all(Array.from({ length: 60 }, () => put(base)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);
    const tokens: string[] = [];
    for (const r of answers) {
      if (r.status === 201) tokens.push(await r.text());
      else expect(await codeOf(r)).toBe('TOO_MANY_SUBSCRIPTIONS');
    }
    expect(new Set(tokens).size).toBe(20);
    await stillUp(t, base);

    // A reserved token's stream opens and serves an operation; that frees its place.
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const stream = await openStream(base, tokens[0]!, ac.signal);
    expect((await operation(base, tokens[0]!, 'a', 'subscription { count(set: { ids: [1, 2] }) }')).status).toBe(202);
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('"count":2')) text += new TextDecoder().decode((await reader.read()).value);
    expect(t.gateway.services.live.size).toBe(1);
    expect((await put(base)).status).toBe(201);
    expect((await put(base)).status).toBe(429);

    // Once they lapse, tokens can be reserved again (only Date is faked: sockets and timers run).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + RESERVATION_MS + 1000 });
    for (let i = 0; i < 20; i++) expect((await put(base)).status).toBe(201);
    expect((await put(base)).status).toBe(429);
    vi.useRealTimers();
    // A lapsed token's stream no longer opens as that stream: no operation is taken for it.
    expect(await codeOf(await operation(base, tokens[1]!, 'b', 'subscription { count(set: { ids: [1] }) }'))).toBe('BAD_REQUEST');

    ac.abort();
    await until(() => t.gateway.services.live.size === 0, 'the subscription dropped once its stream is gone');
    await stillUp(t, base);
  });

  it('chosen tokens: too long is BAD_REQUEST, one already reserved or open is 409, and operations for a closed stream are BAD_REQUEST', async () => {
    const { t, base } = await open({ engine });
    const long = await put(base, { [TOKEN]: 'x'.repeat(129) });
    expect(long.status).toBe(400);
    expect(await codeOf(long)).toBe('BAD_REQUEST');
    const chosen = await put(base, { [TOKEN]: 'mine' });
    expect(chosen.status).toBe(201);
    expect(await chosen.text()).toBe('mine');
    expect((await put(base, { [TOKEN]: 'mine' })).status).toBe(409);

    const ac = new AbortController();
    const stream = await openStream(base, 'mine', ac.signal);
    expect((await put(base, { [TOKEN]: 'mine' })).status).toBe(409);
    // An operation id every answer would repeat, 100,000 characters long: refused.
    const longId = await operation(base, 'mine', 'x'.repeat(100_000), 'subscription { count(set: { ids: [1] }) }');
    expect([longId.status, await codeOf(longId)]).toEqual([400, 'BAD_REQUEST']);
    // Several operations on the one token, then the client leaves mid-stream.
    for (let i = 0; i < 5; i++) expect((await operation(base, 'mine', `op${i}`, `subscription { count(set: { ids: [${i}] }) }`)).status).toBe(202);
    const reader = stream.body!.getReader();
    await reader.read();
    await until(() => t.gateway.services.live.size === 5, 'five subscriptions on the stream');
    ac.abort();
    await until(() => t.gateway.services.live.size === 0, 'every subscription of the stream dropped');
    const late = await operation(base, 'mine', 'late', 'subscription { count(set: { ids: [9] }) }');
    expect(await codeOf(late)).toBe('BAD_REQUEST');
    expect(t.gateway.services.live.size).toBe(0);
    // Its token can be reserved again, and a second stream of it opens.
    expect((await put(base, { [TOKEN]: 'mine' })).status).toBe(201);
    const again = new AbortController();
    await openStream(base, 'mine', again.signal);
    again.abort();
    await stillUp(t, base);
  });

  it('a huge body and a wrong content type are refused with a code', async () => {
    const { t, base } = await open({ engine, config: { maxBodyBytes: 64 * 1024 } });
    const huge = await fetch(`${base}${STREAM}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
      body: JSON.stringify({ query: `subscription { count(set: { ids: [1] }) } # ${'x'.repeat(200_000)}` }),
    });
    expect(huge.status).toBe(413);
    expect(await codeOf(huge)).toBe('TOO_LARGE');
    // The form content types a page may post without a preflight: refused with a code.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await fetch(`${base}${STREAM}`, {
        method: 'POST',
        headers: { 'content-type': type, accept: 'text/event-stream', ...TEST_AUTH },
        body: JSON.stringify({ query: 'subscription { count(set: { ids: [1] }) }' }),
      });
      expect([type, res.status, await codeOf(res)]).toEqual([type, 403, 'CSRF_PREFLIGHT_REQUIRED']);
    }
    // Not JSON at all under a JSON type.
    const junk = await fetch(`${base}${STREAM}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH }, body: '{"query": ' });
    expect(junk.status).toBeGreaterThanOrEqual(400);
    expect(junk.status).toBeLessThan(500);
    await junk.body?.cancel();
    expect(t.gateway.services.live.size).toBe(0);
    await stillUp(t, base);
  });
});

describe.each(ENGINES)("the direct writer's clients leaving mid-frame (%s)", (engine) => {
  it('40 subscribers of a 2000-minute series (frames of ~100 kB) each cut off inside a frame while marks arrive: every subscription dropped, the gateway answers', async () => {
    const { t, base } = await open({ engine, now: Date.parse('2026-11-22T09:05:00Z'), config: { trackMinutely: true } });
    const query = 'subscription { series(set: { event: { name: "cut" } }, granularity: MINUTE, last: 2000) { count period { start end label } } }';
    const port = Number(new URL(base).port);
    let marks = 0;
    const mark = async (): Promise<void> => {
      const r = await t.gql(`mutation { markEvent(input: { name: "cut", userId: ${marks++}, at: "2026-11-22T09:0${marks % 5}:00Z" }) { marked } }`);
      expect(r.errors).toBeUndefined();
    };
    /** One subscriber: resolves with the bytes it had when it cut its connection, after `cut` bytes (inside the first or a later frame). */
    const subscriber = (cut: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH } },
          (res) => {
            let got = 0;
            res.on('data', (chunk: Buffer) => {
              got += chunk.length;
              if (got >= cut) {
                req.destroy();
                resolve(got);
              }
            });
            res.on('error', () => {});
            res.on('end', () => reject(new Error(`the stream ended after ${got} bytes`)));
          },
        );
        req.on('error', () => {});
        req.end(JSON.stringify({ query }));
      });
    const cuts = Array.from({ length: 40 }, (_, i) => 1000 + i * 7919);
    const clients = cuts.map((c) => subscriber(c));
    const marking = (async () => {
      for (let i = 0; i < 20; i++) {
        await mark();
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const got = await Promise.all(clients);
    await marking;
    for (const [i, g] of got.entries()) expect(g).toBeGreaterThanOrEqual(cuts[i]!);
    await until(() => t.gateway.services.live.size === 0, 'every subscription dropped once its client cut the connection');
    await stillUp(t, base);
    // And the question still answers live for a new subscriber: a mark moves its count.
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
      body: JSON.stringify({ query: 'subscription { count(set: { event: { name: "cut", period: { current: DAY } } }) }' }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(`"count":${marks}`)) text += new TextDecoder().decode((await reader.read()).value);
    await mark();
    while (!text.includes(`"count":${marks}`)) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    await until(() => t.gateway.services.live.size === 0, 'the last subscriber dropped');
  });
});
