// Hostile and malformed input through GraphQL on both engines: names that are not valid Unicode,
// periods past the calendar, impossible UTC offsets, scalar messages in words, and storage
// failures told in plain words. Each refused request writes nothing and the gateway answers on.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import type { RedisMode } from '../../src/bitmap/engines/redis.ts';
import { loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import { freePort } from '../global-setup.ts';
import { ENGINES, TEST_AUTH, TEST_KEY, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const DAY = '{ current: DAY }';
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';
const INCREMENTS = 'mutation($in: [CounterIncrementInput!]!) { incrementCounters(input: $in) { incremented } }';

type GqlError = NonNullable<GqlResult['errors']>[number];

function expectCode(r: GqlResult, code: string, ...messageParts: Array<string | RegExp>): GqlError {
  expect(r.errors, JSON.stringify(r)).toHaveLength(1);
  const e = r.errors![0]!;
  expect(e.extensions?.code, JSON.stringify(e)).toBe(code);
  for (const part of messageParts) {
    if (typeof part === 'string') expect(e.message).toContain(part);
    else expect(e.message).toMatch(part);
  }
  return e;
}

function ok<T>(r: GqlResult<T>): T {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!;
}

/** Lone halves of a surrogate pair: Redis stores each as U+FFFD, the embedded engine keeps them. */
const LONE = ['s\ud800x', 's\udfffx', '\udc00', 'a\ud83d'];

describe.each(ENGINES)('input hardening (%s engine)', (engine) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW, config: { idMapping: true } });
  });
  afterAll(async () => {
    await t.close();
  });

  const stillAnswers = async (): Promise<void> => {
    expect(ok(await t.gql('{ period(granularity: DAY) { label } }'))).toEqual({ period: { label: '2026-11-22' } });
  };

  describe('names, counter keys and external ids must be valid Unicode', () => {
    it.each(LONE)('an event name with a lone surrogate (%j) is BAD_EVENT_NAME wherever a name goes, and nothing is written', async (name) => {
      const bad = (r: GqlResult): GqlError => expectCode(r, 'BAD_EVENT_NAME', 'surrogate');
      bad(await t.gql(MARKS, { in: [{ name: 'fine', userId: 1 }, { name, userId: 2 }] }));
      bad(await t.gql('mutation($n: String!) { markUnique(name: $n, userId: 1) { marked } }', { n: name }));
      bad(await t.gql(`query($n: String!) { count(set: { event: { name: $n, period: ${DAY} } }) }`, { n: name }));
      bad(await t.gql('query($n: String!) { count(set: { unique: $n }) }', { n: name }));
      bad(await t.gql('query($n: String!) { count(set: { range: { name: $n, granularity: DAY, last: 2 } }) }', { n: name }));
      bad(await t.gql('query($n: String!) { events(prefix: $n) { name } }', { n: name }));
      bad(await t.gql(INCREMENTS, { in: [{ name, key: 'k' }] }));
      bad(await t.gql(`query($n: String!) { counters(name: $n, period: ${DAY}) { key } }`, { n: name }));
      bad(await t.gql('query($n: String!) { counterNames(prefix: $n) }', { n: name }));
      expect(await t.keys()).toEqual([]); // the batch's good item was not written either
      await stillAnswers();
    });

    it('U+FFFD itself is a character like any other, and the engines agree on it', async () => {
      const name = 's\ufffdx';
      for (const lone of ['s\ud800x', 's\udfffx']) {
        expectCode(await t.gql(MARKS, { in: [{ name: lone, userId: 1 }] }), 'BAD_EVENT_NAME');
      }
      expect(ok(await t.gql(MARKS, { in: [{ name, userId: 3 }, { name, userId: 4 }] }))).toEqual({ markEvents: { marked: 2 } });
      const count = await t.gql<{ count: number }>(`query($n: String!) { count(set: { event: { name: $n, period: ${DAY} } }) }`, { n: name });
      expect(ok(count).count).toBe(new Set([3, 4]).size);
      expect(ok(await t.gql('{ events { name } }'))).toEqual({ events: [{ name }] });
    });

    it.each(LONE)('a counter key with a lone surrogate (%j) is BAD_EVENT_NAME, to write or to read', async (key) => {
      expectCode(await t.gql(INCREMENTS, { in: [{ name: 'plays', key: 'fine' }, { name: 'plays', key }] }), 'BAD_EVENT_NAME', 'surrogate', 'input[1]');
      expectCode(await t.gql('mutation($k: String!) { incrementCounter(name: "plays", key: $k) { incremented } }', { k: key }), 'BAD_EVENT_NAME', 'surrogate');
      expectCode(
        await t.gql('query($k: String) { counterSeries(name: "plays", key: $k, granularity: DAY, last: 2) { count } }', { k: key }),
        'BAD_EVENT_NAME',
        'surrogate',
      );
      expect((await t.keys()).filter((k) => k.includes('plays'))).toEqual([]);
      await stillAnswers();
    });

    it.each(LONE)('an external id with a lone surrogate (%j) is BAD_EVENT_NAME, and no id is assigned for it', async (externalId) => {
      expectCode(await t.gql(MARKS, { in: [{ name: 'ext', externalId: 'fine' }, { name: 'ext', externalId }] }), 'BAD_EVENT_NAME', 'surrogate', 'input[1]');
      expectCode(await t.gql('mutation($x: String!) { markUnique(name: "ext", externalId: $x) { marked } }', { x: externalId }), 'BAD_EVENT_NAME', 'surrogate');
      expectCode(
        await t.gql(`query($x: String!) { contains(set: { event: { name: "ext", period: ${DAY} } }, externalId: $x) }`, { x: externalId }),
        'BAD_EVENT_NAME',
        'surrogate',
      );
      expect((await t.keys()).filter((k) => k.includes('ext'))).toEqual([]);
      const pairs: Array<[string, number]> = [];
      for await (const batch of t.engine.idPairs()) pairs.push(...batch);
      expect(pairs).toEqual([]);
      await stillAnswers();
    });
  });

  describe('periods stay within the years 0000 to 9999', () => {
    it('the week holding 0000-01-01 prints its start with the sign of year -1', async () => {
      const r = await t.gql('{ period(granularity: WEEK, at: "0000-01-01") { start end label key } }');
      // 0000-01-01 was a Saturday: Date agrees on where its ISO week starts and prints it so.
      const saturday = Date.parse('0000-01-01T00:00:00Z');
      const monday = saturday - ((new Date(saturday).getUTCDay() + 6) % 7) * 86_400_000;
      expect(ok(r)).toEqual({
        period: {
          start: new Date(monday).toISOString().replace('.000', ''),
          end: new Date(monday + 7 * 86_400_000).toISOString().replace('.000', ''),
          label: '-000001-W52',
          key: 'W-1-52',
        },
      });
      expect(ok(r).period).toMatchObject({ start: '-000001-12-27T00:00:00Z' });
    });

    it.each([
      ['shift(by: 2000000000)', '{ period(granularity: DAY, at: "2026-11-22") { shift(by: 2000000000) { start label } } }'],
      ['shift(by: -2147483648)', '{ period(granularity: HOUR, at: "2026-11-22") { shift(by: -2147483648) { end } } }'],
      ['previous of year 0', '{ period(granularity: YEAR, at: "0000-06-01") { previous { label } } }'],
      ['next of year 9999', '{ period(granularity: YEAR, at: "9999-06-01") { next { start } } }'],
      ['a MONTH shift past 9999', '{ period(granularity: MONTH, at: "9999-12-01") { shift(by: 1) { label } } }'],
    ])('%s is BAD_INPUT naming the range, not NaN', async (_, query) => {
      const r = await t.gql(query);
      const e = expectCode(r, 'BAD_INPUT', /out of range/, '0000 to 9999');
      expect(e.message).not.toMatch(/NaN/);
      expect(JSON.stringify(r)).not.toMatch(/NaN/);
      await stillAnswers();
    });

    it('the last periods still have an end: YEAR 9999 ends at +010000-01-01', async () => {
      expect(ok(await t.gql('{ period(granularity: YEAR, at: "9999-06-01") { end label previous { label } } }'))).toEqual({
        period: { end: '+010000-01-01T00:00:00Z', label: '9999', previous: { label: '9998' } },
      });
    });

    it.each([
      ['ago', `{ count(set: { event: { name: "seen", period: { ago: { granularity: DAY, periods: 2000000000 } } } }) }`],
      ['event shift', `{ count(set: { event: { name: "seen", period: ${DAY}, shift: -2000000000 } }) }`],
      ['a YEAR event shift', '{ count(set: { event: { name: "seen", period: { current: YEAR }, shift: 8000 } }) }'],
      ['counters ago', '{ counters(name: "plays", period: { ago: { granularity: MONTH, periods: 2000000000 } }) { key } }'],
    ])('a period out of range in a query (%s) is BAD_INPUT before storage is asked', async (_, query) => {
      expectCode(await t.gql(query), 'BAD_INPUT', /out of range/);
      await stillAnswers();
    });

    it('a range reaching before 0000-01-01 is BAD_INPUT; a huge one is still TOO_COMPLEX (the limit is the news)', async () => {
      expectCode(await t.gql('{ count(set: { range: { name: "seen", granularity: DAY, last: 3, to: "0000-01-02" } }) }'), 'BAD_INPUT', /out of range/);
      expectCode(await t.gql('{ series(set: { event: { name: "seen" } }, granularity: DAY, last: 3, to: "0000-01-02") { count } }'), 'BAD_INPUT', /out of range/);
      expectCode(await t.gql('{ count(set: { range: { name: "seen", granularity: DAY, last: 2000000000 } }) }'), 'TOO_COMPLEX');
      expectCode(await t.gql('{ series(set: { event: { name: "seen" } }, granularity: HOUR, last: 2000000000) { count } }'), 'TOO_COMPLEX');
      expectCode(
        await t.gql('{ cohort(cohort: { event: { name: "seen" } }, activity: { event: { name: "seen" } }, granularity: DAY, rows: 2000000000, columns: 1) { rows { size } } }'),
        'TOO_COMPLEX',
      );
      expectCode(
        await t.gql('{ cohort(cohort: { event: { name: "seen" } }, activity: { event: { name: "seen" } }, granularity: DAY, rows: 3, to: "0000-01-02") { rows { size } } }'),
        'BAD_INPUT',
        /out of range/,
      );
      await stillAnswers();
    });
  });

  describe('UTC offsets', () => {
    it.each(['+99:99', '+24:00', '-23:60', '+0575'])('%s is BAD_DATETIME, in a query and in a mark (nothing written)', async (offset) => {
      expectCode(await t.gql(`{ period(granularity: DAY, at: "2026-11-22T10:00:00${offset}") { label } }`), 'BAD_DATETIME', 'offset', offset);
      expectCode(await t.gql(MARKS, { in: [{ name: 'tz', userId: 1, at: `2026-11-22T10:00:00${offset}` }] }), 'BAD_DATETIME', 'offset');
      expect((await t.keys()).filter((k) => k.includes('tz'))).toEqual([]);
    });

    it('offsets up to ±23:59 are instants like any other', async () => {
      const at = '2026-11-22T10:00:00+23:59';
      const day = new Date(Date.parse(at)).toISOString().slice(0, 10);
      expect(ok(await t.gql(`{ period(granularity: DAY, at: "${at}") { label } }`))).toEqual({ period: { label: day } });
    });

    it('an instant that is year -1 on the gateway clock is BAD_DATETIME (nothing written)', async () => {
      expectCode(await t.gql(MARKS, { in: [{ name: 'early', userId: 1, at: '0000-01-01T00:00:00+05:00' }] }), 'BAD_DATETIME', '0000-01-01 to 9999-12-31');
      expect((await t.keys()).filter((k) => k.includes('early'))).toEqual([]);
    });
  });

  describe('scalar errors name what was given in words', () => {
    it.each([
      ['a boolean literal', '{ contains(set: { ids: [1] }, userId: true) }', 'a boolean'],
      ['a bare word', '{ contains(set: { ids: [1] }, userId: FOO) }', 'FOO'],
      ['a list literal', '{ count(set: { ids: [[1]] }) }', 'a list'],
      ['an object literal', '{ contains(set: { ids: [1] }, userId: { a: 1 }) }', 'an object'],
    ])('UserId: %s', async (_, query, words) => {
      const e = expectCode(await t.gql(query), 'BAD_USER_ID', 'unsigned 32-bit integer', words);
      expect(e.message).not.toMatch(/Value\b|ListValue|ObjectValue|EnumValue/);
    });

    it('UserId and DateTime given as variables of the wrong type', async () => {
      const e = expectCode(
        await t.gql(`query($id: UserId!) { contains(set: { event: { name: "x", period: ${DAY} } }, userId: $id) }`, { id: true }),
        'BAD_USER_ID',
        'a boolean (true)',
      );
      expect(e.message).not.toContain('BooleanValue');
      expectCode(await t.gql('query($at: DateTime) { period(granularity: DAY, at: $at) { label } }', { at: 20261122 }), 'BAD_DATETIME', 'ISO-8601', 'got 20261122');
      expectCode(await t.gql('{ period(granularity: DAY, at: false) { label } }'), 'BAD_DATETIME', 'a boolean');
    });
  });
});

