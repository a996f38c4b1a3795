// Every error a caller can cause, through GraphQL on both engines: its extensions.code, a message
// that says what to change, nothing written by a refused batch, and masking of internal faults.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, redisUrl, testGateway, TEST_AUTH, TEST_KEY } from '../helpers.ts';
import { hashKey } from '../../src/auth.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';
import { scanAll } from '../assertions.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const DAY = '{ current: DAY }';

type GqlError = NonNullable<GqlResult['errors']>[number];

/** The one error of a result, with data absent or null. */
function onlyError(r: GqlResult): GqlError {
  expect(r.errors, JSON.stringify(r)).toHaveLength(1);
  return r.errors![0]!;
}

function expectCode(r: GqlResult, code: string, ...messageParts: Array<string | RegExp>): GqlError {
  const e = onlyError(r);
  expect(e.extensions?.code, JSON.stringify(e)).toBe(code);
  for (const part of messageParts) {
    if (typeof part === 'string') expect(e.message).toContain(part);
    else expect(e.message).toMatch(part);
  }
  expect(JSON.stringify(e)).not.toMatch(/\n\s+at /); // no stack trace
  return e;
}

/** A raw POST, for the HTTP status. */
async function post(t: TestGateway, body: unknown): Promise<{ status: number; json: GqlResult }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
    body: text,
  });
  return { status: res.status, json: (await res.json()) as GqlResult };
}


const BAD_NAMES: Array<[string, string]> = [
  ['empty', ''],
  ['201 characters', 'x'.repeat(201)],
  ['a space', 'has space'],
  ['a tab', 'tab\there'],
  ['a newline', 'line\nbreak'],
  ['*', 'a*b'],
  ['?', 'a?b'],
  ['[', 'a[b'],
  [']', 'a]b'],
  ['\\', 'a\\b'],
  ['the bitop_ prefix', 'bitop_x'],
  ['bitop itself (its keys <prefix>bitop_<period> and <prefix>bitop_u would be temporary keys)', 'bitop'],
];

const BAD_IDS: Array<[string, number]> = [
  ['negative', -1],
  ['2^32', 2 ** 32],
  ['non-integer', 1.5],
];

const MARK = 'mutation($in: MarkEventInput!) { markEvent(input: $in) { marked } }';
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';

