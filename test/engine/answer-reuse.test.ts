// Reused answers on the Redis engine: a repeated request counts nothing, answers stay exact
// after outside writes, flushes, SWAPDB and a killed invalidation connection, only the answers
// reading a changed key are computed again, and the memory bound holds. Each on its own
// redis-server (flushes and CLIENT KILL would disturb every other test sharing one).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerCache } from '../../src/bitmap/engines/answer-cache.ts';
import type { AnswerGuard } from '../../src/bitmap/engines/answer-cache.ts';
import { INVALIDATION_CLIENT_NAME } from '../../src/bitmap/engines/closed-cache.ts';
import { counterPrefixFor } from '../../src/bitmap/keys.ts';
import { outputSignatures } from '../../src/bitmap/program.ts';
import type { OutputValue, Program } from '../../src/bitmap/program.ts';
import type { GqlResult } from '../helpers.ts';
import { rng } from '../rng.ts';
import { DaySets, cacheHarness, commandsDuring, day } from './cache-harness.ts';
import type { CacheHarness } from './cache-harness.ts';

/** Closed days, an open one, a members page and an id read: one answer each. */
const QUERY = `{
  both: count(set: { and: [${day(20)}, ${day(21)}] })
  either: count(set: { or: [${day(20)}, ${day(21)}] })
  apart: count(set: { xor: [${day(20)}, ${day(22)}] })
  today: count(set: ${day(22)})
  first: count(set: ${day(20)})
  only20: members(set: { minus: { from: ${day(20)}, subtract: [${day(21)}] } }, first: 1000) { ids }
  has: contains(set: ${day(21)}, userId: 3)
}`;
/** Of QUERY's answers, how many read the 21st (both, either, only20, has) and how many do not. */
const READING_21 = 4;
const NOT_READING_21 = 3;
/** Commands that count, or read bitmaps to count them: none may follow a repeated request. */
const COUNTING = new Set(['EVALSHA', 'EVAL', 'BITCOUNT', 'BITOP', 'BITPOS', 'GETBIT', 'MULTI', 'STRLEN']);

type Day = 20 | 21 | 22;

type Harness = CacheHarness & { answers: AnswerCache };

async function harness(answerBytes = 1 << 20): Promise<Harness> {
  const h = await cacheHarness({ answerBytes });
  expect(h.engine.cache!.active).toBe(true);
  return Object.assign(h, { answers: h.engine.answers! });
}

/** The three days' members in plain JS Sets, written to Redis from a client other than the gateway (as bitmapist would). */
class Truth extends DaySets<Day> {
  constructor() {
    super([20, 21, 22]);
  }
  expected(): Record<string, unknown> {
    const [a, b, c] = [this.days[20], this.days[21], this.days[22]];
    const both = [...a].filter((x) => b.has(x)).length;
    return {
      both,
      either: new Set([...a, ...b]).size,
      apart: [...a].filter((x) => !c.has(x)).length + [...c].filter((x) => !a.has(x)).length,
      today: c.size,
      first: a.size,
      only20: { ids: [...a].filter((x) => !b.has(x)).sort((x, y) => x - y) },
      has: b.has(3),
    };
  }
}

const ids = (random: () => number, n: number): number[] => Array.from({ length: n }, () => Math.floor(random() * 3000));

/** Reads until a request is answered wholly from memory (exact each time). */
async function warm(h: Harness, truth: Truth): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const misses = h.answers.misses;
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    if (h.answers.misses === misses) return;
  }
  throw new Error('answers were never reused');
}

