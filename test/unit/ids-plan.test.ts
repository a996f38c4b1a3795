// How sets that name ids are planned: bits read at the ids, never a bitmap of the ids (no server).

import { describe, expect, it } from 'vitest';
import { BitmapError } from '../../src/bitmap/errors.ts';
import { andOf, diffOf, idsExpr, keyExpr, orOf, xorOf } from '../../src/bitmap/expr.ts';
import { plan } from '../../src/bitmap/plan.ts';
import { printProgram } from '../../src/bitmap/program.ts';

const [a, b] = [keyExpr('a'), keyExpr('b')];
const TOP = 4294967295;

describe('sets that name ids', () => {
  it('count the ids-free part and read its bits at the ids', () => {
    const p = plan([{ kind: 'count', expr: orOf([idsExpr([TOP]), a]) }]);
    expect(printProgram(p.program)).toBe(['out count a', `out bits a at ${TOP}`].join('\n'));
    expect(p.answer([10, Uint8Array.of(0)])).toEqual([11]);
    expect(p.answer([10, Uint8Array.of(1)])).toEqual([10]);
  });

  it('read the operands beside ids as one set, only at the ids that can change the answer', () => {
    const p = plan([
      { kind: 'count', expr: xorOf([a, b, idsExpr([1, 5])]) },
      { kind: 'count', expr: diffOf(orOf([a, b]), idsExpr([2, TOP])) },
      { kind: 'exists', expr: orOf([andOf([a, idsExpr([3, 4])]), andOf([b, idsExpr([4, 6])])]) },
    ], { maxBitReads: 0 });
    expect(printProgram(p.program)).toBe(
      [
        'r0 = xor a b',
        'out count r0',
        'out bits r0 at 1 5', // a ⊕ b at 1 and 5: both E' and the xor's operands
        'r0 = or a b',
        'out count r0',
        `out bits r0 at 2 ${TOP}`,
        'out bits a at 3 4', // each and only at its own ids
        'out bits b at 4 6',
      ].join('\n'),
    );
    // xor: 10 members, 1 among them, 5 not → 1 leaves, 5 joins: 10. diff: 7, minus 2 (a member).
    expect(p.answer([10, Uint8Array.of(1, 0), 7, Uint8Array.of(1, 0), Uint8Array.of(0, 0), Uint8Array.of(0, 1)])).toEqual([10, 6, true]);
  });

  it('send one list of ids read at many sets once, and refuse a batch past its bit reads', () => {
    const ids = idsExpr(Array.from({ length: 500 }, (_, i) => i * 3));
    const series = Array.from({ length: 20 }, (_, d) => ({ kind: 'count' as const, expr: andOf([keyExpr(`day${d}`), ids]) }));
    const p = plan(series, { maxBitReads: 0 });
    const lists = p.program.instructions.flatMap((i) => (i.op === 'bits' ? [i.offsets] : []));
    expect(lists).toHaveLength(20);
    expect(new Set(lists).size).toBe(1);

    expect(() => plan(series, { maxBitReads: 0, maxIdReads: 9_999 })).toThrow(BitmapError);
    try {
      plan(series, { maxBitReads: 0, maxIdReads: 9_999 });
    } catch (e) {
      expect(e).toMatchObject({ code: 'TOO_COMPLEX', details: { limit: 9_999 } });
      expect((e as Error).message).toMatch(/more than 9999 bits/);
    }
    expect(plan(series, { maxBitReads: 0, maxIdReads: 10_000 }).program.instructions).toHaveLength(20);
  });
});
