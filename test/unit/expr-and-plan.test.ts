// Canonical forms and planned programs, as text (no server needed).

import { describe, expect, it } from 'vitest';
import { BitmapError } from '../../src/bitmap/errors.ts';
import { EMPTY, andOf, candidateIds, canonical, diffOf, idsExpr, keyExpr, orOf, xorOf } from '../../src/bitmap/expr.ts';
import type { RawExpr } from '../../src/bitmap/expr.ts';
import { plan } from '../../src/bitmap/plan.ts';
import { printProgram, splitProgram } from '../../src/bitmap/program.ts';

const k = (key: string): RawExpr => ({ op: 'key', key });
const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(keyExpr) as [ReturnType<typeof keyExpr>, ReturnType<typeof keyExpr>, ReturnType<typeof keyExpr>, ReturnType<typeof keyExpr>];

describe('canonical form', () => {
  it('merges id lists of any length (no spread past the call-argument limit)', () => {
    const n = 300_000; // above V8's argument limit for a spread call
    const evens = idsExpr(Array.from({ length: n }, (_, i) => 2 * i));
    const odds = idsExpr(Array.from({ length: n }, (_, i) => 2 * i + 1));
    const both = orOf([orOf([evens, a]), odds]);
    expect(both.op).toBe('or');
    const xs = candidateIds(xorOf([evens, odds]));
    expect(xs?.length).toBe(2 * n);
    expect(xs?.[2 * n - 1]).toBe(2 * n - 1);
  });

  it('gives two spellings of one set the same text', () => {
    const pairs: Array<[RawExpr, RawExpr]> = [
      [{ op: 'and', args: [k('a'), k('b')] }, { op: 'and', args: [k('b'), { op: 'and', args: [k('a'), k('a')] }] }],
      [{ op: 'or', args: [k('c'), { op: 'or', args: [k('b'), k('a')] }] }, { op: 'or', args: [k('a'), k('b'), k('c'), k('b')] }],
      [{ op: 'xor', args: [k('a'), k('a'), k('b')] }, k('b')],
      [{ op: 'minus', from: k('a'), subtract: [k('b'), k('c')] }, { op: 'and', args: [k('a'), { op: 'not', arg: k('b') }, { op: 'not', arg: k('c') }] }],
      [{ op: 'and', args: [k('a'), { op: 'not', arg: { op: 'not', arg: k('b') } }] }, { op: 'and', args: [k('b'), k('a')] }],
      [{ op: 'and', args: [{ op: 'minus', from: k('a'), subtract: [k('b')] }, k('c')] }, { op: 'minus', from: { op: 'and', args: [k('c'), k('a')] }, subtract: [k('b')] }],
      [{ op: 'or', args: [{ op: 'ids', ids: [3, 1] }, { op: 'ids', ids: [2, 1] }] }, { op: 'ids', ids: [1, 2, 3] }],
    ];
    for (const [x, y] of pairs) expect(canonical(x).text).toBe(canonical(y).text);
  });

  it('folds empty sets and identities', () => {
    expect(andOf([a, EMPTY])).toBe(EMPTY);
    expect(orOf([a, EMPTY]).text).toBe(a.text);
    expect(xorOf([a, a])).toBe(EMPTY);
    expect(diffOf(a, a)).toBe(EMPTY);
    expect(diffOf(andOf([a, b]), b)).toBe(EMPTY);
    expect(diffOf(a, orOf([a, c]))).toBe(EMPTY);
    expect(andOf([idsExpr([1, 2]), idsExpr([3])])).toBe(EMPTY);
    expect(canonical({ op: 'or', args: [] })).toBe(EMPTY);
  });

  it('refuses a NOT with nothing positive to subtract from', () => {
    const notA: RawExpr = { op: 'not', arg: k('a') };
    for (const raw of [notA, { op: 'or', args: [k('b'), notA] }, { op: 'and', args: [notA, { op: 'not', arg: k('b') }] }] as RawExpr[]) {
      expect(() => canonical(raw)).toThrow(BitmapError);
      try {
        canonical(raw);
      } catch (e) {
        expect((e as BitmapError).code).toBe('UNBOUNDED_NOT');
      }
    }
  });
});

