// bitmapist-server compatibility: in 'pipeline' mode the Redis engine sends only commands that
// bitmapist-server implements, in forms it accepts, and answers exactly as the 'lua' mode does.
// A second connection runs MONITOR and records what the engine's connection sends.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { andOf, diffOf, idsExpr, keyExpr, orOf, xorOf } from '../../src/bitmap/expr.ts';
import type { Expr } from '../../src/bitmap/expr.ts';
import { plan } from '../../src/bitmap/plan.ts';
import type { Answer, Query } from '../../src/bitmap/plan.ts';
import { redisUrl, rng } from '../helpers.ts';

const ALLOWED = new Set(['SETBIT', 'GETBIT', 'BITCOUNT', 'BITOP', 'GET', 'SET', 'EXISTS', 'DEL', 'SCAN', 'EXPIRE', 'MULTI', 'EXEC']);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('pipeline mode sends only bitmapist-server commands', () => {
  const p = `pc${randomBytes(4).toString('hex')}_`;
  const keys = ['a', 'b', 'c', 'd'].map((n) => `${p}ev_${n}`);
  const [a, b, c, d] = keys.map(keyExpr) as [Expr, Expr, Expr, Expr];
  const missing = keyExpr(`${p}ev_missing`);
  let monitor: Redis;
  let pipeline: RedisEngine;
  let lua: RedisEngine;
  /** [source address, command and arguments] of every command the server saw. */
  const seen: Array<[string, string[]]> = [];

  beforeAll(async () => {
    const raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
    monitor = await raw.monitor();
    raw.disconnect();
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push([source, args]));
    // Connect after MONITOR starts, so the connection's own start-up commands are checked too.
    pipeline = await new RedisEngine({ url: redisUrl(), mode: 'pipeline', tempPrefix: `${p}bitop_` }).connect();
    lua = await new RedisEngine({ url: redisUrl(), mode: 'lua', tempPrefix: `${p}bitop_` }).connect();
  });
  afterAll(async () => {
    await lua.delete(keys.concat(`${p}restored`));
    monitor.disconnect();
    await pipeline.close();
    await lua.close();
  });

  const ask = async (engine: RedisEngine, queries: Query[]): Promise<Answer[]> => {
    const pl = plan(queries);
    return pl.answer(await engine.run(pl.program));
  };

  /** Programs covering every instruction: and, or, xor, diff, count, any, getbit, bits and scan. */
  function programs(): Query[][] {
    const random = rng(2024);
    const leaf = (): Expr => {
      const r = random();
      if (r < 0.7) return [a, b, c, d][Math.floor(random() * 4)]!;
      if (r < 0.8) return missing;
      return idsExpr(Array.from({ length: 1 + Math.floor(random() * 4) }, () => Math.floor(random() * 3000)));
    };
    const gen = (depth: number): Expr => {
      if (depth === 0 || random() < 0.3) return leaf();
      const n = 2 + Math.floor(random() * 3);
      const args = Array.from({ length: n }, () => gen(depth - 1));
      switch (Math.floor(random() * 4)) {
        case 0:
          return andOf(args);
        case 1:
          return orOf(args);
        case 2:
          return xorOf(args);
        default:
          return diffOf(args[0]!, orOf(args.slice(1)));
      }
    };
    const fixed: Query[] = [
      { kind: 'count', expr: andOf([a, b]) },
      { kind: 'count', expr: orOf([a, b, c, d]) },
      { kind: 'count', expr: xorOf([a, b, c]) },
      { kind: 'count', expr: diffOf(a, b) },
      { kind: 'count', expr: diffOf(orOf([a, b]), orOf([c, d])) },
      { kind: 'count', expr: a },
      { kind: 'count', expr: missing },
      { kind: 'exists', expr: andOf([a, missing]) },
      { kind: 'exists', expr: andOf([c, d]) },
      { kind: 'contains', expr: andOf([a, b]), id: 17 },
      { kind: 'contains', expr: a, id: 2999 },
      { kind: 'members', expr: orOf([a, idsExpr([5, 6000])]), after: null, limit: 20 },
      { kind: 'members', expr: xorOf([b, c]), after: 1000, limit: 5 },
      { kind: 'members', expr: missing, after: null, limit: 5 },
      { kind: 'count', expr: xorOf([a, idsExpr([1, 2, 3])]) },
      { kind: 'count', expr: andOf([a, idsExpr([1, 2, 3, 4, 5, 6, 7, 8])]) },
      { kind: 'members', expr: diffOf(idsExpr([1, 2, 3, 40, 41]), a), after: 1, limit: 2 },
      // Bits of one set at 60 ids: one GET of the set rather than 60 GETBITs.
      { kind: 'count', expr: orOf([c, idsExpr(Array.from({ length: 60 }, (_, i) => i * 47))]) },
    ];
    const out: Query[][] = [fixed];
    for (let n = 0; n < 12; n++) {
      const qs: Query[] = [];
      for (let i = 0; i < 8; i++) {
        const expr = gen(3);
        const kind = Math.floor(random() * 4);
        if (kind === 0) qs.push({ kind: 'count', expr });
        else if (kind === 1) qs.push({ kind: 'exists', expr });
        else if (kind === 2) qs.push({ kind: 'contains', expr, id: Math.floor(random() * 3000) });
        else qs.push({ kind: 'members', expr, after: random() < 0.5 ? null : Math.floor(random() * 2000), limit: 1 + Math.floor(random() * 50) });
      }
      out.push(qs);
    }
    return out;
  }

  it('writes, runs programs, scans, dumps and restores with allowed commands only, answering as lua does', async () => {
    const random = rng(11);
    const writes = keys.flatMap((key) =>
      Array.from({ length: 400 }, () => ({ key, offset: Math.floor(random() * 3000), bit: 1 as const })),
    );
    await pipeline.write(writes);
    await pipeline.write([{ key: keys[0]!, offset: 5, bit: 0 }]);

    const all = programs();
    let instructions = 0;
    for (const qs of all) {
      const pl = plan(qs);
      instructions += pl.program.instructions.length;
      const viaPipeline = pl.answer(await pipeline.run(pl.program));
      const viaLua = pl.answer(await lua.run(pl.program));
      expect(viaPipeline).toEqual(viaLua);
    }
    expect(instructions).toBeGreaterThan(100);
    const ops = new Set(all.flatMap((qs) => plan(qs).program.instructions.map((i) => i.op)));
    expect([...ops].sort()).toEqual(['and', 'any', 'bits', 'count', 'diff', 'getbit', 'or', 'scan', 'xor']);

    const scanned: string[] = [];
    for await (const batch of pipeline.scan(p)) scanned.push(...batch);
    expect(scanned.sort()).toEqual([...keys].sort());
    const bytes = await pipeline.dump(keys[1]!);
    expect(bytes).not.toBeNull();
    await pipeline.restore(`${p}restored`, bytes!);
    expect(await ask(pipeline, [{ kind: 'count', expr: keyExpr(`${p}restored`) }])).toEqual(
      await ask(lua, [{ kind: 'count', expr: b }]),
    );
    expect(await pipeline.delete([`${p}restored`])).toBe(1);
    expect(await pipeline.ready()).toBe(true);

    // Counters need hashes, which bitmapist-server lacks: refused before anything is sent.
    const refused = { code: 'UNSUPPORTED' };
    await expect(pipeline.increment([{ key: `${p}counter`, field: 'x', by: 1 }])).rejects.toMatchObject(refused);
    const counterPlan = plan([{ kind: 'counter', keys: [`${p}counter`], field: 'x' }]);
    await expect(pipeline.run(counterPlan.program)).rejects.toMatchObject(refused);
    expect(await lua.run(counterPlan.program)).toEqual([0]);

    // A sentinel: once MONITOR has shown it, everything before it has been seen.
    const sentinel = `${p}sentinel`;
    await pipeline.redis.exists(sentinel);
    const deadline = Date.now() + 5000;
    while (!seen.some(([, args]) => args[1] === sentinel) && Date.now() < deadline) await sleep(10);

    const port = pipeline.redis.stream.localPort;
    const mine = seen.filter(([source]) => source.endsWith(`:${port}`)).map(([, args]) => args);
    expect(mine.length).toBeGreaterThan(instructions);
    const names = new Set(mine.map((args) => args[0]!.toUpperCase()));
    expect([...names].filter((n) => !ALLOWED.has(n))).toEqual([]);
    for (const n of ['SETBIT', 'GETBIT', 'BITCOUNT', 'BITOP', 'GET', 'SET', 'EXISTS', 'DEL', 'SCAN', 'MULTI', 'EXEC']) {
      expect(names, n).toContain(n);
    }
    for (const args of mine) {
      const name = args[0]!.toUpperCase();
      if (name === 'BITOP') {
        const op = args[1]!.toUpperCase();
        const sources = args.length - 3;
        expect(['AND', 'OR', 'XOR', 'NOT'], args.join(' ')).toContain(op);
        if (op === 'NOT') expect(sources, args.join(' ')).toBe(1);
        else expect(sources, args.join(' ')).toBeGreaterThanOrEqual(2);
      }
      if (name === 'BITCOUNT') expect(args, 'BITCOUNT takes no range').toHaveLength(2);
    }
    // The lua engine's connection is a different one, and does use EVALSHA.
    const luaPort = lua.redis.stream.localPort;
    expect(seen.some(([source, args]) => source.endsWith(`:${luaPort}`) && args[0]!.toUpperCase() === 'EVALSHA')).toBe(true);
  });
});
