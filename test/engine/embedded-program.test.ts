// Embedded engine: program execution against a reference model built from JS Sets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBits } from '../../src/bitmap/engines/engine.ts';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { EmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import { andOf, diffOf, idsExpr, keyExpr, orOf, xorOf } from '../../src/bitmap/expr.ts';
import type { Expr } from '../../src/bitmap/expr.ts';
import { evaluateExpr } from '../expr-reference.ts';
import { plan } from '../../src/bitmap/plan.ts';
import type { Query } from '../../src/bitmap/plan.ts';
import type { MemberPage, Program } from '../../src/bitmap/program.ts';
import { rng } from '../rng.ts';


const KEYS = ['ev_a', 'ev_b', 'ev_c', 'ev_d'];
const MISSING = 'ev_missing';
const MAX = 2 ** 32 - 1;

type Ref = Map<string, Set<number>>;


const sorted = (s: Iterable<number>): number[] => [...s].sort((a, b) => a - b);

function randomOffset(rnd: () => number): number {
  const r = rnd();
  if (r < 0.7) return Math.floor(rnd() * 3000);
  if (r < 0.85) return 100_000 + Math.floor(rnd() * 20_000); // dense run
  if (r < 0.95) return 65_530 + Math.floor(rnd() * 12); // container boundary
  return [MAX, MAX - 1, 2 ** 31, 2 ** 31 - 1, 2 ** 24][Math.floor(rnd() * 5)]!;
}

function randomExpr(rnd: () => number, ref: Ref, depth: number): Expr {
  const r = rnd();
  if (depth <= 0 || r < 0.3) {
    if (rnd() < 0.8) return keyExpr(rnd() < 0.08 ? MISSING : KEYS[Math.floor(rnd() * KEYS.length)]!);
    // ids: partly real members, partly random
    const ids: number[] = [];
    const pool = sorted(ref.get(KEYS[Math.floor(rnd() * KEYS.length)]!) ?? []);
    const n = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) ids.push(rnd() < 0.6 && pool.length ? pool[Math.floor(rnd() * pool.length)]! : randomOffset(rnd));
    return idsExpr(ids);
  }
  const arity = 2 + Math.floor(rnd() * 2);
  const kids = (): Expr[] => Array.from({ length: arity }, () => randomExpr(rnd, ref, depth - 1));
  if (r < 0.5) return andOf(kids());
  if (r < 0.7) return orOf(kids());
  if (r < 0.85) return xorOf(kids());
  return diffOf(randomExpr(rnd, ref, depth - 1), randomExpr(rnd, ref, depth - 1));
}

