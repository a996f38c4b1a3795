// GraphQL over SSE in single-connection mode at /graphql/stream (plugins/live-sse.ts): the graphql-sse client, and the limits, scopes, caps and cleanup of /graphql.
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-sse';
import type { Client, ExecutionResult } from 'graphql-sse';
import { afterEach, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import type { Gateway } from '../../src/gateway.ts';
import { serveProcess } from '../serve-process.ts';
import { ENGINES, TEST_AUTH, serveOnHttp, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(options: Parameters<typeof testGateway>[0]): Promise<{ t: TestGateway; base: string }> {
  const t = await testGateway(options);
  cleanups.push(() => t.close());
  return { t, base: await listen(t.gateway) };
}

/** The gateway on a Node HTTP server on a free loopback port; its base URL. */
async function listen(g: Gateway): Promise<string> {
  const served = await serveOnHttp(g);
  cleanups.push(() => served.close());
  return served.base;
}

/** `lazy: false`: the client keeps its stream open with no subscription left (the gateway has to end it). */
function client(base: string, headers: Record<string, string> = TEST_AUTH, lazy = true): Client<true> {
  // A copy: the client adds its stream's token to the object it is given.
  const c = createClient<true>({ url: `${base}/graphql/stream`, singleConnection: true, lazy, headers: { ...headers }, retryAttempts: 0 });
  cleanups.push(() => c.dispose());
  return c;
}

type Result = ExecutionResult<Record<string, unknown>, unknown>;

/** One subscription's results as they come, and whether it completed or failed. */
function follow(c: Client<true>, query: string): { results: Result[]; next(test: (r: Result) => boolean, ms?: number): Promise<Result>; done: Promise<unknown>; stop(): void } {
  const results: Result[] = [];
  let finish: (v: unknown) => void = () => {};
  const done = new Promise((r) => (finish = r));
  const stop = c.subscribe<Record<string, unknown>>({ query }, { next: (r) => void results.push(r), error: (e) => finish(e), complete: () => finish('complete') });
  return {
    results,
    done,
    stop,
    async next(test, ms = 5000) {
      const end = Date.now() + ms;
      for (;;) {
        const i = results.findIndex(test);
        if (i >= 0) return results.splice(0, i + 1).at(-1)!;
        if (Date.now() > end) throw new Error(`no matching result within ${ms} ms; got ${JSON.stringify(results)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

async function until(test: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const mark = async (t: TestGateway, userId: number, name = 'live'): Promise<void> => {
  const r = await t.gql(`mutation { markEvent(input: { name: "${name}", userId: ${userId} }) { marked } }`);
  expect(r.errors).toBeUndefined();
};

const COUNT_TODAY = 'subscription { count(set: { event: { name: "live", period: { current: DAY } } }) }';
const COUNTERS = 'subscription { counters(name: "plays", period: { current: DAY }) { key value } }';

describe.each(ENGINES)('single-connection mode (%s)', (kind) => {
  it('serve several subscriptions over one stream with graphql-sse, follow writes, and drop each one the client stops', async () => {
    const { t, base } = await open({ engine: kind });
    const users = new Set([2, 4]);
    for (const u of users) await mark(t, u);
    const c = client(base);
    const count = follow(c, COUNT_TODAY);
    const counters = follow(c, COUNTERS);
    expect((await count.next(() => true)).data).toEqual({ count: users.size });
    expect((await counters.next(() => true)).data).toEqual({ counters: [] });
    expect(t.gateway.services.live.size).toBe(2);
    for (const u of [4, 9, 16]) {
      users.add(u);
      await mark(t, u);
    }
    expect((await count.next((r) => r.data?.count === users.size)).data).toEqual({ count: users.size });
    const inc = await t.gql('mutation { incrementCounter(name: "plays", key: "a", by: 5) { incremented } }');
    expect(inc.errors).toBeUndefined();
    expect((await counters.next((r) => (r.data?.counters as unknown[]).length > 0)).data).toEqual({ counters: [{ key: 'a', value: 5 }] });
    counters.stop();
    await until(() => t.gateway.services.live.size === 1, 'the stopped subscription is dropped');
    users.add(25);
    await mark(t, 25);
    expect((await count.next((r) => r.data?.count === users.size)).errors).toBeUndefined();
    c.dispose();
    await until(() => t.gateway.services.live.size === 0, 'the closed stream drops the rest');
    expect(t.gateway.services.live.shared).toBe(0);
  });

  it('apply scopes, the cost limit, the caps and the input shape guard as /graphql does; a token with no open stream takes no operation', async () => {
    const writer = `bmq_writer_${randomBytes(8).toString('hex')}`;
    const { t, base } = await open({
      engine: kind,
      config: {
        anonymousRead: false,
        maxCost: 50,
        liveMaxPerKey: 2,
        apiKeys: [
          { name: 'all', sha256: hashKey(TEST_AUTH.authorization!.slice(7)), scopes: ['read', 'write'] },
          { name: 'writer', sha256: hashKey(writer), scopes: ['write'] },
        ],
      },
    });
    /** A refused subscription (each on a stream of its own, or on `c`): one result with the refusal, then complete. */
    const codeOf = async (query: string, headers: Record<string, string> = TEST_AUTH, c = client(base, headers)): Promise<unknown> => {
      const f = follow(c, query);
      expect(await f.done).toBe('complete');
      expect(f.results).toHaveLength(1);
      expect(f.results[0]!.data ?? null).toBeNull();
      return f.results[0]!.errors?.[0]?.extensions?.code;
    };
    expect(await codeOf(COUNT_TODAY, {})).toBe('UNAUTHENTICATED');
    expect(await codeOf(COUNT_TODAY, { authorization: `Bearer ${writer}` })).toBe('FORBIDDEN');
    expect(await codeOf('subscription { series(set: { event: { name: "live" } }, granularity: DAY, last: 51) { count } }')).toBe('TOO_COMPLEX');
    expect(await codeOf('subscription { count(set: { ids: [1] }')).toBe('GRAPHQL_PARSE_FAILED');
    expect(await codeOf('subscription { nope }')).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(t.gateway.services.live.size).toBe(0);
    const c = client(base);
    const a = follow(c, COUNT_TODAY);
    const b = follow(c, COUNTERS);
    await a.next(() => true);
    await b.next(() => true);
    expect(await codeOf('subscription { count(set: { ids: [1] }) }', TEST_AUTH, c)).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(t.gateway.services.live.size).toBe(2);

    // Raw requests: an over-deep document is refused before graphql-js parses it.
    let deep = '{ ids: [1] }';
    for (let i = 0; i < 400; i++) deep = `{ not: ${deep} }`;
    const refused = await fetch(`${base}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...TEST_AUTH },
      body: JSON.stringify({ query: `subscription { count(set: ${deep}) }` }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('TOO_COMPLEX');
    // A reserved token whose stream was never opened.
    const put = await fetch(`${base}/graphql/stream`, { method: 'PUT', headers: TEST_AUTH });
    expect(put.status).toBe(201);
    const token = await put.text();
    const orphan = await fetch(`${base}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': token, ...TEST_AUTH },
      body: JSON.stringify({ query: 'subscription { count(set: { ids: [3] }) }', extensions: { operationId: '1' } }),
    });
    expect(((await orphan.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(t.gateway.services.live.size).toBe(2);
    // Still up.
    expect((await t.gql('{ count(set: { ids: [4] }) }')).data).toEqual({ count: 1 });
  });

  it('on shutdown complete every operation, then end the stream itself', async () => {
    const { t, base } = await open({ engine: kind });
    const put = await fetch(`${base}/graphql/stream`, { method: 'PUT', headers: TEST_AUTH });
    const token = await put.text();
    const stream = await fetch(`${base}/graphql/stream`, { headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': token, ...TEST_AUTH } });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    for (const id of ['a', 'b']) {
      const op = await fetch(`${base}/graphql/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': token, ...TEST_AUTH },
        body: JSON.stringify({ query: `subscription { count(set: { ids: [1, 2, 3] }) }`, extensions: { operationId: id } }),
      });
      expect(op.status).toBe(202);
    }
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const read = async (test: () => boolean): Promise<boolean> => {
      while (!test()) {
        const { value, done } = await reader.read();
        if (done) return true;
        text += decoder.decode(value, { stream: true });
      }
      return false;
    };
    await read(() => (text.match(/"count":3/g) ?? []).length === 2);
    expect(t.gateway.services.live.size).toBe(2);
    t.gateway.services.live.close();
    // Both operations complete, then the server ends the response (no client action).
    const ended = await read(() => false);
    expect(ended).toBe(true);
    expect(text).toMatch(/event: complete\ndata: \{"id":"a"\}/);
    expect(text).toMatch(/event: complete\ndata: \{"id":"b"\}/);
    expect(t.gateway.services.live.size).toBe(0);
  });
});

describe('SIGTERM with a single-connection stream open', () => {
  it('completes its operations, ends the stream and exits without waiting out the grace time', async () => {
    const served = await serveProcess({ SHUTDOWN_TIMEOUT_MS: '60000' });
    cleanups.push(() => served.stop());
    const { child, port, key, exit } = served;
    const c = client(`http://127.0.0.1:${port}`, { authorization: `Bearer ${key}` }, false);
    const subs = [follow(c, 'subscription { count(set: { ids: [1, 2] }) }'), follow(c, 'subscription { count(set: { ids: [7] }) }')];
    expect((await subs[0]!.next(() => true)).data).toEqual({ count: 2 });
    expect((await subs[1]!.next(() => true)).data).toEqual({ count: 1 });
    // And a stream read by hand, which only the gateway can end (the client above may close its own).
    const base = `http://127.0.0.1:${port}/graphql/stream`;
    const auth = { authorization: `Bearer ${key}` };
    const token = await (await fetch(base, { method: 'PUT', headers: auth })).text();
    const stream = await fetch(base, { headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': token, ...auth } });
    const op = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': token, ...auth },
      body: JSON.stringify({ query: 'subscription { count(set: { ids: [3] }) }', extensions: { operationId: 'x' } }),
    });
    expect(op.status).toBe(202);
    const text = stream.text(); // resolves when the gateway ends the response
    const sent = Date.now();
    child.kill('SIGTERM');
    expect(await Promise.all(subs.map((s) => s.done))).toEqual(['complete', 'complete']);
    expect(await text).toMatch(/event: complete\ndata: \{"id":"x"\}/);
    expect(await exit).toBe(0);
    // Well inside the 60 s grace time an open stream would otherwise hold it for.
    expect(Date.now() - sent).toBeLessThan(15_000);
  }, 40_000);
});
