// Sets that name ids, on the Redis engine in both modes: answered by reading bits at the ids
// (packed lists and ranged reads in Lua, GETBITs or one GET in a pipeline), never by writing
// them, and checked against plain Sets with id lists dense and sparse, past the end of every key
// and near 2^32; BITOPs over thousands of keys, in chunks.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { andOf, diffOf, idsExpr, keyExpr, orOf, xorOf } from '../../src/bitmap/expr.ts';
import type { Expr } from '../../src/bitmap/expr.ts';
import { evaluateExpr } from '../expr-reference.ts';
import { plan } from '../../src/bitmap/plan.ts';
import type { Answer, Query } from '../../src/bitmap/plan.ts';
import { scanAll } from '../assertions.ts';
import { redisUrl, rng } from '../helpers.ts';

const MAX = 2 ** 32 - 1;
/** Stored offsets stay below this (256 KiB bitmaps), so that id lists span several 64 KiB reads. */
const SPAN = 2 ** 21;

type Sets = Map<string, Set<number>>;


const sorted = (s: Iterable<number>): number[] => [...s].sort((a, b) => a - b);

describe.each(['lua', 'pipeline'] as const)('sets naming ids (redis %s)', (mode) => {
  const p = `ir${randomBytes(4).toString('hex')}_`;
  const tempPrefix = `${p}bitop_`;
  const KEYS = ['a', 'b', 'c', 'd'].map((n) => `${p}${n}`);
  const MISSING = `${p}missing`;
  const ref: Sets = new Map();
  let engine: RedisEngine;
  let raw: Redis;

  const ask = async (queries: Query[], maxBitReads?: number): Promise<Answer[]> => {
    const pl = plan(queries, { maxBitReads });
    return pl.answer(await engine.run(pl.program));
  };

  /** An id list of one of several shapes: members, a dense run, 64-byte gaps, 64 KiB spans, far ids. */
  const idList = (random: () => number): number[] => {
    const n = 1 + Math.floor(random() * (random() < 0.2 ? 300 : 40));
    const start = Math.floor(random() * SPAN);
    const pool = sorted(ref.get(KEYS[Math.floor(random() * KEYS.length)]!) ?? []);
    const shape = Math.floor(random() * 6);
    return Array.from({ length: n }, (_, i) => {
      switch (shape) {
        case 0:
          return pool.length ? pool[Math.floor(random() * pool.length)]! : i;
        case 1:
          return start + i;
        case 2:
          return start + i * (512 + Math.floor(random() * 17) - 8); // around the 64-byte gap that splits reads
        case 3:
          return (start + i * 200_003) % SPAN; // reads that would pass 64 KiB
        case 4:
          return MAX - Math.floor(random() * 1000);
        default:
          return random() < 0.5 ? SPAN + Math.floor(random() * (MAX - SPAN)) : Math.floor(random() * SPAN);
      }
    });
  };

  const randomExpr = (random: () => number, depth: number): Expr => {
    const r = random();
    if (depth <= 0 || r < 0.3) {
      const leaf = random();
      if (leaf < 0.35) return idsExpr(idList(random));
      if (leaf < 0.4) return keyExpr(MISSING);
      return keyExpr(KEYS[Math.floor(random() * KEYS.length)]!);
    }
    const kids = (): Expr[] => Array.from({ length: 2 + Math.floor(random() * 2) }, () => randomExpr(random, depth - 1));
    if (r < 0.5) return andOf(kids());
    if (r < 0.7) return orOf(kids());
    if (r < 0.85) return xorOf(kids());
    return diffOf(randomExpr(random, depth - 1), randomExpr(random, depth - 1));
  };

  beforeAll(async () => {
    engine = await new RedisEngine({ url: redisUrl(), mode, tempPrefix }).connect();
    raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
    const random = rng(4_294_967_295);
    const writes: BitWrite[] = [];
    for (const key of KEYS) {
      const s = new Set<number>();
      for (let i = 0; i < 3000; i++) s.add(Math.floor(random() * SPAN));
      const run = Math.floor(random() * (SPAN - 5000));
      for (let i = 0; i < 4000; i++) if (random() < 0.7) s.add(run + i);
      ref.set(key, s);
      for (const offset of s) writes.push({ key, offset, bit: 1 });
    }
    await engine.write(writes);
  });
  afterAll(async () => {
    await raw.del(...(await scanAll(raw, `${p}*`)));
    raw.disconnect();
    await engine.close();
  });

  it('answers random batches as plain Sets do, and writes nothing while reading', async () => {
    const client = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
    const monitor = await client.monitor();
    client.disconnect();
    // Other test files share the server: only commands on this file's keys count (scripts'
    // commands show no client address).
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[1]?.startsWith(p)) seen.push(args);
    });
    const random = rng(12);
    let bitsRead = 0;
    for (let round = 0; round < 50; round++) {
      const queries: Array<Extract<Query, { expr: unknown }>> = [];
      for (let i = 1 + Math.floor(random() * 6); i > 0; i--) {
        const expr = randomExpr(random, 3);
        const members = sorted(evaluateExpr(expr, ref));
        const pick = (): number => (members.length && random() < 0.5 ? members[Math.floor(random() * members.length)]! : idList(random)[0]!);
        const kind = random();
        if (kind < 0.4) queries.push({ kind: 'count', expr });
        else if (kind < 0.55) queries.push({ kind: 'exists', expr });
        else if (kind < 0.7) queries.push({ kind: 'contains', expr, id: pick() });
        else queries.push({ kind: 'members', expr, after: random() < 0.4 ? null : pick(), limit: 1 + Math.floor(random() * 60) });
      }
      // 0: even sets bounded by their ids are answered by reading the bits of their ids-free parts.
      const maxBitReads = random() < 0.5 ? 0 : 4096;
      const pl = plan(queries, { maxBitReads });
      for (const i of pl.program.instructions) if (i.op === 'bits') bitsRead += i.offsets.length;
      const answers = pl.answer(await engine.run(pl.program));
      queries.forEach((q, i) => {
        const set = evaluateExpr(q.expr, ref);
        const got = answers[i];
        if (q.kind === 'count') expect(got, q.expr.text).toBe(set.size);
        else if (q.kind === 'exists') expect(got, q.expr.text).toBe(set.size > 0);
        else if (q.kind === 'contains') expect(got, `${q.expr.text} ∋ ${q.id}`).toBe(set.has(q.id));
        else if (q.kind === 'members') {
          const later = sorted(set).filter((x) => x > (q.after ?? -1));
          expect(got, q.expr.text).toEqual({ ids: later.slice(0, q.limit), hasMore: later.length > q.limit });
        }
      });
    }
    expect(bitsRead).toBeGreaterThan(10_000);
    // A sentinel: once MONITOR has shown it, everything before it has been seen.
    const sentinel = `${p}sentinel`;
    await raw.exists(sentinel);
    for (let i = 0; i < 500 && !seen.some((args) => args[1] === sentinel); i++) await new Promise((r) => setTimeout(r, 10));
    monitor.disconnect();
    const names = new Set(seen.map((args) => args[0]!.toUpperCase()));
    expect(names).toContain(mode === 'lua' ? 'GETRANGE' : 'GETBIT');
    for (const write of ['SETBIT', 'SETRANGE', 'SET', 'APPEND']) expect(names, write).not.toContain(write);
    expect(await scanAll(raw, `${tempPrefix}*`)).toEqual([]);
  });

  it('pages a set whose first members are taken out by ids, across the named ids', async () => {
    const a = keyExpr(KEYS[0]!);
    const members = sorted(ref.get(KEYS[0]!)!);
    const first = members.slice(0, 5);
    const pages: Array<[Expr, number | null, number]> = [
      [xorOf([a, idsExpr([...first, MAX])]), null, 3], // the page of a starts with five ids the xor drops
      [diffOf(a, idsExpr(first)), null, 3],
      [diffOf(a, idsExpr(members.slice(1, 200))), members[0]!, 2],
      [orOf([a, idsExpr([MAX, first[0]! + 1])]), first[0]!, 4],
    ];
    for (const [expr, after, limit] of pages) {
      const later = sorted(evaluateExpr(expr, ref)).filter((x) => x > (after ?? -1));
      for (const maxBitReads of [0, 4096]) {
        expect(await ask([{ kind: 'members', expr, after, limit }], maxBitReads), expr.text).toEqual([
          { ids: later.slice(0, limit), hasMore: later.length > limit },
        ]);
      }
    }
  });

  it('runs and, or, xor and a difference over 9,000 keys each (past the ~8,000 values Lua unpacks), in chunks', async () => {
    const wide = Array.from({ length: 9000 }, (_, i) => `${p}w${i}`);
    const random = rng(9000);
    const writes: BitWrite[] = [];
    for (const [i, key] of wide.entries()) {
      if (i % 3 === 2) continue; // a third are missing
      const s = new Set([7, 9_999]); // in every stored key...
      for (let j = 0; j < 4; j++) s.add(Math.floor(random() * 50_000));
      ref.set(key, s);
      for (const offset of s) writes.push({ key, offset, bit: 1 });
    }
    await engine.write(writes);
    const stored = wide.filter((_, i) => i % 3 !== 2).map(keyExpr);
    const all = wide.map(keyExpr);
    const queries: Array<Extract<Query, { expr: Expr }>> = [
      { kind: 'count', expr: orOf(all) },
      { kind: 'count', expr: xorOf(all) },
      { kind: 'members', expr: andOf(stored), after: null, limit: 10 }, // ...so their AND is {7, 9999}
      { kind: 'count', expr: andOf(all) }, // a missing key empties it
      { kind: 'count', expr: diffOf(keyExpr(KEYS[0]!), orOf(all)) },
      { kind: 'count', expr: orOf([idsExpr([8, MAX]), ...all]) },
    ];
    const answers = await ask(queries);
    queries.forEach((q, i) => {
      const set = evaluateExpr(q.expr, ref);
      if (q.kind === 'members') expect(answers[i]).toEqual({ ids: sorted(set).slice(0, 10), hasMore: set.size > 10 });
      else expect(answers[i], `query ${i}`).toBe(set.size);
    });
    expect(answers[2]).toEqual({ ids: [7, 9_999], hasMore: false });
    expect(await scanAll(raw, `${tempPrefix}*`)).toEqual([]);
  });
});