describe('reused answers (redis engine)', () => {
  let h: Harness;
  const truth = new Truth();
  const random = rng(2714);
  beforeAll(async () => {
    h = await harness();
    await truth.set(h, 20, ids(random, 300));
    await truth.set(h, 21, ids(random, 300));
    await truth.set(h, 22, ids(random, 300));
  });
  afterAll(async () => h.close());

  it('answers a repeated request with no counting: no script, no BITOP or BITCOUNT, no copy counted', async () => {
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    const copyHits = h.engine.cache!.hits;
    const commands = await commandsDuring(h.raw, async () => {
      for (let i = 0; i < 10; i++) expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    });
    expect(commands.filter(([c]) => COUNTING.has(c!))).toEqual([]);
    // Nothing read but the fence: a PING on the invalidation connection and the SWAPDB sentinel.
    expect(commands.filter(([c]) => c === 'GET').every(([, k]) => k!.endsWith(':cache:db'))).toBe(true);
    expect(commands.filter(([c]) => c === 'PING').length).toBeGreaterThanOrEqual(10);
    expect(h.engine.cache!.hits).toBe(copyHits); // not counted on copies either
    expect(h.answers.size).toBe(READING_21 + NOT_READING_21);
  });

  it('after an outside SETBIT to one key, computes again only the answers that read it, exactly', async () => {
    await warm(h, truth);
    const [hits, misses] = [h.answers.hits, h.answers.misses];
    await truth.set(h, 21, [3, 2999]); // 3 matters to `has`
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    expect(h.answers.misses - misses).toBe(READING_21);
    expect(h.answers.hits - hits).toBe(NOT_READING_21);
    await truth.set(h, 21, [3], 0);
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
  });

  it('stays exact through a loop of outside writes to random keys, closed and open', async () => {
    await warm(h, truth);
    for (let i = 0; i < 100; i++) {
      const d = ([20, 21, 22] as const)[i % 3]!;
      if (i % 4) await truth.set(h, d, ids(random, 2), i % 5 ? 1 : 0);
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    }
    expect(h.answers.hits).toBeGreaterThan(0);
  });

  it('sees the gateway’s own writes at once', async () => {
    await warm(h, truth);
    const mark = async (name: 'markEvent' | 'unmarkEvent', at: string) =>
      expect((await h.gql(`mutation { ${name}(input: { name: "seen", userId: 2998, at: "${at}" }) { marked } }`)).errors).toBeUndefined();
    await mark('markEvent', '2026-11-21T12:00:00Z');
    truth.days[21].add(2998);
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    await mark('markEvent', '2026-11-22T08:00:00Z');
    truth.days[22].add(2998);
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    await mark('unmarkEvent', '2026-11-21T12:00:00Z');
    truth.days[21].delete(2998);
    expect((await h.gql(QUERY)).data).toEqual(truth.expected());
  });

  it('reuses members pages by cursor and page size, and a walk after a change is exact', async () => {
    const walk = async (): Promise<number[]> => {
      const out: number[] = [];
      let after: number | null = null;
      for (;;) {
        const cursor: string = after === null ? '' : `, after: ${after}`;
        const r: GqlResult<{ members: { ids: number[]; hasMore: boolean; endCursor: number | null } }> = await h.gql(
          `{ members(set: ${day(20)}, first: 40${cursor}) { ids hasMore endCursor } }`,
        );
        expect(r.errors).toBeUndefined();
        out.push(...r.data!.members.ids);
        if (!r.data!.members.hasMore) return out;
        after = r.data!.members.endCursor;
      }
    };
    const sorted = () => [...truth.days[20]].sort((x, y) => x - y);
    expect(await walk()).toEqual(sorted());
    const misses = h.answers.misses;
    expect(await walk()).toEqual(sorted());
    expect(h.answers.misses).toBe(misses); // every page from memory
    await truth.set(h, 20, [0, 1500, 2999]);
    expect(await walk()).toEqual(sorted());
  });

  for (const flush of ['FLUSHDB', 'FLUSHALL'] as const) {
    it(`drops every answer on ${flush}, and the next reads are exact`, async () => {
      await warm(h, truth);
      await h.raw.call(flush);
      truth.clear();
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      await truth.set(h, 20, ids(random, 50));
      await truth.set(h, 21, ids(random, 50));
      await truth.set(h, 22, ids(random, 50));
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
      await warm(h, truth);
    });
  }

  it('drops every answer on SWAPDB, and the next reads are the other database’s', async () => {
    await warm(h, truth);
    const other = new Truth();
    const db1 = new Redis(h.redis.url, { db: 1 });
    try {
      const p = db1.pipeline();
      for (const d of [20, 21, 22] as const) {
        for (const id of ids(random, 80)) {
          p.setbit(h.key(d), id, 1);
          other.days[d].add(id);
        }
      }
      await p.exec();
      await h.raw.call('SWAPDB', '0', '1');
      expect((await h.gql(QUERY)).data).toEqual(other.expected());
      await h.raw.call('SWAPDB', '0', '1');
      expect((await h.gql(QUERY)).data).toEqual(truth.expected());
    } finally {
      await db1.flushdb();
      db1.disconnect();
    }
  });

  it('gives no stale answer in 300 reads right after its invalidation connection is killed, interleaved with outside writes', async () => {
    await warm(h, truth);
    const list = String(await h.raw.call('CLIENT', 'LIST'));
    const line = list.split('\n').find((l) => l.includes(` name=${INVALIDATION_CLIENT_NAME} `));
    expect(line).toBeDefined();
    await h.raw.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!);
    let stale = 0;
    for (let i = 0; i < 300; i++) {
      await truth.set(h, ([20, 21, 22] as const)[i % 3]!, ids(random, 2), i % 4 ? 1 : 0);
      const r = await h.gql(QUERY);
      expect(r.errors).toBeUndefined();
      if (JSON.stringify(r.data) !== JSON.stringify(truth.expected())) stale++;
    }
    expect(stale).toBe(0);
    for (let i = 0; i < 200 && !h.engine.cache!.active; i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.engine.cache!.active).toBe(true);
    await warm(h, truth); // and answers are reused again
  });

  it('reports what it reused, computed and holds in /metrics', async () => {
    await warm(h, truth);
    await h.gql(QUERY);
    const text = await (await h.gateway.yoga.fetch('http://yoga/metrics')).text();
    const value = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2]);
    expect(value('bitmapql_answer_cache_hits_total')).toBe(h.answers.hits);
    expect(value('bitmapql_answer_cache_misses_total')).toBe(h.answers.misses);
    expect(value('bitmapql_answer_cache_entries')).toBe(h.answers.size);
    expect(value('bitmapql_answer_cache_bytes')).toBe(h.answers.heldBytes);
    expect(h.answers.hits).toBeGreaterThan(0);
  });

  it('never reuses counters: their hashes are outside the tracked prefix', async () => {
    const key = `${counterPrefixFor(h.prefix)}plays:2026-11-21`;
    const program: Program = { registers: 0, instructions: [{ op: 'hsum', key }] };
    const held = h.answers.size;
    await h.raw.hincrby(key, 'a', 2);
    expect(await h.engine.run(program)).toEqual([2]);
    await h.raw.hincrby(key, 'b', 3);
    expect(await h.engine.run(program)).toEqual([5]);
    expect(h.answers.size).toBe(held);
  });
});