/**
 * A TCP server on loopback that plays a broken Redis: it acknowledges the client's greeting
 * (CLIENT SETINFO), then never answers a command, or hangs up on the first one.
 */
async function fakeRedis(behaviour: 'silent' | 'hang up'): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      // RESP commands: *<n>\r\n then n times $<len>\r\n<arg>\r\n.
      for (;;) {
        const command = /^\*(\d+)\r\n/.exec(pending);
        if (!command) return;
        let at = command[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(command[1]); i++) {
          const len = /^\$(\d+)\r\n/.exec(pending.slice(at));
          if (!len || pending.length < at + len[0].length + Number(len[1]) + 2) return; // not all here yet
          args.push(pending.slice(at + len[0].length, at + len[0].length + Number(len[1])));
          at += len[0].length + Number(len[1]) + 2;
        }
        pending = pending.slice(at);
        if (args[0]?.toUpperCase() === 'CLIENT') socket.write('+OK\r\n');
        else if (behaviour === 'hang up') return void socket.destroy();
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Words of ioredis's own that once reached callers. */
const CLIENT_TEXT = /Stream isn't writeable|enableOfflineQueue|maxRetriesPerRequest|max retries|Connection is closed|ECONNREFUSED|Command timed out/i;

describe('SERVICE_UNAVAILABLE says what happened in plain words (redis engine)', () => {
  async function askThrough(url: string, mode: RedisMode, connect: boolean): Promise<GqlResult[]> {
    const engine = new RedisEngine({ url, mode, tempPrefix: 'down_bitop_', commandTimeoutMs: 300 });
    if (connect) await engine.connect();
    const config = loadConfig({}, { keyPrefix: 'down_', apiKeys: [{ name: 't', sha256: hashKey(TEST_KEY), scopes: ['read', 'write'] }] });
    const gateway = await createGateway(config, { engine });
    try {
      const ask = async (query: string): Promise<GqlResult> =>
        (await (
          await gateway.yoga.fetch('http://yoga/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
            body: JSON.stringify({ query }),
          })
        ).json()) as GqlResult;
      return [
        await ask(`{ count(set: { event: { name: "x", period: ${DAY} } }) }`),
        await ask('mutation { markEvent(input: { name: "x", userId: 1 }) { marked } }'),
      ];
    } finally {
      engine.redis.disconnect();
      await gateway.close();
    }
  }

  const expectPlain = (results: GqlResult[], words: string): void => {
    for (const r of results) {
      const e = expectCode(r, 'SERVICE_UNAVAILABLE', 'storage is unavailable', words, 'retry later');
      expect(e.message).not.toMatch(CLIENT_TEXT);
    }
  };

  it('nothing listening: "Redis is unreachable", not "Stream isn\'t writeable…"', async () => {
    expectPlain(await askThrough(`redis://127.0.0.1:${await freePort()}`, 'lua', false), 'Redis is unreachable');
  });

  it('the connection drops under a command: "Redis is unreachable", not "maxRetriesPerRequest"', async () => {
    const fake = await fakeRedis('hang up');
    try {
      expectPlain(await askThrough(fake.url, 'pipeline', true), 'Redis is unreachable');
    } finally {
      await fake.close();
    }
  });

  it('a server that never answers: "Redis did not answer in time", not "Command timed out"', async () => {
    const fake = await fakeRedis('silent');
    try {
      expectPlain(await askThrough(fake.url, 'pipeline', true), 'Redis did not answer in time');
    } finally {
      await fake.close();
    }
  });
});
