// The Redis engine's closed-period cache: same answers, hits on repeat, and no stale copy after a change.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { redisUrl, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const day = (d: number) => `{ event: { name: "seen", period: { at: { granularity: DAY, date: "2026-11-${d}" } } } }`;
const QUERY = `{
  both: count(set: { and: [${day(20)}, ${day(21)}] })
  either: count(set: { or: [${day(20)}, ${day(21)}] })
  only20: members(set: { minus: { from: ${day(20)}, subtract: [${day(21)}] } }) { ids }
  has: contains(set: ${day(21)}, userId: 3)
}`;

async function until(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('closed-period cache (redis engine)', () => {
  let t: TestGateway;
  let cache: NonNullable<RedisEngine['cache']>;
  const raw = new Redis(redisUrl());
  beforeAll(async () => {
    // Answers reused whole would hide the copies under test (answer-reuse.test.ts covers them).
    t = await testGateway({ engine: 'redis', cache: true, now: NOW, config: { answerCacheMb: 0 } });
    cache = (t.engine as RedisEngine).cache!;
    const marks = [
      ...[1, 2, 3, 4].map((userId) => ({ name: 'seen', userId, at: '2026-11-20T10:00:00Z' })),
      ...[3, 4, 5].map((userId) => ({ name: 'seen', userId, at: '2026-11-21T10:00:00Z' })),
      ...[9].map((userId) => ({ name: 'seen', userId, at: '2026-11-22T08:00:00Z' })),
    ];
    await t.gql(`mutation($m: [MarkEventInput!]!) { markEvents(input: $m) { marked } }`, { m: marks });
  });
  afterAll(async () => {
    raw.disconnect();
    await t.close();
  });

  it('answers closed periods from copies, the same as Redis, and hits on repeat', async () => {
    expect(cache.active).toBe(true);
    const first = await t.gql(QUERY); // in Redis: the copies' sizes are not known yet
    expect(first.data).toEqual({ both: 2, either: 5, only20: { ids: [1, 2] }, has: true });
    expect(await t.gql(QUERY)).toEqual(first); // in Redis again; fetches the copies behind it
    await cache.idle();
    const misses = cache.misses;
    const hits = cache.hits;
    expect(await t.gql(QUERY)).toEqual(first);
    expect(cache.misses).toBe(misses);
    expect(cache.hits).toBeGreaterThan(hits);
  });

  it('does not cache the current period', async () => {
    const before = cache.size;
    const r = await t.gql(`{ count(set: { event: { name: "seen", period: { current: DAY } } }) }`);
    expect(r.data).toEqual({ count: 1 });
    expect(cache.size).toBe(before);
  });

  it('drops a copy when another client changes the key (tracking invalidation)', async () => {
    await t.gql(QUERY); // warm
    await raw.setbit(`${t.prefix}seen_2026-11-21`, 1, 1); // as bitmapist would, behind the gateway's back
    await until(async () => ((await t.gql(QUERY)).data as { both: number }).both === 3);
    expect((await t.gql(QUERY)).data).toEqual({ both: 3, either: 5, only20: { ids: [2] }, has: true });
  });

  it('shows the gateway’s own writes to a closed period at once', async () => {
    await t.gql(QUERY); // warm
    await t.gql(`mutation { markEvent(input: { name: "seen", userId: 7, at: "2026-11-20T12:00:00Z" }) { marked } }`);
    expect(((await t.gql(QUERY)).data as { either: number }).either).toBe(6);
    await t.gql(`mutation { unmarkEvent(input: { name: "seen", userId: 7, at: "2026-11-20T12:00:00Z" }) { marked } }`);
    expect(((await t.gql(QUERY)).data as { either: number }).either).toBe(5);
  });

  it('clears itself and stops serving copies while its invalidation connection is down, then recovers', async () => {
    await t.gql(QUERY); // warm
    expect(cache.size).toBeGreaterThan(0);
    await raw.client('KILL', 'TYPE', 'pubsub');
    await until(async () => !cache.active || cache.size === 0, 2000);
    // A change made while the channel is down must not be missed.
    await raw.setbit(`${t.prefix}seen_2026-11-20`, 8, 1);
    await until(async () => cache.active);
    expect(((await t.gql(QUERY)).data as { either: number }).either).toBe(6);
  });
});