describe.each(ENGINES)('errors (%s engine)', (engine) => {
  let t: TestGateway;
  let small: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
    small = await testGateway({ engine, now: NOW, config: { maxBatch: 5 } });
    const r = await t.gql(`mutation { markEvents(input: [
      { name: "seen", userId: 1 }, { name: "seen", userId: 2 }, { name: "other", userId: 2 }
    ]) { marked } }`);
    expect(r.errors).toBeUndefined();
  });
  afterAll(async () => {
    await t.close();
    await small.close();
  });

  const eventKeys = async (gw: TestGateway, name: string): Promise<string[]> =>
    (await gw.keys()).filter((k) => k.startsWith(`${gw.prefix}${name}_`));

  describe('BAD_USER_ID', () => {
    it.each(BAD_IDS)('%s, as a variable (mark, contains, ids leaf, after)', async (_, id) => {
      expectCode(await t.gql(MARK, { in: { name: 'badid', userId: id } }), 'BAD_USER_ID', '4294967295');
      expectCode(
        await t.gql(`query($id: UserId!) { contains(set: { event: { name: "seen", period: ${DAY} } }, userId: $id) }`, { id }),
        'BAD_USER_ID',
        '4294967295',
      );
      expectCode(await t.gql('query($ids: [UserId!]!) { count(set: { ids: $ids }) }', { ids: [1, id] }), 'BAD_USER_ID');
      expectCode(await t.gql('query($a: UserId) { members(set: { ids: [1] }, after: $a) { ids } }', { a: id }), 'BAD_USER_ID');
      expect(await eventKeys(t, 'badid')).toEqual([]);
    });

    it.each(BAD_IDS)('%s, as a literal (mark, contains, ids leaf)', async (_, id) => {
      expectCode(await t.gql(`mutation { markEvent(input: { name: "badid", userId: ${id} }) { marked } }`), 'BAD_USER_ID', '4294967295');
      expectCode(await t.gql(`{ contains(set: { ids: [1] }, userId: ${id}) }`), 'BAD_USER_ID');
      expectCode(await t.gql(`{ count(set: { ids: [1, ${id}] }) }`), 'BAD_USER_ID');
      expectCode(await t.gql(`mutation { markUnique(name: "badid", userId: ${id}) { marked } }`), 'BAD_USER_ID');
      expect(await eventKeys(t, 'badid')).toEqual([]);
    });

    it('a string id is refused too', async () => {
      expectCode(await t.gql(MARK, { in: { name: 'badid', userId: '7' } }), 'BAD_USER_ID');
    });
  });

  describe('BAD_EVENT_NAME', () => {
    it.each(BAD_NAMES)('%s: in markEvent, markEvents, markUnique, a set leaf, a range, unique, events(prefix)', async (_, name) => {
      expectCode(await t.gql(MARK, { in: { name, userId: 1 } }), 'BAD_EVENT_NAME', 'name');
      expectCode(await t.gql(MARKS, { in: [{ name, userId: 1 }] }), 'BAD_EVENT_NAME', 'input[0]');
      expectCode(await t.gql('mutation($n: String!) { markUnique(name: $n, userId: 1) { marked } }', { n: name }), 'BAD_EVENT_NAME');
      expectCode(
        await t.gql(`query($n: String!) { count(set: { event: { name: $n, period: ${DAY} } }) }`, { n: name }),
        'BAD_EVENT_NAME',
        'event.name',
      );
      expectCode(
        await t.gql('query($n: String!) { hasEvents(set: { range: { name: $n, granularity: DAY, last: 2 } }) }', { n: name }),
        'BAD_EVENT_NAME',
        'range.name',
      );
      expectCode(
        await t.gql('query($n: String!) { members(set: { unique: $n }) { ids } }', { n: name }),
        'BAD_EVENT_NAME',
        'unique',
      );
      if (name !== '') {
        expectCode(await t.gql('query($n: String) { events(prefix: $n) { name } }', { n: name }), 'BAD_EVENT_NAME');
      }
    });

    it('says what is wrong with the name', async () => {
      expectCode(await t.gql(MARK, { in: { name: 'x'.repeat(201), userId: 1 } }), 'BAD_EVENT_NAME', '200');
      expectCode(await t.gql(MARK, { in: { name: 'bitop_x', userId: 1 } }), 'BAD_EVENT_NAME', 'bitop_');
      expectCode(await t.gql(MARK, { in: { name: 'a*b', userId: 1 } }), 'BAD_EVENT_NAME', '*');
      expectCode(await t.gql(MARK, { in: { name: '', userId: 1 } }), 'BAD_EVENT_NAME', 'empty');
    });

    it('as a literal in the query text', async () => {
      expectCode(await t.gql('mutation { markEvent(input: { name: "a b", userId: 1 }) { marked } }'), 'BAD_EVENT_NAME');
      expectCode(await t.gql(`{ count(set: { event: { name: "a?", period: ${DAY} } }) }`), 'BAD_EVENT_NAME');
      expectCode(await t.gql('{ count(set: { unique: "bitop_1" }) }'), 'BAD_EVENT_NAME');
    });

    it('a 200-character name is fine', async () => {
      const r = await t.gql(MARK, { in: { name: 'n'.repeat(200), userId: 1 } });
      expect(r.errors).toBeUndefined();
    });
  });

  describe('BAD_DATETIME', () => {
    it.each(['not a date', '2026-13-01', '2026-02-30', '2026-11-22T25:00:00Z', ''])('%j in a mark and in a period', async (at) => {
      expectCode(await t.gql(MARK, { in: { name: 'baddate', userId: 1, at } }), 'BAD_DATETIME');
      expectCode(
        await t.gql('query($d: DateTime!) { count(set: { event: { name: "seen", period: { at: { granularity: DAY, date: $d } } } }) }', {
          d: at,
        }),
        'BAD_DATETIME',
      );
      expectCode(
        await t.gql(`{ count(set: { range: { name: "seen", granularity: DAY, from: ${JSON.stringify(at)} } }) }`),
        'BAD_DATETIME',
      );
      expect(await eventKeys(t, 'baddate')).toEqual([]);
    });

    it('a number is not a date', async () => {
      expectCode(await t.gql(MARK, { in: { name: 'baddate', userId: 1, at: 1700000000 } }), 'BAD_DATETIME');
    });
  });

  describe('UNBOUNDED_NOT', () => {
    const cases: Array<[string, string]> = [
      ['a bare not at the top', `{ not: { event: { name: "seen", period: ${DAY} } } }`],
      ['a not inside an or', `{ or: [{ event: { name: "seen", period: ${DAY} } }, { not: { ids: [1] } }] }`],
      ['an and with only nots', `{ and: [{ not: { ids: [1] } }, { not: { event: { name: "seen", period: ${DAY} } } }] }`],
      ['a not inside a xor', `{ xor: [{ ids: [1] }, { not: { ids: [2] } }] }`],
      ['a not as the from of a minus', `{ minus: { from: { not: { ids: [1] } }, subtract: [{ ids: [2] }] } }`],
      ['a double not at the top', `{ not: { not: { ids: [1] } } }`],
    ];
    it.each(cases)('%s', async (_, set) => {
      for (const field of ['count', 'hasEvents', 'contains', 'members'] as const) {
        const q =
          field === 'contains'
            ? `{ contains(set: ${set}, userId: 1) }`
            : field === 'members'
              ? `{ members(set: ${set}) { ids } }`
              : `{ ${field}(set: ${set}) }`;
        expectCode(await t.gql(q), 'UNBOUNDED_NOT', /minus|and/);
      }
    });

    it('a not next to a positive operand is fine', async () => {
      const r = await t.gql(`{ count(set: { and: [{ event: { name: "seen", period: ${DAY} } }, { not: { ids: [1] } }] }) }`);
      expect(r).toEqual({ data: { count: 1 } });
    });
  });

  describe('MISSING_PERIOD', () => {
    it('an event without a period in count, contains and inside an operator', async () => {
      expectCode(await t.gql('{ count(set: { event: { name: "seen" } }) }'), 'MISSING_PERIOD', 'period');
      expectCode(await t.gql('{ contains(set: { event: { name: "seen", shift: -1 } }, userId: 1) }'), 'MISSING_PERIOD');
      expectCode(
        await t.gql(`{ count(set: { and: [{ event: { name: "seen", period: ${DAY} } }, { event: { name: "other" } }] }) }`),
        'MISSING_PERIOD',
        'other',
      );
    });
  });

  describe('BAD_INPUT', () => {
    it.each([
      ['an empty and', '{ and: [] }', 'operand'],
      ['a negative ago', '{ event: { name: "seen", period: { ago: { granularity: DAY, periods: -1 } } } }', 'ago.periods'],
      ['a range with last and from', '{ range: { name: "seen", granularity: DAY, last: 2, from: "2026-11-01" } }', 'last'],
      ['a range ending before it starts', '{ range: { name: "seen", granularity: DAY, from: "2026-11-20", to: "2026-11-01" } }', 'before'],
      ['a range of last 0', '{ range: { name: "seen", granularity: DAY, last: 0 } }', 'last'],
    ])('%s', async (_, set, part) => {
      expectCode(await t.gql(`{ count(set: ${set}) }`), 'BAD_INPUT', part);
    });

    it.each([
      ['an unknown field', { and: [{ ids: [1] }], junk: 1 }, 'junk'],
      ['two fields of a @oneOf', { ids: [1], and: [{ ids: [1] }] }, 'one key'],
      ['an event without a name', { event: { period: { current: 'DAY' } } }, 'name'],
    ])('a malformed variable (%s) is a client error that says what is wrong, not a masked fault', async (_, s, part) => {
      const { status, json } = await post(t, { query: 'query($s: SetExpr!) { count(set: $s) }', variables: { s } });
      expect(status).toBe(400);
      const e = onlyError(json);
      expect(e.message).toContain(part);
      expect(e.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    });

    it('members first below 1', async () => {
      expectCode(await t.gql('{ members(set: { ids: [1] }, first: 0) { ids } }'), 'BAD_INPUT', 'first');
    });
  });

  describe('TOO_COMPLEX', () => {
    const nested = (depth: number): unknown => {
      let s: unknown = { event: { name: 'seen', period: { current: 'DAY' } } };
      for (let i = 0; i < depth; i++) s = i % 2 ? { or: [s, { ids: [i] }] } : { and: [s, { ids: [1, 2, i] }] };
      return s;
    };

    it('more than 1000 nodes, as a variable and as a literal', async () => {
      const set = { or: Array.from({ length: 1000 }, (_, i) => ({ ids: [i] })) };
      expectCode(await t.gql('query($s: SetExpr!) { count(set: $s) }', { s: set }), 'TOO_COMPLEX', '1000');
      const literal = `{ count(set: { or: [${Array.from({ length: 1000 }, (_, i) => `{ ids: [${i}] }`).join(', ')}] }) }`;
      expectCode(await t.gql(literal), 'TOO_COMPLEX', '1000');
      // 999 operands and the or itself: exactly at the limit.
      const ok = await t.gql('query($s: SetExpr!) { count(set: $s) }', { s: { or: set.or.slice(1) } });
      expect(ok).toEqual({ data: { count: 999 } });
    });

    it('nesting deeper than 32 via variables', async () => {
      const e = expectCode(await t.gql('query($s: SetExpr!) { count(set: $s) }', { s: nested(40) }), 'TOO_COMPLEX', '32');
      expect(e.extensions?.limit).toBe(32);
      const ok = await t.gql('query($s: SetExpr!) { count(set: $s) }', { s: nested(31) });
      expect(ok.errors).toBeUndefined();
    });

    it('a 5,000-deep expression in the variables is refused, not a crash', async () => {
      // Built as text: JSON.stringify itself recurses and would overflow on this input.
      const depth = 5000;
      const leaf = '{"event":{"name":"seen","period":{"current":"DAY"}}}';
      const deepAnd = `${'{"and":[{"ids":[1]},'.repeat(depth)}${leaf}${']}'.repeat(depth)}`;
      const r1 = await post(t, `{"query":"query($s: SetExpr!) { count(set: $s) }","variables":{"s":${deepAnd}}}`);
      expect(r1.status).toBeLessThan(500);
      expectCode(r1.json, 'TOO_COMPLEX', '32');
      // Nested nots, inside a list variable.
      const deepNot = `${'{"not":'.repeat(depth)}{"ids":[1]}${'}'.repeat(depth)}`;
      const r2 = await post(t, `{"query":"query($s: [SetExpr!]!) { count(set: { or: $s }) }","variables":{"s":[{"ids":[1]},${deepNot}]}}`);
      expect(r2.status).toBeLessThan(500);
      expectCode(r2.json, 'TOO_COMPLEX');
      // Deep, but not through set operands (an unknown field): refused without a crash as well.
      const deepJunk = `${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const r3 = await post(t, `{"query":"query($s: SetExpr!) { count(set: $s) }","variables":{"s":{"and":[{"ids":[1]}],"junk":${deepJunk}}}}`);
      expect(r3.status).toBeLessThan(500);
      expect(r3.json.errors?.length).toBeGreaterThan(0);
    });

    it('a 5,000-deep expression in the query text is refused, not a crash', async () => {
      const depth = 5000;
      const query = `{ count(set: ${'{ and: [{ ids: [1] }, '.repeat(depth)}{ ids: [1] }${' ] }'.repeat(depth)}) }`;
      const { status, json } = await post(t, { query });
      expect(status).toBeLessThan(500);
      expectCode(json, 'TOO_COMPLEX');
      const nots = `{ count(set: { and: [{ ids: [1] }, ${'{ not: '.repeat(depth)}{ ids: [1] }${' }'.repeat(depth)}] }) }`;
      const r2 = await post(t, { query: nots });
      expect(r2.status).toBeLessThan(500);
      expectCode(r2.json, 'TOO_COMPLEX');
    });

    it('a leaf expanding to more than 2000 periods', async () => {
      expectCode(
        await t.gql('{ count(set: { range: { name: "seen", granularity: HOUR, from: "2020-01-01" } }) }'),
        'TOO_COMPLEX',
        '2000',
        /narrow|coarser/,
      );
      expectCode(await t.gql('{ count(set: { range: { name: "seen", granularity: DAY, last: 2001 } }) }'), 'TOO_COMPLEX', '2000');
      // 200 years of months is 2400 month keys.
      expectCode(await t.gql('{ count(set: { range: { name: "seen", granularity: YEAR, last: 200 } }) }'), 'TOO_COMPLEX', '2000');
      const ok = await t.gql('{ count(set: { range: { name: "seen", granularity: DAY, last: 2000 } }) }');
      expect(ok).toEqual({ data: { count: 2 } });
    });

    it('members first above 10000', async () => {
      expectCode(await t.gql('{ members(set: { ids: [1] }, first: 10001) { ids } }'), 'TOO_COMPLEX', '10000', 'after');
      const ok = await t.gql('{ members(set: { ids: [1] }, first: 10000) { ids } }');
      expect(ok).toEqual({ data: { members: { ids: [1] } } });
    });

    it('an ids literal over the limit', async () => {
      const ids = Array.from({ length: 10_001 }, (_, i) => i);
      expectCode(await t.gql('query($ids: [UserId!]!) { count(set: { ids: $ids }) }', { ids }), 'TOO_COMPLEX', '10000');
    });
  });

  describe('TOO_LARGE and all-or-nothing batches', () => {
    it('a markEvents batch over the limit', async () => {
      const items = Array.from({ length: 6 }, (_, i) => ({ name: 'toolarge', userId: i }));
      expectCode(await small.gql(MARKS, { in: items }), 'TOO_LARGE', '5', 'split');
      expect(await eventKeys(small, 'toolarge')).toEqual([]);
      const ok = await small.gql(MARKS, { in: items.slice(0, 5) });
      expect(ok).toEqual({ data: { markEvents: { marked: 5 } } });
      expect(await eventKeys(small, 'toolarge')).toHaveLength(3);
    });

    it('one bad name at index 3 writes nothing and names the index', async () => {
      const items = Array.from({ length: 6 }, (_, i) => ({ name: i === 3 ? 'bad name' : 'batchname', userId: 10 + i }));
      const e = expectCode(await t.gql(MARKS, { in: items }), 'BAD_EVENT_NAME', 'input[3]');
      expect(e.extensions?.index).toBe(3);
      expect(await eventKeys(t, 'batchname')).toEqual([]);
      const literal = `mutation { markEvents(input: [${items.map((m) => `{ name: ${JSON.stringify(m.name)}, userId: ${m.userId} }`).join(', ')}]) { marked } }`;
      expectCode(await t.gql(literal), 'BAD_EVENT_NAME', 'input[3]');
      expect(await eventKeys(t, 'batchname')).toEqual([]);
    });

    it('one bad id (as a variable) at index 3 writes nothing and names the index', async () => {
      for (const bad of [-5, 2 ** 32, 2.5]) {
        const items = Array.from({ length: 6 }, (_, i) => ({ name: 'batchid', userId: i === 3 ? bad : 10 + i }));
        expectCode(await t.gql(MARKS, { in: items }), 'BAD_USER_ID', /\[3\]/);
        expect(await eventKeys(t, 'batchid')).toEqual([]);
      }
    });

    it('one bad date at index 3 writes nothing and names the index', async () => {
      const items = Array.from({ length: 6 }, (_, i) => ({ name: 'batchdate', userId: i, at: i === 3 ? '2026-02-30' : '2026-11-01' }));
      expectCode(await t.gql(MARKS, { in: items }), 'BAD_DATETIME', /\[3\]/);
      expect(await eventKeys(t, 'batchdate')).toEqual([]);
    });
  });
});

describe('SERVICE_UNAVAILABLE (redis engine, nothing listening)', () => {
  it('a query and a mark fail with SERVICE_UNAVAILABLE', async () => {
    const { RedisEngine } = await import('../../src/bitmap/engines/redis.ts');
    const { createGateway } = await import('../../src/gateway.ts');
    const { loadConfig } = await import('../../src/config.ts');
    const { freePort } = await import('../global-setup.ts');
    const engine = new RedisEngine({ url: `redis://127.0.0.1:${await freePort()}`, tempPrefix: 'down_bitop_', commandTimeoutMs: 500 });
    const gateway = await createGateway(loadConfig({}, { keyPrefix: 'down_', apiKeys: [{ name: 't', sha256: hashKey(TEST_KEY), scopes: ['read', 'write'] }] }), { engine });
    try {
      const ask = async (query: string): Promise<GqlResult> =>
        (await (
          await gateway.yoga.fetch('http://yoga/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
            body: JSON.stringify({ query }),
          })
        ).json()) as GqlResult;
      expectCode(await ask(`{ count(set: { event: { name: "x", period: ${DAY} } }) }`), 'SERVICE_UNAVAILABLE', 'unavailable');
      expectCode(await ask('mutation { markEvent(input: { name: "x", userId: 1 }) { marked } }'), 'SERVICE_UNAVAILABLE');
    } finally {
      engine.redis.disconnect();
      await gateway.close();
    }
  });
});

