// Ids literals on the Redis engine cost Redis no memory of their own: an id near 2^32 next to an
// event (issue #12, item 2) is answered exactly, on a dedicated redis-server whose
// used_memory_peak shows what any request made Redis allocate.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { startRedis } from '../global-setup.ts';
import type { GqlResult } from '../helpers.ts';
import { rng } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const TOP = 4294967295;
const KEY = `bmq_ids_${randomBytes(8).toString('hex')}`;
const AUTH = { authorization: `Bearer ${KEY}` };
/** Far below the 512 MiB one SETBIT at 2^32-1 allocates, far above the server's own noise. */
const PEAK_SLACK = 32 * 1024 * 1024;

const TODAY = '{ current: DAY }';
const EVENT = `{ event: { name: "a", period: ${TODAY} } }`;

// The closed-period cache (by the real clock, NOW's day has ended) would answer from roaring copies
// in process: off, so that the program runs inside Redis; 'lua+cache' checks that path too.
describe.each([
  ['lua', 0],
  ['pipeline', 0],
  ['lua+cache', 64],
] as const)('ids literals near 2^32 (redis %s)', (name, cacheMb) => {
  const mode = name === 'pipeline' ? 'pipeline' : 'lua';
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let admin: Redis;
  let gateway: Gateway;
  /** Members of event "a" today, as marked. */
  const today = new Set<number>();

  const gql = async <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>> => {
    const res = await gateway.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...AUTH },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlResult<T>;
  };
  const peak = async (): Promise<number> => Number(/used_memory_peak:(\d+)/.exec(await admin.info('memory'))![1]);

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    const config = loadConfig(
      {},
      {
        redisUrl: redis.url,
        redisMode: mode,
        cacheMb,
        keyPrefix: `m${randomBytes(3).toString('hex')}_`,
        apiKeys: [{ name: 'ids', sha256: hashKey(KEY), scopes: ['read', 'write'] }],
      },
    );
    gateway = await createGateway(config, { now: () => NOW });
    const random = rng(12);
    while (today.size < 300) today.add(Math.floor(random() * 200_000));
    const r = await gql(`mutation M($input: [MarkEventInput!]!) { markEvents(input: $input) { marked } }`, {
      input: [...today].map((userId) => ({ name: 'a', userId })),
    });
    expect(r.errors).toBeUndefined();
  });
  afterAll(async () => {
    await gateway?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it('answers the request from the issue exactly, without Redis allocating for the id', async () => {
    const before = await peak();
    const r = await gql(`{ count(set: { or: [{ ids: [${TOP}] }, ${EVENT}] }) }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ count: today.size + 1 });
    expect(await peak()).toBeLessThan(before + PEAK_SLACK);
  });

  it('answers every kind of question over large ids exactly, four hostile requests at once next to a plain read', async () => {
    const before = await peak();
    const sorted = [...today].sort((x, y) => x - y);
    const inside = sorted.slice(0, 3); // members of "a"
    const outside = [TOP, TOP - 1, 2 ** 31, 7_000_000]; // not members (all above 200,000)
    const big = `[${[...outside, ...inside].join(', ')}]`;
    const hostile = `{
      or: count(set: { or: [{ ids: ${big} }, ${EVENT}] })
      xor: count(set: { xor: [{ ids: ${big} }, ${EVENT}] })
      minus: count(set: { minus: { from: ${EVENT}, subtract: [{ ids: ${big} }] } })
      idsMinus: count(set: { minus: { from: { ids: ${big} }, subtract: [${EVENT}] } })
      and: count(set: { and: [{ ids: ${big} }, ${EVENT}] })
      nested: count(set: { or: [{ and: [{ ids: ${big} }, ${EVENT}] }, { xor: [{ ids: [${TOP}, ${inside[0]}] }, ${EVENT}] }] })
      any: hasEvents(set: { minus: { from: { ids: [${TOP}] }, subtract: [${EVENT}] } })
      top: contains(set: { or: [{ ids: [${TOP}] }, ${EVENT}] }, userId: ${TOP})
      tail: members(set: { or: [{ ids: ${big} }, ${EVENT}] }, after: ${sorted.at(-2)}, first: 4) { ids hasMore }
      last: members(set: { or: [{ ids: ${big} }, ${EVENT}] }, after: ${TOP - 1}, first: 4) { ids hasMore }
      xorPage: members(set: { xor: [{ ids: ${big} }, ${EVENT}] }, first: 2) { ids hasMore }
    }`;
    const orSet = new Set([...today, ...outside, ...inside]);
    const xorSet = new Set([...[...today].filter((x) => !inside.includes(x)), ...outside]);
    const expected = {
      or: orSet.size,
      xor: xorSet.size,
      minus: today.size - inside.length,
      idsMinus: outside.length,
      and: inside.length,
      // and(...) gives `inside`; xor(...) is today minus inside[0] plus TOP.
      nested: new Set([...inside, ...[...today].filter((x) => x !== inside[0]), TOP]).size,
      any: true,
      top: true,
      tail: { ids: [sorted.at(-1), 7_000_000, 2 ** 31, TOP - 1], hasMore: true },
      last: { ids: [TOP], hasMore: false },
      xorPage: { ids: sorted.filter((x) => !inside.includes(x)).slice(0, 2), hasMore: true },
    };
    const plain = gql(`{ count(set: ${EVENT}) }`);
    const replies = await Promise.all([gql(hostile), gql(hostile), gql(hostile), gql(hostile), plain]);
    for (const r of replies.slice(0, 4)) {
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual(expected);
    }
    expect(replies[4]).toEqual({ data: { count: today.size } });
    expect(await peak()).toBeLessThan(before + PEAK_SLACK);
    // Temporary keys went with their programs, and the gateway still answers.
    expect(await admin.keys('*bitop_*')).toEqual([]);
    expect(await gql(`{ count(set: ${EVENT}) }`)).toEqual({ data: { count: today.size } });
  });
});