describe('reused answers under a tiny memory budget', () => {
  it('holds no more than the budget, evicting the least recently used, and stays exact', async () => {
    const budget = 4096;
    const h = await harness(budget);
    const random = rng(5);
    try {
      const truth = new Truth();
      await truth.set(h, 20, ids(random, 500));
      await truth.set(h, 21, ids(random, 500));
      const a = truth.days[20];
      const b = truth.days[21];
      // 200 distinct answers: pages of members after each cursor, and counts shifted by an id list.
      for (let after = 0; after < 100; after++) {
        const r = await h.gql<{ page: { ids: number[] }; n: number }>(`{
          page: members(set: { and: [${day(20)}, ${day(21)}] }, first: 5, after: ${after * 30}) { ids }
          n: count(set: { or: [${day(20)}, { ids: [${after + 5000}] }] })
        }`);
        const inBoth = [...a].filter((x) => b.has(x) && x > after * 30).sort((x, y) => x - y);
        expect(r.data).toEqual({ page: { ids: inBoth.slice(0, 5) }, n: a.size + 1 });
        expect(h.answers.heldBytes).toBeLessThanOrEqual(budget);
      }
      expect(h.answers.size).toBeGreaterThan(0);
      expect(h.answers.size).toBeLessThan(100); // older ones went
      // The most recent is still held: asked again, it is reused.
      const misses = h.answers.misses;
      await h.gql(`{ page: members(set: { and: [${day(20)}, ${day(21)}] }, first: 5, after: ${99 * 30}) { ids } }`);
      expect(h.answers.misses).toBe(misses);
    } finally {
      await h.close();
    }
  });
});