describe('planner', () => {
  it('reads leaf counts directly, with no BITOP', () => {
    const p = plan([{ kind: 'count', expr: a }, { kind: 'exists', expr: b }]);
    expect(printProgram(p.program)).toBe('out count a\nout any b');
    expect(p.program.registers).toBe(0);
  });

  it('computes a shared sub-expression once for the whole batch', () => {
    const week = orOf([a, b, c]);
    const p = plan([
      { kind: 'count', expr: andOf([week, d]) },
      { kind: 'count', expr: diffOf(week, d) },
      { kind: 'count', expr: week },
      { kind: 'count', expr: andOf([d, week]) }, // same set as the first: same output
    ]);
    expect(printProgram(p.program)).toBe(
      ['r0 = or a b c', 'r1 = and d r0', 'out count r1', 'r1 = diff r0 d', 'out count r1', 'out count r0'].join('\n'),
    );
    expect(p.answer([10, 20, 30])).toEqual([10, 20, 30, 10]);
  });

  it('reuses a register once its last reader has run', () => {
    const p = plan([
      { kind: 'count', expr: andOf([a, b]) },
      { kind: 'count', expr: andOf([c, d]) },
      { kind: 'count', expr: xorOf([andOf([a, b]), c]) },
    ]);
    expect(printProgram(p.program)).toBe(
      ['r0 = and a b', 'out count r0', 'r1 = and c d', 'out count r1', 'r1 = xor c r0', 'out count r1'].join('\n'),
    );
    expect(p.program.registers).toBe(2);
  });

  it('answers membership and id-bounded sets by reading single bits', () => {
    const p = plan([
      { kind: 'contains', expr: diffOf(orOf([a, b]), c), id: 7 },
      { kind: 'count', expr: andOf([a, idsExpr([1, 2])]) },
      { kind: 'members', expr: idsExpr([5, 1, 9]), after: 1, limit: 1 },
    ]);
    expect(printProgram(p.program)).toBe(
      ['out getbit a 7', 'out getbit b 7', 'out getbit c 7', 'out getbit a 1', 'out getbit a 2'].join('\n'),
    );
    // a has 7 and 2; b and c have nothing.
    expect(p.answer([1, 0, 0, 0, 1])).toEqual([true, 1, { ids: [5], hasMore: true }]);
  });

  it('pages members with a scan of the computed set', () => {
    const p = plan([{ kind: 'members', expr: orOf([a, b]), after: 99, limit: 10 }]);
    expect(printProgram(p.program)).toBe('r0 = or a b\nout scan r0 after 99 limit 10');
  });
});

describe('splitting a program by where its keys live', () => {
  it('sends outputs over local keys one way and the rest the other, each with the steps it needs', () => {
    const p = plan([
      { kind: 'count', expr: andOf([a, b]) }, // local
      { kind: 'count', expr: orOf([andOf([a, b]), c]) }, // needs c: remote, and the AND again
      { kind: 'count', expr: d }, // remote
      { kind: 'contains', expr: orOf([a, b]), id: 3 }, // local bits
    ]).program;
    const split = splitProgram(p, (key) => key === 'a' || key === 'b');
    expect(printProgram(split.local)).toBe(['r0 = and a b', 'out count r0', 'out getbit a 3', 'out getbit b 3'].join('\n'));
    expect(printProgram(split.remote)).toBe(['r0 = and a b', 'r1 = or c r0', 'out count r1', 'out count d'].join('\n'));
    expect(split.merge([1, 0, 1], [2, 3])).toEqual([1, 2, 3, 0, 1]);
  });
});
