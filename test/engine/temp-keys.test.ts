// Redis engine, both modes: temporary keys never outlive a program, whether it succeeds, fails
// half-way (WRONGTYPE), loses its client right after sending, or runs next to many others.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { andOf, diffOf, idsExpr, keyExpr, orOf, xorOf } from '../../src/bitmap/expr.ts';
import type { Expr } from '../../src/bitmap/expr.ts';
import { plan } from '../../src/bitmap/plan.ts';
import type { Answer, Query } from '../../src/bitmap/plan.ts';
import { redisUrl, rng } from '../helpers.ts';
import { scanAll } from '../assertions.ts';


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(['lua', 'pipeline'] as const)('temporary keys (redis %s)', (mode) => {
  const p = `tk${randomBytes(4).toString('hex')}_`;
  const tempPrefix = `${p}bitop_`;
  const [A, B, C, BIG1, BIG2, LIST] = ['a', 'b', 'c', 'big1', 'big2', 'list'].map((n) => `${p}${n}`) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const a = keyExpr(A);
  const b = keyExpr(B);
  const c = keyExpr(C);
  const list = keyExpr(LIST);
  let engine: RedisEngine;
  let raw: Redis;

  const newEngine = (): Promise<RedisEngine> => new RedisEngine({ url: redisUrl(), mode, tempPrefix }).connect();
  const temps = (): Promise<string[]> => scanAll(raw, `${tempPrefix}*`);
  const run = async (queries: Query[], e: RedisEngine = engine): Promise<Answer[]> => {
    const pl = plan(queries);
    return pl.answer(await e.run(pl.program));
  };

  beforeAll(async () => {
    engine = await newEngine();
    raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
    const random = rng(7);
    const writes: BitWrite[] = [];
    for (const key of [A, B, C]) for (let i = 0; i < 300; i++) writes.push({ key, offset: Math.floor(random() * 2000), bit: 1 as const });
    // Two bitmaps of 128 KiB, so the large programs below take the server a while.
    for (const key of [BIG1, BIG2]) for (let i = 0; i < 200; i++) writes.push({ key, offset: Math.floor(random() * 2 ** 20), bit: 1 as const });
    writes.push({ key: BIG1, offset: 2 ** 20 - 1, bit: 1 }, { key: BIG2, offset: 2 ** 20 - 1, bit: 1 });
    await engine.write(writes);
    await raw.rpush(LIST, 'not a bitmap');
  });
  afterAll(async () => {
    await raw.del(...(await scanAll(raw, `${p}*`)));
    raw.disconnect();
    await engine.close();
  });

  it('a successful program leaves none', async () => {
    const answers = await run([
      { kind: 'count', expr: andOf([a, b]) },
      { kind: 'count', expr: diffOf(orOf([a, b, c]), xorOf([a, c])) },
      { kind: 'members', expr: xorOf([a, idsExpr([1, 2, 3])]), after: null, limit: 5 },
      { kind: 'exists', expr: andOf([a, b, c]) },
    ]);
    expect(answers).toHaveLength(4);
    expect(await temps()).toEqual([]);
  });

  const failing: Array<[string, Query[]]> = [
    [
      'a BITOP reading the WRONGTYPE key after three temporaries exist',
      [
        { kind: 'count', expr: andOf([a, b]) },
        { kind: 'count', expr: orOf([andOf([a, c]), xorOf([b, c])]) },
        { kind: 'count', expr: andOf([orOf([a, b]), list]) },
        { kind: 'count', expr: xorOf([a, b, c]) },
      ],
    ],
    [
      'a difference whose minus is the WRONGTYPE key',
      [
        { kind: 'count', expr: orOf([a, idsExpr([5, 6])]) },
        { kind: 'members', expr: diffOf(orOf([a, b]), list), after: null, limit: 10 },
      ],
    ],
    [
      'a count of a temporary, then a GETBIT of the WRONGTYPE key',
      [
        { kind: 'count', expr: orOf([a, b, c]) },
        { kind: 'contains', expr: andOf([list, a]), id: 3 },
      ],
    ],
    [
      'a page of the WRONGTYPE key itself, after temporaries',
      [
        { kind: 'exists', expr: xorOf([a, c]) },
        { kind: 'members', expr: list, after: 10, limit: 3 },
      ],
    ],
  ];

  it.each(failing)('%s: the run fails and leaves none', async (_, queries) => {
    const pl = plan(queries);
    expect(pl.program.registers).toBeGreaterThan(0);
    await expect(engine.run(pl.program)).rejects.toThrow(/WRONGTYPE/);
    expect(await temps()).toEqual([]);
    // The connection is still usable.
    expect(await run([{ kind: 'count', expr: andOf([a, b]) }])).toHaveLength(1);
  });

  it.each([
    ['disconnect()', (e: RedisEngine) => e.redis.disconnect()],
    ['a destroyed socket', (e: RedisEngine) => e.redis.stream.destroy()],
  ] as const)('a client that goes away (%s) right after sending a large program leaves none', async (_, leave) => {
    const big1 = keyExpr(BIG1);
    const big2 = keyExpr(BIG2);
    const queries: Query[] = [];
    for (let i = 0; i < 150; i++) {
      const x = xorOf([big1, idsExpr([i * 13, 2 ** 20 - 1 - i])]);
      queries.push({ kind: 'count', expr: andOf([orOf([x, big2]), orOf([big1, idsExpr([i])])]) });
    }
    const pl = plan(queries);
    expect(pl.program.registers).toBeGreaterThan(1);
    for (let round = 0; round < 2; round++) {
      const e = await newEngine();
      // In lua mode the first run also loads the script (EVALSHA falls back to EVAL): do that first.
      await run([{ kind: 'count', expr: andOf([a, b]) }], e);
      const before = await executedPrograms();
      const pending = e.run(pl.program);
      leave(e);
      // disconnect() half-closes, so the answer may still arrive; a destroyed socket loses it.
      const settled = pending.then(
        () => 'answered',
        () => 'failed',
      );
      e.redis.disconnect();
      // Wait until the server has run it, checking for temporaries throughout. (A destroyed socket
      // may drop the tail of a MULTI block before EXEC, and then the server runs nothing: hence the deadline.)
      const deadline = Date.now() + 800;
      let quiet = 0;
      while (Date.now() < deadline && quiet < 5) {
        expect(await temps()).toEqual([]);
        quiet = (await executedPrograms()) > before ? quiet + 1 : 0;
        await sleep(20);
      }
      expect(await temps()).toEqual([]);
      expect(['answered', 'failed']).toContain(await settled);
    }
  });

  /** EVALSHA (lua) or EXEC (pipeline) calls the server has run, from INFO commandstats. */
  async function executedPrograms(): Promise<number> {
    const info = await raw.info('commandstats');
    const m = new RegExp(`cmdstat_${mode === 'lua' ? 'evalsha' : 'exec'}:calls=(\\d+)`).exec(info);
    return Number(m?.[1] ?? 0);
  }

  it('many concurrent runs (some failing) leave none and answer as when run alone', async () => {
    const random = rng(99);
    const pick = (): Expr => [a, b, c][Math.floor(random() * 3)]!;
    const batches: Query[][] = Array.from({ length: 60 }, (_, i) => {
      const qs: Query[] = [];
      for (let j = 0; j < 1 + (i % 5); j++) {
        const e1 = andOf([orOf([pick(), pick(), idsExpr([i, j])]), pick()]);
        const e2 = diffOf(xorOf([pick(), pick(), idsExpr([j * 7])]), orOf([pick(), idsExpr([i])]));
        qs.push({ kind: 'count', expr: orOf([e1, e2]) });
        qs.push({ kind: 'members', expr: xorOf([e1, e2]), after: j, limit: 7 });
        qs.push({ kind: 'exists', expr: andOf([e1, e2]) });
      }
      return qs;
    });
    const alone: Answer[][] = [];
    for (const qs of batches) alone.push(await run(qs));
    const engines = await Promise.all([newEngine(), newEngine(), newEngine()]);
    try {
      const results = await Promise.allSettled(
        batches.flatMap((qs, i) => [
          run(qs, engines[i % 3]!),
          run([...qs, { kind: 'count', expr: orOf([andOf([a, b]), andOf([list, c])]) }], engines[(i + 1) % 3]!),
        ]),
      );
      results.forEach((r, i) => {
        if (i % 2 === 0) expect(r).toEqual({ status: 'fulfilled', value: alone[i / 2] });
        else expect(r.status).toBe('rejected');
      });
      expect(await temps()).toEqual([]);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });
});