describe('embedded engine: programs', () => {
  let dir: string;
  let engine: EmbeddedEngine;
  const ref: Ref = new Map();
  const rnd = rng(20260501);

  const applyRef = (writes: readonly BitWrite[]): void => {
    for (const w of writes) {
      let s = ref.get(w.key);
      if (!s) ref.set(w.key, (s = new Set()));
      if (w.bit) s.add(w.offset);
      else s.delete(w.offset);
      if (s.size === 0) ref.delete(w.key);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitmapql-embedded-prog-'));
    engine = await openEmbeddedEngine({ dir, fsync: 'os' });
    for (let b = 0; b < 40; b++) {
      const writes: BitWrite[] = [];
      for (let i = 0; i < 400; i++) {
        const key = KEYS[Math.floor(rnd() * KEYS.length)]!;
        writes.push({ key, offset: randomOffset(rnd), bit: rnd() < 0.8 ? 1 : 0 });
      }
      applyRef(writes);
      await engine.write(writes);
    }
    // a contiguous range, so roaring uses a run container
    const run: BitWrite[] = [];
    for (let i = 200_000; i < 205_000; i++) run.push({ key: 'ev_b', offset: i, bit: 1 });
    applyRef(run);
    await engine.write(run);
  });

  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function allMembers(e: Expr, limit: number, maxBitReads: number): Promise<number[]> {
    const out: number[] = [];
    let after: number | null = null;
    const want = sorted(evaluateExpr(e, ref));
    for (;;) {
      const p = plan([{ kind: 'members', expr: e, after, limit }], { maxBitReads });
      const page = p.answer(await engine.run(p.program))[0] as MemberPage;
      const from = after ?? -1;
      const expected = want.filter((x) => x > from);
      expect(page.ids).toEqual(expected.slice(0, limit));
      expect(page.hasMore).toBe(expected.length > limit);
      out.push(...page.ids);
      if (!page.hasMore) break;
      after = page.ids[page.ids.length - 1]!;
    }
    return out;
  }

  it('matches the reference on random planned batches', async () => {
    const q = rng(7);
    for (let round = 0; round < 150; round++) {
      const queries: Array<Extract<Query, { expr: unknown }>> = [];
      const n = 1 + Math.floor(q() * 6);
      for (let i = 0; i < n; i++) {
        const expr = randomExpr(q, ref, 3);
        const kind = q();
        if (kind < 0.3) queries.push({ kind: 'count', expr });
        else if (kind < 0.5) queries.push({ kind: 'exists', expr });
        else if (kind < 0.75) {
          const members = sorted(evaluateExpr(expr, ref));
          const id = q() < 0.5 && members.length ? members[Math.floor(q() * members.length)]! : randomOffset(q);
          queries.push({ kind: 'contains', expr, id });
        } else {
          const members = sorted(evaluateExpr(expr, ref));
          const after = q() < 0.5 ? null : q() < 0.5 && members.length ? members[Math.floor(q() * members.length)]! : randomOffset(q);
          queries.push({ kind: 'members', expr, after, limit: 1 + Math.floor(q() * 40) });
        }
      }
      const maxBitReads = q() < 0.5 ? 0 : 4096;
      const p = plan(queries, { maxBitReads });
      const answers = p.answer(await engine.run(p.program));
      queries.forEach((query, i) => {
        const set = evaluateExpr(query.expr, ref);
        const got = answers[i];
        switch (query.kind) {
          case 'count':
            expect(got, query.expr.text).toBe(set.size);
            break;
          case 'exists':
            expect(got, query.expr.text).toBe(set.size > 0);
            break;
          case 'contains':
            expect(got, `${query.expr.text} ∋ ${query.id}`).toBe(set.has(query.id));
            break;
          case 'members': {
            const later = sorted(set).filter((x) => x > (query.after ?? -1));
            expect(got, query.expr.text).toEqual({ ids: later.slice(0, query.limit), hasMore: later.length > query.limit });
          }
        }
      });
    }
  });

  it('walks every page of members back to the full sorted set', async () => {
    const q = rng(99);
    for (let round = 0; round < 25; round++) {
      const expr = randomExpr(q, ref, 2);
      const limit = [1, 7, 100, 5000][round % 4]!;
      const got = await allMembers(expr, limit, round % 2 ? 0 : 4096);
      expect(got).toEqual(sorted(evaluateExpr(expr, ref)));
    }
    // every stored key on its own, with large pages
    for (const key of KEYS) {
      expect(await allMembers(keyExpr(key), 1000, 0)).toEqual(sorted(ref.get(key) ?? []));
    }
  });

  it('runs hand-written programs: registers, missing keys, getbit, scan edges', async () => {
    const a = ref.get('ev_a')!;
    const b = ref.get('ev_b')!;
    const program: Program = {
      registers: 2,
      instructions: [
        { op: 'and', dest: 0, args: [{ key: 'ev_a' }, { key: 'ev_b' }, { key: 'ev_c' }] },
        { op: 'count', src: { reg: 0 } },
        { op: 'or', dest: 1, args: [{ key: MISSING }, { key: 'ev_a' }] },
        { op: 'count', src: { reg: 1 } },
        { op: 'xor', dest: 0, args: [{ reg: 1 }, { key: 'ev_b' }] },
        { op: 'count', src: { reg: 0 } },
        { op: 'diff', dest: 1, from: { key: 'ev_a' }, minus: { key: MISSING } },
        { op: 'any', src: { reg: 1 } },
        { op: 'any', src: { key: MISSING } },
        { op: 'count', src: { key: MISSING } },
        { op: 'getbit', src: { key: MISSING }, offset: 5 },
        { op: 'getbit', src: { key: 'ev_b' }, offset: 200_000 },
        { op: 'getbit', src: { key: 'ev_b' }, offset: 199_999 },
        { op: 'scan', src: { key: MISSING }, after: -1, limit: 10 },
        { op: 'scan', src: { key: 'ev_b' }, after: MAX, limit: 10 },
        { op: 'scan', src: { key: 'ev_b' }, after: 199_999, limit: 3 },
        { op: 'scan', src: { key: 'ev_b' }, after: 204_996, limit: 3 },
        { op: 'bits', src: { key: 'ev_b' }, offsets: [0, 199_999, 200_000, 200_001, MAX] },
        { op: 'bits', src: { key: MISSING }, offsets: [1, MAX] },
      ],
    };
    const c = ref.get('ev_c')!;
    const abc = [...a].filter((x) => b.has(x) && c.has(x)).length;
    const xor = new Set([...a, ...b].filter((x) => a.has(x) !== b.has(x))).size;
    const b205 = sorted(b).filter((x) => x > 204_996);
    expect(await engine.run(program)).toEqual([
      abc,
      a.size,
      xor,
      true,
      false,
      0,
      0,
      1,
      b.has(199_999) ? 1 : 0,
      { ids: [], hasMore: false },
      { ids: [], hasMore: false },
      { ids: [200_000, 200_001, 200_002], hasMore: true },
      { ids: b205.slice(0, 3), hasMore: b205.length > 3 },
      Uint8Array.from([0, 199_999, 200_000, 200_001, MAX], (x) => (b.has(x) ? 1 : 0)),
      Uint8Array.of(0, 0),
    ]);
  });

  it('dumps in Redis layout and restores the inverse', async () => {
    await engine.write([
      { key: 'layout', offset: 0, bit: 1 },
      { key: 'layout', offset: 9, bit: 1 },
      { key: 'layout', offset: 23, bit: 1 },
    ]);
    expect([...(await engine.dump('layout'))!]).toEqual([0x80, 0x40, 0x01]);
    expect(await engine.dump(MISSING)).toBeNull();
    for (const key of ['ev_a', 'ev_c']) {
      const members = sorted(ref.get(key)!);
      // skip keys holding a near-2^32 offset (a 512 MB string, as in Redis)
      if (members[members.length - 1]! > 10_000_000) continue;
      const bytes = (await engine.dump(key))!;
      expect(bytes.length).toBe(Math.floor(members[members.length - 1]! / 8) + 1);
      expect(decodeBits(bytes, 0, 0, Number.MAX_SAFE_INTEGER).ids).toEqual(members);
      await engine.restore(`copy_${key}`, bytes);
      expect(await engine.dump(`copy_${key}`)).toEqual(bytes);
    }
    // restore replaces; all-zero bytes leave no key (Redis would keep a zero-filled string)
    await engine.restore('layout', Buffer.from([0x00, 0x20]));
    expect(await engine.run({ registers: 0, instructions: [{ op: 'scan', src: { key: 'layout' }, after: -1, limit: 10 }] })).toEqual([
      { ids: [10], hasMore: false },
    ]);
    await engine.restore('layout', Buffer.alloc(4));
    expect(await engine.dump('layout')).toBeNull();
  });

  it('scans keys by prefix, deletes, drops bitmaps that become empty', async () => {
    await engine.write([
      { key: 'tmp_x', offset: 1, bit: 1 },
      { key: 'tmp_y', offset: 2, bit: 1 },
      { key: 'tmp_z', offset: 3, bit: 1 },
    ]);
    const keys = async (prefix: string): Promise<string[]> => {
      const all: string[] = [];
      for await (const batch of engine.scan(prefix)) all.push(...batch);
      return all.sort();
    };
    expect(await keys('tmp_')).toEqual(['tmp_x', 'tmp_y', 'tmp_z']);
    expect(await keys('ev_')).toEqual(KEYS.filter((k) => ref.has(k)).sort());
    await engine.write([{ key: 'tmp_z', offset: 3, bit: 0 }]);
    expect(await keys('tmp_')).toEqual(['tmp_x', 'tmp_y']);
    expect(await engine.delete(['tmp_x', 'tmp_x', 'tmp_z', 'nope'])).toBe(1);
    expect(await keys('tmp_')).toEqual(['tmp_y']);
    expect(await engine.delete([])).toBe(0);
  });

  it('rejects bad offsets and bits without writing anything', async () => {
    await expect(engine.write([{ key: 'bad', offset: 1, bit: 1 }, { key: 'bad', offset: 2 ** 32, bit: 1 }])).rejects.toThrow(/offset/);
    await expect(engine.write([{ key: 'bad', offset: -1, bit: 1 }])).rejects.toThrow(/offset/);
    await expect(engine.write([{ key: 'bad', offset: 1.5, bit: 1 }])).rejects.toThrow(/offset/);
    await expect(engine.write([{ key: 'bad', offset: 1, bit: 2 as 1 }])).rejects.toThrow(/bit/);
    expect(await engine.dump('bad')).toBeNull();
    expect(engine.memoryBytes()).toBeGreaterThan(0);
    expect(await engine.ready()).toBe(true);
  });
});