describe.each(['lua', 'pipeline'] as const)('an unexpected storage failure is masked (redis %s)', (redisMode) => {
  let t: TestGateway;
  let raw: Redis;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', now: NOW, redisMode });
    raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
    const r = await t.gql(`mutation { markEvents(input: [
      { name: "a", userId: 1 }, { name: "a", userId: 2 }, { name: "b", userId: 2 }, { name: "b", userId: 3 }
    ]) { marked } }`);
    expect(r.errors).toBeUndefined();
    // A list where a bitmap should be: BITOP/BITCOUNT on it fail with WRONGTYPE.
    await raw.rpush(`${t.prefix}boom_2026-11-22`, 'not a bitmap');
  });
  afterAll(async () => {
    await raw.del(`${t.prefix}boom_2026-11-22`);
    raw.disconnect();
    await t.close();
  });

  const boom = `{ event: { name: "boom", period: ${DAY} } }`;
  const a = `{ event: { name: "a", period: ${DAY} } }`;
  const b = `{ event: { name: "b", period: ${DAY} } }`;

  it.each([
    ['a BITOP after temporary results exist', `{ count(set: { or: [{ and: [${a}, ${b}] }, { xor: [${a}, ${b}] }, { and: [{ or: [${a}, ${b}] }, ${boom}] }] }) }`],
    ['a BITCOUNT of the key', `{ count(set: ${boom}) }`],
    ['a page of members', `{ members(set: { minus: { from: { or: [${a}, ${b}] }, subtract: [${boom}] } }) { ids } }`],
  ])('%s: "Unexpected error.", INTERNAL_SERVER_ERROR, no stack, no temporary key left', async (_, query) => {
    const r = await t.gql(query);
    const e = expectCode(r, 'INTERNAL_SERVER_ERROR');
    expect(e.message).toBe('Unexpected error.');
    expect(JSON.stringify(r)).not.toMatch(/WRONGTYPE|stack|originalError|\.ts:/);
    expect((await t.keys()).filter((k) => k.includes('bitop_'))).toEqual([]);
    expect(await scanAll(raw, '*bitop_*')).toEqual([]);
  });

  it('the gateway still answers afterwards', async () => {
    const r = await t.gql(`{ count(set: { or: [${a}, ${b}] }) }`);
    expect(r).toEqual({ data: { count: 3 } });
  });
});

describe('UNSUPPORTED (counters on the redis pipeline mode)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', now: NOW, redisMode: 'pipeline' });
  });
  afterAll(() => t.close());

  it('an increment and a counter query say which mode or engine to use, and write nothing', async () => {
    expectCode(await t.gql('mutation { incrementCounter(name: "plays", key: "song1") { incremented } }'), 'UNSUPPORTED', 'REDIS_MODE=lua');
    expectCode(await t.gql(`{ counters(name: "plays", period: ${DAY}) { key value } }`), 'UNSUPPORTED', 'REDIS_MODE=lua');
    expect(await t.keys()).toEqual([]);
  });
});
