// Subscriptions over SSE (src/live.ts): first answer equals the query's, new answers on writes from any writer, coalescing, shared evaluations, time rebinding, caps, auth, cleanup and shutdown.
import { once } from 'node:events';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { serveProcess } from '../serve-process.ts';
import { ENGINES, TEST_AUTH, redisUrl, serveOnHttp, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(options: Parameters<typeof testGateway>[0]): Promise<TestGateway> {
  const t = await testGateway(options);
  cleanups.push(() => t.close());
  return t;
}

interface Stream {
  /** The next `next` event's payload (waits up to `ms`). */
  next(ms?: number): Promise<GqlResult<Record<string, unknown>>>;
  /** Payloads received and not yet taken by next(). */
  readonly queued: Array<GqlResult<Record<string, unknown>>>;
  /** Resolves when the server ends the stream (a `complete` event or the body's end). */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

/** Reads a GraphQL-over-SSE response body into events. */
function readEvents(body: ReadableStream<Uint8Array>): Stream {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const queued: Array<GqlResult<Record<string, unknown>>> = [];
  let wake = null as (() => void) | null; // set by next(), from another closure
  let endedNow: () => void = () => {};
  const ended = new Promise<void>((r) => (endedNow = r));
  let finished = false;
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (event === 'next') queued.push(JSON.parse(data) as GqlResult<Record<string, unknown>>);
          if (event === 'complete') finished = true;
          wake?.();
        }
        if (finished) break;
      }
    } catch {
      // cancelled
    }
    finished = true;
    endedNow();
    wake?.();
  })();
  return {
    queued,
    ended,
    async next(ms = 5000) {
      const until = Date.now() + ms;
      while (!queued.length) {
        if (finished) throw new Error('the stream ended');
        if (Date.now() > until) throw new Error(`no event within ${ms} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return queued.shift()!;
    },
    close: () => reader.cancel().catch(() => {}),
  };
}

/** A subscription through the gateway's fetch, as graphql-sse sends it (POST, Accept: text/event-stream). */
async function subscribe(g: Gateway, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = TEST_AUTH): Promise<Stream> {
  const res = await g.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const s = readEvents(res.body!);
  cleanups.push(() => s.close());
  return s;
}

/** The gateway on a Node HTTP server on a free loopback port (the path `bitmapql serve` takes); its /graphql URL. */
async function listenHttp(g: Gateway): Promise<string> {
  const served = await serveOnHttp(g);
  cleanups.push(() => served.close());
  return `${served.base}/graphql`;
}

/** A subscription over HTTP, as graphql-sse sends it. */
async function subscribeHttp(url: string, query: string, headers: Record<string, string> = TEST_AUTH): Promise<Stream> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query }),
  });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const s = readEvents(res.body!);
  cleanups.push(() => s.close());
  return s;
}

/** Waits until `test` holds (a bounded number of tries, not a timing assertion). */
async function until(test: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Takes events until one satisfies `test` (answers in between are skipped: coalescing may or may not merge them). */
async function nextMatching(s: Stream, test: (r: GqlResult<Record<string, unknown>>) => boolean, ms = 5000): Promise<GqlResult<Record<string, unknown>>> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await s.next(Math.max(1, end - Date.now()));
    if (test(r)) return r;
  }
}

const mark = async (t: TestGateway, userId: number, name = 'live'): Promise<void> => {
  const r = await t.gql(`mutation { markEvent(input: { name: "${name}", userId: ${userId} }) { marked } }`);
  expect(r.errors).toBeUndefined();
};

const COUNT_TODAY = 'subscription { count(set: { event: { name: "live", period: { current: DAY } } }) }';
const countOf = (r: GqlResult<Record<string, unknown>>): number => r.data!.count as number;

/** `engine` with its runs counted. */
function counting(engine: Engine): { engine: Engine; runs: () => number } {
  let runs = 0;
  const proxy = new Proxy(engine, {
    get: (target, prop) => {
      const v: unknown = Reflect.get(target, prop, target);
      if (prop === 'run') return (...a: Parameters<Engine['run']>) => (runs++, target.run(...a));
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { engine: proxy, runs: () => runs };
}

describe.each(ENGINES)('subscriptions (%s)', (kind) => {
  it('send the query’s answer first, then a new answer after a mark through the API', async () => {
    const t = await open({ engine: kind });
    const users = new Set([3, 8, 13]);
    for (const u of users) await mark(t, u);
    const query = await t.gql<{ count: number }>(COUNT_TODAY.replace('subscription', 'query'));
    const s = await subscribe(t.gateway, COUNT_TODAY);
    const first = await s.next();
    expect(first.errors).toBeUndefined();
    expect(countOf(first)).toBe(query.data!.count);
    expect(countOf(first)).toBe(users.size);
    users.add(21);
    await mark(t, 21);
    expect(countOf(await nextMatching(s, (r) => countOf(r) !== users.size - 1))).toBe(users.size);
    await mark(t, 3); // already in the set: the answer is the same, so nothing is sent
    users.add(34);
    await mark(t, 34);
    expect(countOf(await s.next())).toBe(users.size);
  });

  it('series, funnel and counters follow writes; GET with query parameters (EventSource) works too', async () => {
    const t = await open({ engine: kind });
    const series = await subscribe(t.gateway, 'subscription { series(set: { event: { name: "live" } }, granularity: DAY, last: 2) { count } }');
    expect((await series.next()).data).toEqual({ series: [{ count: 0 }, { count: 0 }] });
    const url = `http://yoga/graphql?query=${encodeURIComponent('subscription { counters(name: "plays", period: { current: DAY }) { key value } }')}`;
    const res = await t.gateway.yoga.fetch(url, { headers: { accept: 'text/event-stream', ...TEST_AUTH } });
    const counters = readEvents(res.body!);
    cleanups.push(() => counters.close());
    expect((await counters.next()).data).toEqual({ counters: [] });
    await mark(t, 7);
    expect((await nextMatching(series, (r) => JSON.stringify(r.data).includes('1'))).data).toEqual({ series: [{ count: 0 }, { count: 1 }] });
    const inc = await t.gql('mutation { incrementCounter(name: "plays", key: "song-1", by: 3) { incremented } }');
    expect(inc.errors).toBeUndefined();
    expect((await counters.next()).data).toEqual({ counters: [{ key: 'song-1', value: 3 }] });
  });

  it('coalesce quick writes into far fewer answers, the last one right', async () => {
    const t = await open({ engine: kind, config: { liveMinIntervalMs: 300 } });
    const s = await subscribe(t.gateway, COUNT_TODAY);
    expect(countOf(await s.next())).toBe(0);
    const n = 40;
    // Spread over at least 400 ms: each write on its own would be evaluated and sent.
    for (let i = 0; i < n; i++) {
      await mark(t, 1000 + i);
      await new Promise((r) => setTimeout(r, 10));
    }
    const seen: number[] = [];
    while (seen.at(-1) !== n) seen.push(countOf(await s.next()));
    await new Promise((r) => setTimeout(r, 700)); // nothing more should come
    seen.push(...s.queued.map(countOf));
    expect(seen.at(-1)).toBe(n);
    expect(seen.length).toBeLessThanOrEqual(8); // about one per 300 ms of writes, not one per write
  });

  it('share one evaluation between equal subscriptions: one engine run per change', async () => {
    const t = await open({ engine: kind });
    const { engine, runs } = counting(t.engine);
    const g = await createGateway(t.config, { engine });
    cleanups.push(() => g.close());
    const a = await subscribe(g, COUNT_TODAY);
    // The same question written another way: other spacing, an explicit null.
    const b = await subscribe(g, 'subscription Same { count(set: {event: {period: {current: DAY}, name: "live", shift: null}}) }');
    expect(countOf(await a.next())).toBe(0);
    expect(countOf(await b.next())).toBe(0);
    expect(g.services.live.size).toBe(2);
    expect(g.services.live.shared).toBe(1);
    await new Promise((r) => setTimeout(r, 300)); // the Redis feed's start re-evaluates once
    const before = runs();
    await mark(t, 5);
    expect(countOf(await a.next())).toBe(1);
    expect(countOf(await b.next())).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(runs() - before).toBe(1);
  });

  it('evaluate once for a write that changes several keys a question reads, so the next write is not held back by coalescing', async () => {
    const t = await open({ engine: kind });
    const { engine, runs } = counting(t.engine);
    const g = await createGateway(t.config, { engine });
    cleanups.push(() => g.close());
    // Reads the day's and the week's keys: one mark changes both, and they are told one at a time.
    const s = await subscribe(g, 'subscription { count(set: { and: [{ event: { name: "live", period: { current: DAY } } }, { event: { name: "live", period: { current: WEEK } } }] }) }');
    expect(countOf(await s.next())).toBe(0);
    await new Promise((r) => setTimeout(r, 300)); // the Redis feed's start re-evaluates once
    for (let n = 1; n <= 3; n++) {
      const before = runs();
      await mark(t, 100 + n);
      expect(countOf(await s.next())).toBe(n);
      await new Promise((r) => setTimeout(r, 250)); // past LIVE_MIN_INTERVAL_MS: a second evaluation would have run
      expect(runs() - before).toBe(1);
    }
  });

  it('execute each answer once per distinct document, variables and scopes, not once per subscriber; each gets its own shape', async () => {
    const reader = `bmq_reader_${randomBytes(8).toString('hex')}`;
    const t = await open({
      engine: kind,
      config: {
        apiKeys: [
          { name: 'all', sha256: hashKey(TEST_AUTH.authorization!.slice(7)), scopes: ['read', 'write'] },
          { name: 'reader', sha256: hashKey(reader), scopes: ['read'] },
        ],
      },
    });
    const g = await createGateway(t.config, { engine: t.engine });
    cleanups.push(() => g.close());
    // Every execution of a subscription's selection reads its answer's value once: count the reads per answer.
    const reads = new Map<object, number>();
    const live = g.services.live;
    const subscribeLive = live.subscribe.bind(live);
    live.subscribe = async (...args: Parameters<typeof live.subscribe>) => {
      const it = await subscribeLive(...args);
      const next = it.next.bind(it);
      it.next = async () => {
        const r = await next();
        const answer = r.value as { value: unknown } | undefined;
        if (!r.done && answer && !reads.has(answer)) {
          reads.set(answer, 0);
          const value = answer.value;
          Object.defineProperty(answer, 'value', {
            get: () => {
              reads.set(answer, reads.get(answer)! + 1);
              return value;
            },
          });
        }
        return r;
      };
      return it;
    };
    const SET = { event: { name: 'live', period: { current: 'DAY' } } };
    const BY_VARIABLE = 'subscription Live($s: SetExpr!) { count(set: $s) }';
    const plain = await Promise.all([1, 2, 3, 4, 5].map(() => subscribe(g, COUNT_TODAY)));
    const aliased = await Promise.all([1, 2].map(() => subscribe(g, 'subscription { n: count(set: { event: { name: "live", period: { current: DAY } } }) }')));
    const byVariable = await Promise.all([1, 2].map(() => subscribe(g, BY_VARIABLE, { s: SET })));
    // Same document and variables, other scopes: not handed the read-scoped result.
    const readOnly = await subscribe(g, BY_VARIABLE, { s: SET }, { authorization: `Bearer ${reader}` });
    const all = [...plain, ...aliased, ...byVariable, readOnly];
    for (const s of all) await s.next();
    expect(live.shared).toBe(1);
    await new Promise((r) => setTimeout(r, 300)); // the Redis feed's start re-evaluates once
    for (const s of all) s.queued.splice(0);
    const users = new Set<number>();
    for (const u of [11, 12, 11]) {
      users.add(u);
      await mark(t, u);
    }
    for (const s of plain) await nextMatching(s, (r) => r.data?.count === users.size);
    for (const s of byVariable) await nextMatching(s, (r) => r.data?.count === users.size);
    await nextMatching(readOnly, (r) => r.data?.count === users.size);
    for (const s of aliased) {
      const r = await nextMatching(s, (x) => x.data?.n === users.size);
      expect(Object.keys(r.data!)).toEqual(['n']);
    }
    // The answer of two users: made once for each of the four distinct (document, variables, scopes), not ten times.
    // (The counts are taken before the filter's own reads.)
    const executions = [...reads.entries()].filter(([a]) => (a as { value: unknown }).value === users.size).map(([, n]) => n);
    expect(executions).toEqual([4]); // once per distinct subscription; each subscriber on its own would be 10
    await Promise.all(all.map((s) => s.close()));
    await until(() => live.size === 0, 'every subscriber left');
    const after = await t.gql<{ count: number }>('query { count(set: { event: { name: "live", period: { current: DAY } } }) }');
    expect(after.data?.count).toBe(users.size);
  });

  it('move on when the day ends: a question over the current day re-binds and sends; one over a fixed day does not', async () => {
    const t = await open({ engine: kind });
    const dayMs = 86_400_000;
    const nextMidnight = Math.ceil(Date.now() / dayMs) * dayMs;
    const offset = nextMidnight - 1500 - Date.now(); // the clock shows 1.5 s before midnight UTC
    const clock = (): number => Date.now() + offset;
    const g = await createGateway(t.config, { engine: t.engine, now: clock });
    cleanups.push(() => g.close());
    const r = await g.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...TEST_AUTH },
      body: JSON.stringify({ query: 'mutation { markEvent(input: { name: "live", userId: 9 }) { marked } }' }),
    });
    expect(((await r.json()) as GqlResult).errors).toBeUndefined();
    const today = await subscribe(g, COUNT_TODAY);
    const day = new Date(nextMidnight - dayMs).toISOString().slice(0, 10);
    const fixed = await subscribe(g, `subscription { count(set: { event: { name: "live", period: { at: { granularity: DAY, date: "${day}" } } } }) }`);
    const last2 = await subscribe(g, 'subscription { series(set: { event: { name: "live" } }, granularity: DAY, last: 2) { count period { label } } }');
    expect(countOf(await today.next())).toBe(1);
    expect(countOf(await fixed.next())).toBe(1);
    const before = (await last2.next()).data!.series as Array<{ count: number; period: { label: string } }>;
    expect(before.map((p) => p.count)).toEqual([0, 1]);
    expect(before[1]!.period.label).toBe(day);
    // After midnight: a new day with nobody in it.
    expect(countOf(await today.next(6000))).toBe(0);
    const after = (await last2.next(6000)).data!.series as Array<{ count: number; period: { label: string } }>;
    expect(after.map((p) => p.count)).toEqual([1, 0]);
    expect(after[0]!.period.label).toBe(day);
    await new Promise((r) => setTimeout(r, 300));
    expect(fixed.queued).toEqual([]);
  });

  it('cap subscriptions per key and in total with TOO_MANY_SUBSCRIPTIONS, and free a place when a client leaves', async () => {
    const other = `bmq_other_${randomBytes(8).toString('hex')}`;
    const t = await open({
      engine: kind,
      config: {
        liveMaxPerKey: 2,
        liveMaxTotal: 3,
        apiKeys: [
          { name: 'a', sha256: hashKey(TEST_AUTH.authorization!.slice(7)), scopes: ['read', 'write'] },
          { name: 'b', sha256: hashKey(other), scopes: ['read'] },
        ],
      },
    });
    const b = { authorization: `Bearer ${other}` };
    const s1 = await subscribe(t.gateway, COUNT_TODAY);
    const s2 = await subscribe(t.gateway, 'subscription { count(set: { ids: [1, 2] }) }');
    expect(countOf(await s1.next())).toBe(0);
    expect(countOf(await s2.next())).toBe(2);
    const refused = await (await subscribe(t.gateway, COUNT_TODAY)).next();
    expect(refused.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(refused.errors?.[0]?.message).toMatch(/LIVE_MAX_PER_KEY/);
    const s3 = await subscribe(t.gateway, COUNT_TODAY, undefined, b);
    expect(countOf(await s3.next())).toBe(0);
    const total = await (await subscribe(t.gateway, COUNT_TODAY, undefined, b)).next();
    expect(total.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(total.errors?.[0]?.message).toMatch(/LIVE_MAX_TOTAL/);
    // Clients that leave are cleaned up: their places are free again, shared evaluations gone.
    await s1.close();
    await s2.close();
    await s3.close();
    await until(() => t.gateway.services.live.size === 0, 'every subscription cleaned up');
    expect(t.gateway.services.live.shared).toBe(0);
    const again = await subscribe(t.gateway, COUNT_TODAY);
    expect(countOf(await again.next())).toBe(0);
    // The gateway still answers.
    expect((await t.gql('{ count(set: { ids: [4] }) }')).data).toEqual({ count: 1 });
  });

  it('over a Node HTTP server (frames written straight to each response): answers in order, a client that leaves dropped, close completes the rest', async () => {
    const t = await open({ engine: kind });
    const url = await listenHttp(t.gateway);
    const users = new Set<number>();
    const subs: Stream[] = [];
    // Two with one document (one shared frame), one with another shape of the same question, one by GET.
    for (const q of [COUNT_TODAY, COUNT_TODAY, COUNT_TODAY.replace('count(', 'count: count(')]) subs.push(await subscribeHttp(url, q));
    const get = await fetch(`${url}?query=${encodeURIComponent(COUNT_TODAY)}`, { headers: { accept: 'text/event-stream', ...TEST_AUTH } });
    expect(get.headers.get('content-type')).toMatch(/text\/event-stream/);
    subs.push(readEvents(get.body!));
    cleanups.push(() => subs[3]!.close());
    for (const s of subs) expect(countOf(await s.next())).toBe(0);
    expect(t.gateway.services.live.size).toBe(4);
    const seen: number[][] = subs.map(() => []);
    for (const u of [5, 9, 5, 12, 40]) {
      const before = users.size;
      users.add(u);
      await mark(t, u);
      if (users.size === before) continue; // the same answer: nothing is sent
      for (const [i, s] of subs.entries()) {
        const r = await nextMatching(s, (x) => (seen[i]!.push(countOf(x)), countOf(x) === users.size));
        expect(r.errors).toBeUndefined();
      }
    }
    // Never an older answer after a newer one, never the same answer twice.
    for (const counts of seen) for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThan(counts[i - 1]!);
    await subs[1]!.close();
    await until(() => t.gateway.services.live.size === 3, 'the client that left is dropped');
    users.add(77);
    await mark(t, 77);
    for (const s of [subs[0]!, subs[2]!, subs[3]!]) expect(countOf(await nextMatching(s, (x) => countOf(x) === users.size))).toBe(users.size);
    t.gateway.services.live.close();
    await Promise.all([subs[0]!.ended, subs[2]!.ended, subs[3]!.ended]);
    expect(t.gateway.services.live.size).toBe(0);
    // The server still answers.
    const after = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...TEST_AUTH }, body: JSON.stringify({ query: '{ count(set: { ids: [4] }) }' }) });
    expect(await after.json()).toEqual({ data: { count: 1 } });
  });

  it('over a Node HTTP server, a subscriber that stops reading holds back only the newest answer, and gets it when it reads again', async () => {
    const t = await open({ engine: kind, config: { liveMinIntervalMs: 0, maxCost: 0 } });
    const url = new URL(await listenHttp(t.gateway));
    // About 180 kB an answer: 200 of them are far more than the socket buffers hold.
    const query = 'subscription { series(set: { event: { name: "live" } }, granularity: DAY, last: 2000) { period { label start end } count } }';
    const socket = connect(Number(url.port), url.hostname);
    cleanups.push(() => void socket.destroy());
    await once(socket, 'connect');
    socket.write(`GET /graphql?query=${encodeURIComponent(query)} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\nAuthorization: ${TEST_AUTH.authorization}\r\n\r\n`);
    socket.pause(); // read nothing
    await until(() => t.gateway.services.live.size === 1, 'subscribed');
    const marks = 200;
    for (let i = 0; i < marks; i++) await mark(t, 1000 + i);
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.resume();
    const lastCount = (): number | undefined => {
      const text = Buffer.concat(received).toString();
      const at = text.lastIndexOf('"count":');
      return at < 0 ? undefined : Number(/^"count":(\d+)/.exec(text.slice(at))![1]);
    };
    await until(() => lastCount() === marks, 'the newest answer arrives', 30_000);
    const events = Buffer.concat(received).toString().split('event: next\n').slice(1);
    // Every answer whole and in order; fewer than one per mark: those not read in time were skipped, not queued.
    const todays = events.map((e) => {
      const points = (JSON.parse(e.slice(e.indexOf('data: ') + 6, e.indexOf('\n\n'))) as { data: { series: Array<{ count: number }> } }).data.series;
      expect(points).toHaveLength(2000);
      return points.at(-1)!.count;
    });
    for (let i = 1; i < todays.length; i++) expect(todays[i]!).toBeGreaterThan(todays[i - 1]!);
    expect(todays.at(-1)).toBe(marks);
    expect(todays.length).toBeLessThan(marks);
    socket.destroy();
    await until(() => t.gateway.services.live.size === 0, 'the client that left is dropped');
  }, 60_000);

  it('breakdowns follow writes, and a new event under the prefix joins them; counterBreakdown follows its counter', async () => {
    const t = await open({ engine: kind });
    const users = new Map<string, Set<number>>(); // the reference: today's users of each event under bd:
    const markIn = async (value: string, id: number): Promise<void> => {
      await mark(t, id, `bd:${value}`);
      if (!users.has(value)) users.set(value, new Set());
      users.get(value)!.add(id);
    };
    await markIn('a', 1);
    await markIn('a', 2);
    await markIn('b', 3);
    await mark(t, 50, 'bdx'); // not under the prefix
    const byCount = (): Array<{ value: string; count: number }> =>
      [...users].map(([value, s]) => ({ value, count: s.size })).sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : 1));
    const COUNT = 'subscription { countBreakdown(prefix: "bd:", period: { current: DAY }) { value count } }';
    const SERIES = 'subscription { seriesBreakdown(prefix: "bd:", granularity: DAY, last: 2) { value total points { count } } }';
    const counts = await subscribe(t.gateway, COUNT);
    const series = await subscribe(t.gateway, SERIES);
    const first = await counts.next();
    expect(first.data).toEqual((await t.gql(COUNT.replace('subscription', 'query'))).data);
    expect(first.data).toEqual({ countBreakdown: byCount() });
    const seriesOf = () => byCount().map(({ value, count }) => ({ value, total: count, points: [{ count: 0 }, { count }] }));
    expect((await series.next()).data).toEqual({ seriesBreakdown: seriesOf() });
    const same = (want: unknown) => (r: GqlResult<Record<string, unknown>>) => JSON.stringify(r.data) === JSON.stringify(want);
    // A known value's count moves.
    await markIn('b', 4);
    await markIn('b', 5);
    expect((await nextMatching(counts, same({ countBreakdown: byCount() }))).data).toEqual({ countBreakdown: byCount() });
    expect((await nextMatching(series, same({ seriesBreakdown: seriesOf() }))).data).toEqual({ seriesBreakdown: seriesOf() });
    // A new event under the prefix: none of its keys was read, its name was not listed.
    await markIn('c', 9);
    expect(byCount().map((v) => v.value)).toEqual(['b', 'a', 'c']);
    expect((await nextMatching(counts, same({ countBreakdown: byCount() }))).data).toEqual({ countBreakdown: byCount() });
    expect((await nextMatching(series, same({ seriesBreakdown: seriesOf() }))).data).toEqual({ seriesBreakdown: seriesOf() });

    const TOP = 'subscription { counterBreakdown(name: "plays", top: 1, granularity: DAY, last: 1) { key other total } }';
    const top = await subscribe(t.gateway, TOP);
    expect((await top.next()).data).toEqual({ counterBreakdown: [{ key: null, other: true, total: 0 }] });
    const inc = async (key: string, by: number): Promise<void> => {
      const r = await t.gql(`mutation { incrementCounter(name: "plays", key: "${key}", by: ${by}) { incremented } }`);
      expect(r.errors).toBeUndefined();
    };
    await inc('x', 2);
    await inc('y', 5);
    const want = { counterBreakdown: [{ key: 'y', other: false, total: 5 }, { key: null, other: true, total: 2 }] };
    expect((await nextMatching(top, same(want))).data).toEqual(want);
    await inc('x', 4); // x overtakes y: the top key changes
    const after = { counterBreakdown: [{ key: 'x', other: false, total: 6 }, { key: null, other: true, total: 5 }] };
    expect((await nextMatching(top, same(after))).data).toEqual(after);
  });

  it('honour scopes and the cost limit at subscribe time; refuse a subscription not sent as a stream', async () => {
    const writer = `bmq_writer_${randomBytes(8).toString('hex')}`;
    const t = await open({
      engine: kind,
      config: {
        anonymousRead: false,
        maxCost: 50,
        apiKeys: [
          { name: 'all', sha256: hashKey(TEST_AUTH.authorization!.slice(7)), scopes: ['read', 'write'] },
          { name: 'writer', sha256: hashKey(writer), scopes: ['write'] },
        ],
      },
    });
    const anon = await (await subscribe(t.gateway, COUNT_TODAY, undefined, {})).next();
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forbidden = await (await subscribe(t.gateway, COUNT_TODAY, undefined, { authorization: `Bearer ${writer}` })).next();
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const costly = await (await subscribe(t.gateway, 'subscription { series(set: { event: { name: "live" } }, granularity: DAY, last: 51) { count } }')).next();
    expect(costly.errors?.[0]?.extensions?.code).toBe('TOO_COMPLEX');
    const plain = await t.gql(COUNT_TODAY);
    expect(plain.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(t.gateway.services.live.size).toBe(0);
    const ok = await subscribe(t.gateway, COUNT_TODAY);
    expect(countOf(await ok.next())).toBe(0);
  });
});

