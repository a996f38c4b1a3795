// The closed-period cache never answers stale: flushes, SWAPDB, someone else's
// notify-keyspace-events, a killed invalidation connection, a Redis restart and a Redis that
// refuses tracking; and it never fetches a working set larger than its budget. Each on its own
// redis-server (these commands would disturb every other test sharing one).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALIDATION_CLIENT_NAME } from '../../src/bitmap/engines/closed-cache.ts';
import { startRedis } from '../global-setup.ts';
import { rng } from '../rng.ts';
import { DaySets, cacheHarness, commandsDuring, day } from './cache-harness.ts';
import type { CacheHarness } from './cache-harness.ts';

const QUERY = `{
  both: count(set: { and: [${day(20)}, ${day(21)}] })
  either: count(set: { or: [${day(20)}, ${day(21)}] })
  one: count(set: { xor: [${day(20)}, ${day(21)}] })
  only20: members(set: { minus: { from: ${day(20)}, subtract: [${day(21)}] } }, first: 1000) { ids }
}`;

type Harness = CacheHarness;
const harness = (extraArgs: readonly string[] = [], cacheBytes = 64 << 20): Promise<Harness> => cacheHarness({ extraArgs, cacheBytes });

/** The two days' members, kept in plain JS Sets alongside what is written to Redis. */
class Truth extends DaySets<20 | 21> {
  constructor() {
    super([20, 21]);
  }
  expected(): Record<string, unknown> {
    const [a, b] = [this.days[20], this.days[21]];
    const both = [...a].filter((x) => b.has(x)).length;
    const either = new Set([...a, ...b]).size;
    return { both, either, one: either - both, only20: { ids: [...a].filter((x) => !b.has(x)).sort((x, y) => x - y) } };
  }
}

/** Random ids below 5,000, seeded. */
const ids = (random: () => number, n: number): number[] => Array.from({ length: n }, () => Math.floor(random() * 5000));

/** Reads until a request is answered from copies alone (exact each time): what follows starts from a warm cache. */
async function warm(h: Harness, truth: Truth): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const misses = h.engine.cache!.misses;
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    if (i > 0 && h.engine.cache!.misses === misses) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the cache never answered from copies alone');
}