describe('AnswerCache on its own: races with invalidation and a failed fence', () => {
  const program: Program = {
    registers: 1,
    instructions: [
      { op: 'and', dest: 0, args: [{ key: 'p_a' }, { key: 'p_b' }] },
      { op: 'count', src: { reg: 0 } },
      { op: 'count', src: { key: 'p_c' } },
    ],
  };
  const setup = (fence: () => Promise<boolean> = async () => true) => {
    const guard: AnswerGuard = { active: () => true, fence };
    const cache = new AnswerCache({ maxBytes: 1 << 20, isTracked: (k) => k.startsWith('p_'), guard });
    let computed: Program[] = [];
    let value = 1;
    let during: (() => void) | null = null;
    const compute = async (p: Program): Promise<OutputValue[]> => {
      computed.push(p);
      during?.();
      return p.instructions.filter((i) => i.op === 'count').map(() => value);
    };
    return {
      cache,
      run: () => cache.run(program, compute),
      computed: () => {
        const c = computed;
        computed = [];
        return c;
      },
      set: (v: number) => (value = v),
      during: (f: (() => void) | null) => (during = f),
    };
  };

  it('keeps no answer computed while one of its keys changed', async () => {
    const t = setup();
    t.during(() => t.cache.invalidate('p_b')); // the change lands while the count is out
    expect(await t.run()).toEqual([1, 1]);
    t.during(null);
    t.computed();
    t.set(2);
    expect(await t.run()).toEqual([2, 1]); // the count over p_a AND p_b computed again; p_c's reused
    expect(t.computed().map((p) => p.instructions.length)).toEqual([2]);
  });

  it('keeps nothing computed while everything was dropped (a flush, a lapse of tracking)', async () => {
    const t = setup();
    t.during(() => t.cache.clear());
    await t.run();
    t.during(null);
    t.computed();
    t.set(3);
    expect(await t.run()).toEqual([3, 3]);
  });

  it('computes held answers again when the fence fails, and when their key changes during it', async () => {
    let fenced = true;
    const t = setup(async () => fenced);
    await t.run();
    t.computed();
    t.set(4);
    fenced = false;
    expect(await t.run()).toEqual([4, 4]);
    expect(t.computed()).toHaveLength(1); // all were held: computed again, once
    fenced = true;
    t.set(5);
    expect(await t.run()).toEqual([5, 5]); // nothing was kept after the failed fence, not even the old answers
    t.set(6);
    expect(await t.run()).toEqual([5, 5]); // held again
    expect(t.computed()).toHaveLength(1);
    let changing = false;
    const slow = setup(async () => {
      if (changing) slow.cache.invalidate('p_c'); // heard before the PONG: a write acknowledged before the request
      return true;
    });
    await slow.run();
    slow.computed();
    slow.set(7);
    changing = true;
    expect(await slow.run()).toEqual([1, 7]);
    expect(slow.computed().map((p) => p.instructions)).toEqual([[{ op: 'count', src: { key: 'p_c' } }]]);
  });
});

describe('output signatures', () => {
  const sig = (p: Program) => outputSignatures(p).map((s) => s.text);
  it('name an output by what it computes from which keys, whatever registers hold it', () => {
    const a: Program = {
      registers: 2,
      instructions: [
        { op: 'or', dest: 1, args: [{ key: 'k_a' }, { key: 'k_b' }] },
        { op: 'diff', dest: 0, from: { reg: 1 }, minus: { key: 'k_c' } },
        { op: 'count', src: { reg: 0 } },
        { op: 'scan', src: { reg: 0 }, after: 10, limit: 5 },
      ],
    };
    const b: Program = {
      registers: 1,
      instructions: [
        { op: 'or', dest: 0, args: [{ key: 'k_a' }, { key: 'k_b' }] },
        { op: 'diff', dest: 0, from: { reg: 0 }, minus: { key: 'k_c' } },
        { op: 'scan', src: { reg: 0 }, after: 10, limit: 5 },
        { op: 'scan', src: { reg: 0 }, after: 11, limit: 5 },
        { op: 'count', src: { reg: 0 } },
      ],
    };
    const [count, page] = sig(a);
    expect(sig(b)).toEqual([page, expect.not.stringMatching(page!), count]);
    expect(outputSignatures(b)[2]!.keys).toEqual(['k_a', 'k_b', 'k_c']);
  });

  it('cannot be fooled by keys holding the signature’s own punctuation', () => {
    const one = (args: string[]): string =>
      sig({ registers: 1, instructions: [{ op: 'or', dest: 0, args: args.map((key) => ({ key })) }, { op: 'count', src: { reg: 0 } }] })[0]!;
    expect(one(['k_a,k_b', 'k_c'])).not.toBe(one(['k_a', 'k_b,k_c']));
    expect(one(['k_a),or(k_b', 'k_c'])).not.toBe(one(['k_a', 'k_b),or(k_c']));
  });
});