describe('subscriptions (redis): writes straight into Redis by another writer', () => {
  it('a bitmapist-style SETBIT and a counter HINCRBY from a raw client send new answers', async () => {
    const t = await open({ engine: 'redis' });
    const s = await subscribe(t.gateway, COUNT_TODAY);
    const plays = await subscribe(t.gateway, 'subscription { counterSeries(name: "plays", granularity: DAY, last: 1) { count } }');
    expect(countOf(await s.next())).toBe(0);
    expect((await plays.next()).data).toEqual({ counterSeries: [{ count: 0 }] });
    const raw = new Redis(redisUrl());
    cleanups.push(() => void raw.disconnect());
    const d = new Date();
    const suffix = `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
    await raw.setbit(`${t.prefix}live_${suffix}`, 77, 1);
    expect(countOf(await s.next())).toBe(1);
    await raw.setbit(`${t.prefix}live_${suffix}`, 78, 1);
    expect(countOf(await s.next())).toBe(2);
    await raw.hincrby(`${t.gateway.services.layout.counterPrefix}plays:${suffix}`, 'song', 4);
    expect((await plays.next()).data).toEqual({ counterSeries: [{ count: 4 }] });
  });
});

describe('SIGTERM', () => {
  it('ends every stream cleanly and exits without waiting out the grace time', async () => {
    const served = await serveProcess({ SHUTDOWN_TIMEOUT_MS: '60000' });
    cleanups.push(() => served.stop());
    const { child, port, key, exit } = served;
    const streams: Stream[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: `subscription { count(set: { ids: [${i}, 100] }) }` }),
      });
      const s = readEvents(res.body!);
      cleanups.push(() => s.close());
      expect(countOf(await s.next())).toBe(2);
      streams.push(s);
    }
    const sent = Date.now();
    child.kill('SIGTERM');
    await Promise.all(streams.map((s) => s.ended));
    expect(await exit).toBe(0);
    // Well inside the 60 s grace time the open streams would otherwise hold it for.
    expect(Date.now() - sent).toBeLessThan(15_000);
  }, 40_000);
});