describe('closed-period cache invalidation (client-side caching)', () => {
  let h: Harness;
  const truth = new Truth();
  const random = rng(1414);
  beforeAll(async () => {
    h = await harness();
    await truth.set(h, 20, ids(random, 400));
    await truth.set(h, 21, ids(random, 400));
  });
  afterAll(async () => h.close());

  it('is active and answers from copies', async () => {
    expect(h.engine.cache!.active).toBe(true);
    await warm(h, truth);
  });

  it('sees an external SETBIT at once (no waiting for a notification)', async () => {
    await warm(h, truth);
    for (let i = 0; i < 20; i++) {
      await truth.set(h, i % 2 ? 20 : 21, ids(random, 3), i % 3 ? 1 : 0);
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    }
  });

  for (const flush of ['FLUSHDB', 'FLUSHALL'] as const) {
    it(`drops every copy on ${flush}, and the next reads are exact`, async () => {
      await warm(h, truth);
      await h.raw.call(flush);
      truth.clear();
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      // New bits after the flush, which the old copies would miss.
      await truth.set(h, 20, ids(random, 50));
      await truth.set(h, 21, ids(random, 50));
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      await warm(h, truth);
    });
  }

  it('does not depend on notify-keyspace-events: someone turning it off changes nothing', async () => {
    await warm(h, truth);
    await h.raw.config('SET', 'notify-keyspace-events', '');
    for (let i = 0; i < 10; i++) {
      await truth.set(h, i % 2 ? 20 : 21, ids(random, 5));
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    }
    expect(h.engine.cache!.active).toBe(true);
    await warm(h, truth);
  });

  it('drops every copy on SWAPDB (which sends no invalidation), and the next reads are the other database’s', async () => {
    await warm(h, truth);
    // Database 1 holds other bits under the same keys; bitmapist's history swapped in from a backup, say.
    const other = new Truth();
    const db1 = new Redis(h.redis.url, { db: 1 });
    try {
      const p = db1.pipeline();
      for (const d of [20, 21] as const) {
        for (const id of ids(random, 100)) {
          p.setbit(h.key(d), id, 1);
          other.days[d].add(id);
        }
      }
      await p.exec();
      await h.raw.call('SWAPDB', '0', '1');
      expect((await h.gql(QUERY)).data).toEqual(other.expected());
      await warm(h, other);
      await h.raw.call('SWAPDB', '0', '1'); // and back
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      await warm(h, truth);
    } finally {
      await db1.flushdb();
      db1.disconnect();
    }
  });

  it('keeps no copy fetched while another database was swapped in, even when it is swapped back before any request checks', async () => {
    await warm(h, truth);
    const other = new DaySets<20 | 21>([20, 21]);
    const db1 = new Redis(h.redis.url, { db: 1 });
    const both = `{ both: count(set: { and: [${day(20)}, ${day(21)}] }) }`;
    try {
      await other.set({ raw: db1, key: h.key }, 20, ids(random, 300));
      await other.set({ raw: db1, key: h.key }, 21, ids(random, 300));
      await truth.set(h, 20, ids(random, 3)); // the 20th's copy is dropped: the next reads run in Redis and fetch it again
      await h.raw.call('SWAPDB', '0', '1');
      // Read twice with no copy to check against (so no fence runs), which queues a fetch of the 20th from the other database.
      for (let i = 0; i < 2; i++) expect((await h.gql(both)).data).toEqual({ both: andSize(other.days[20], other.days[21]) });
      await h.engine.cache!.idle();
      await h.raw.call('SWAPDB', '0', '1'); // and back, before any request looked
      for (let i = 0; i < 5; i++) expect((await h.gql(both)).data).toEqual({ both: andSize(truth.days[20], truth.days[21]) });
      await warm(h, truth);
    } finally {
      await db1.flushdb();
      db1.disconnect();
    }
  });

  it('gives no stale answer in 300 reads right after its invalidation connection is killed, interleaved with external writes', async () => {
    await warm(h, truth);
    const list = String(await h.raw.call('CLIENT', 'LIST'));
    const line = list.split('\n').find((l) => l.includes(` name=${INVALIDATION_CLIENT_NAME} `));
    expect(line).toBeDefined();
    const id = /\bid=(\d+)/.exec(line!)![1]!;
    await h.raw.call('CLIENT', 'KILL', 'ID', id);
    let stale = 0;
    for (let i = 0; i < 300; i++) {
      await truth.set(h, i % 2 ? 20 : 21, ids(random, 2), i % 4 ? 1 : 0);
      const r = await h.gql(QUERY);
      expect(r.errors).toBeUndefined();
      if (JSON.stringify(r.data) !== JSON.stringify(truth.expected())) stale++;
    }
    expect(stale).toBe(0);
    // It comes back, and answers from copies again.
    for (let i = 0; i < 200 && !h.engine.cache!.active; i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.engine.cache!.active).toBe(true);
    await warm(h, truth);
  });

  it('gives no stale answer right after the main connection is killed', async () => {
    await warm(h, truth);
    await h.raw.call('CLIENT', 'KILL', 'SKIPME', 'yes', 'TYPE', 'normal'); // the gateway's main connection (and none of the test's)
    let stale = 0;
    for (let i = 0; i < 100; i++) {
      await truth.set(h, i % 2 ? 20 : 21, ids(random, 2));
      const r = await h.gql(QUERY);
      if (r.errors) continue; // SERVICE_UNAVAILABLE while reconnecting is allowed; a wrong number is not
      if (JSON.stringify(r.data) !== JSON.stringify(truth.expected())) stale++;
    }
    expect(stale).toBe(0);
    for (let i = 0; i < 200 && !h.engine.cache!.active; i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.engine.cache!.active).toBe(true);
    await warm(h, truth);
  });
});

describe('closed-period cache across a Redis restart', () => {
  it('is dark while Redis is away and exact after it returns (empty: no persistence)', async () => {
    const h = await harness();
    const truth = new Truth();
    const random = rng(77);
    try {
      await truth.set(h, 20, ids(random, 200));
      await truth.set(h, 21, ids(random, 200));
      await warm(h, truth);
      const port = h.redis.port;
      await h.redis.stop();
      h.redis = await startRedis(port);
      truth.clear();
      await truth.set(h, 21, ids(random, 30));
      let answered = false;
      for (let i = 0; i < 300 && !answered; i++) {
        const r = await h.gql(QUERY);
        if (r.errors) {
          expect(r.errors[0]!.extensions?.code).toBe('SERVICE_UNAVAILABLE');
          await new Promise((res) => setTimeout(res, 20));
          continue;
        }
        expect(r.data).toEqual(truth.expected());
        answered = true;
      }
      expect(answered).toBe(true);
      for (let i = 0; i < 200 && !h.engine.cache!.active; i++) await new Promise((r) => setTimeout(r, 10));
      expect(h.engine.cache!.active).toBe(true);
      await warm(h, truth);
      await truth.set(h, 20, ids(random, 10));
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    } finally {
      await h.close();
    }
  });
});

describe('a Redis that refuses client-side caching', () => {
  it('runs with no cache, says so at start, and answers exactly', async () => {
    const h = await harness(['--rename-command', 'CLIENT', '']);
    const truth = new Truth();
    try {
      expect(h.engine.cache!.active).toBe(false);
      expect(h.status.join('\n')).toMatch(/closed-period cache off: .*CLIENT TRACKING/);
      await truth.set(h, 20, [1, 2, 3]);
      await truth.set(h, 21, [3, 4]);
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      await truth.set(h, 21, [2]);
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      expect(h.engine.cache!.size).toBe(0);
    } finally {
      await h.close();
    }
  });
});

/** Days of `n` random ids below 400,000 each (about 12% dense: a copy is about 51 KB, its string 50 KB), written as bitmapist would. */
async function bigDays(h: Harness, random: () => number, days: readonly number[], n = 50_000): Promise<Map<number, Set<number>>> {
  const out = new Map<number, Set<number>>();
  for (const d of days) {
    const set = new Set(Array.from({ length: n }, () => Math.floor(random() * 400_000)));
    const bytes = Buffer.alloc(400_000 / 8);
    for (const id of set) bytes[id >> 3]! |= 0x80 >> (id & 7);
    await h.raw.set(h.key(d), bytes); // bitmapist's layout: the bit of id n is bit n of the string
    out.set(d, set);
  }
  return out;
}

const andSize = (...sets: Set<number>[]): number => [...sets[0]!].filter((x) => sets.every((s) => s.has(x))).length;
const orSize = (...sets: Set<number>[]): number => new Set(sets.flatMap((s) => [...s])).size;

const named = (commands: string[][], name: string): string[][] => commands.filter((c) => c[0]!.toUpperCase() === name);
/** GETs of the days' bitmaps: fetches of copies (the cache's sentinel GET is not one). */
const fetches = (h: Harness, commands: string[][]): string[][] => named(commands, 'GET').filter((c) => c[1]!.startsWith(h.key(1).slice(0, -1)));

describe('a working set larger than the cache', () => {
  it('runs in Redis, one script a request, and never fetches copies it cannot keep', async () => {
    const h = await harness([], 64 << 10); // 64 KiB: one day's copy fits, the three a request reads do not
    try {
      const days = await bigDays(h, rng(99), [18, 19, 20]);
      const [a, b, c] = [days.get(18)!, days.get(19)!, days.get(20)!];
      const q = `{
        all: count(set: { and: [${day(18)}, ${day(19)}, ${day(20)}] })
        any: count(set: { or: [${day(18)}, ${day(19)}, ${day(20)}] })
      }`;
      const expected = { all: andSize(a, b, c), any: orSize(a, b, c) };
      const commands = await commandsDuring(h.raw, async () => {
        for (let i = 0; i < 10; i++) expect((await h.gql(q)).data).toEqual(expected);
        await h.engine.cache!.idle();
        expect((await h.gql(q)).data).toEqual(expected);
      });
      expect(fetches(h, commands)).toEqual([]); // no copy fetched, let alone fetched again
      expect(named(commands, 'EVALSHA').length + named(commands, 'EVAL').length).toBe(11);
      expect(h.engine.cache!.size).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('answers the outputs whose copies fit from copies, and the rest in the same round trip in Redis', async () => {
    const h = await harness([], 192 << 10); // two days' copies fit beside the room for one fetch's reply, three do not
    try {
      const days = await bigDays(h, rng(7), [18, 19, 20]);
      const [a, b, c] = [days.get(18)!, days.get(19)!, days.get(20)!];
      const q = `{
        pair: count(set: { and: [${day(18)}, ${day(19)}] })
        pairOr: count(set: { or: [${day(18)}, ${day(19)}] })
        all: count(set: { and: [${day(18)}, ${day(19)}, ${day(20)}] })
        any: count(set: { or: [${day(18)}, ${day(19)}, ${day(20)}] })
      }`;
      const expected = { pair: andSize(a, b), pairOr: orSize(a, b), all: andSize(a, b, c), any: orSize(a, b, c) };
      for (let i = 0; i < 3; i++) {
        expect((await h.gql(q)).data).toEqual(expected);
        await h.engine.cache!.idle();
      }
      const cache = h.engine.cache!;
      expect(cache.size).toBe(2);
      const hits = cache.hits;
      const commands = await commandsDuring(h.raw, async () => {
        for (let i = 0; i < 10; i++) expect((await h.gql(q)).data).toEqual(expected);
        await cache.idle();
      });
      expect(fetches(h, commands)).toEqual([]);
      // Each request: one script for the outputs over day 20, which reads no day it need not.
      const scripts = named(commands, 'EVALSHA');
      expect(scripts).toHaveLength(10);
      for (const s of scripts) expect(s.filter((arg) => arg.startsWith(h.key(1).slice(0, -1)))).toEqual([h.key(18), h.key(19), h.key(20)]);
      expect(cache.hits - hits).toBe(20); // days 18 and 19, from copies, in each of the 10
      // A write to a held day is seen by the next request, on copies and in Redis alike.
      await h.raw.setbit(h.key(18), 399_999, 1);
      a.add(399_999);
      expect((await h.gql(q)).data).toEqual({ pair: andSize(a, b), pairOr: orSize(a, b), all: andSize(a, b, c), any: orSize(a, b, c) });
    } finally {
      await h.close();
    }
  });

  it('does not take turns between two working sets that fit alone but not together', async () => {
    const h = await harness([], 192 << 10); // room for two days' copies (and one fetch's reply)
    try {
      const days = await bigDays(h, rng(31), [18, 19, 20, 21]);
      const [a, b, c, d] = [18, 19, 20, 21].map((x) => days.get(x)!) as [Set<number>, Set<number>, Set<number>, Set<number>];
      const first = `{ x: count(set: { and: [${day(18)}, ${day(19)}] }) y: count(set: { xor: [${day(18)}, ${day(19)}] }) }`;
      const second = `{ x: count(set: { and: [${day(20)}, ${day(21)}] }) y: count(set: { xor: [${day(20)}, ${day(21)}] }) }`;
      const xor = (p: Set<number>, q: Set<number>): number => orSize(p, q) - andSize(p, q);
      const expectFirst = { x: andSize(a, b), y: xor(a, b) };
      const expectSecond = { x: andSize(c, d), y: xor(c, d) };
      for (let i = 0; i < 4; i++) {
        expect((await h.gql(first)).data).toEqual(expectFirst);
        await h.engine.cache!.idle();
        expect((await h.gql(second)).data).toEqual(expectSecond);
        await h.engine.cache!.idle();
      }
      const commands = await commandsDuring(h.raw, async () => {
        for (let i = 0; i < 10; i++) {
          expect((await h.gql(first)).data).toEqual(expectFirst);
          expect((await h.gql(second)).data).toEqual(expectSecond);
        }
        await h.engine.cache!.idle();
      });
      // The first set stays held and answers from copies; the second runs in Redis; nothing is fetched again.
      expect(fetches(h, commands)).toEqual([]);
      expect(named(commands, 'EVALSHA')).toHaveLength(10);
      expect(h.engine.cache!.size).toBe(2);
    } finally {
      await h.close();
    }
  });
});

describe('a working set that fits', () => {
  it('is answered from copies: no script, no fetch, only the fence', async () => {
    const h = await harness([], 1 << 20);
    try {
      const days = await bigDays(h, rng(5), [18, 19, 20, 21]);
      const [a, b, c, d] = [18, 19, 20, 21].map((x) => days.get(x)!) as [Set<number>, Set<number>, Set<number>, Set<number>];
      const q = `{
        x: count(set: { and: [${day(18)}, ${day(19)}] })
        y: count(set: { or: [${day(18)}, ${day(20)}, ${day(21)}] })
        z: count(set: { minus: { from: ${day(21)}, subtract: [${day(19)}] } })
      }`;
      const expected = { x: andSize(a, b), y: orSize(a, c, d), z: [...d].filter((id) => !b.has(id)).length };
      expect((await h.gql(q)).data).toEqual(expected); // in Redis; learns the sizes
      expect((await h.gql(q)).data).toEqual(expected); // in Redis; fetches copies behind it
      await h.engine.cache!.idle();
      expect(h.engine.cache!.size).toBe(4);
      const commands = await commandsDuring(h.raw, async () => {
        for (let i = 0; i < 10; i++) expect((await h.gql(q)).data).toEqual(expected);
      });
      expect(named(commands, 'EVALSHA')).toEqual([]);
      expect(fetches(h, commands)).toEqual([]);
      expect(named(commands, 'GET')).toHaveLength(10); // the fence: the sentinel's GET, one a request
    } finally {
      await h.close();
    }
  });
});
