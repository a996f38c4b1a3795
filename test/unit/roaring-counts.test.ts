// Counts on roaring bitmaps that are worked out without building the set: three-way ANDs and
// "in a and b but not m", against plain JS Sets, whatever registers the program uses.

import { describe, expect, it } from 'vitest';
import { RoaringBitmap32, runOnBitmaps } from '../../src/bitmap/engines/roaring.ts';
import type { Instruction, Program } from '../../src/bitmap/program.ts';
import { rng } from '../rng.ts';

const random = rng(2024);
/** Dense (bitset containers) and sparse (array containers) sets over the same ids. */
const sets = new Map<string, Set<number>>(
  ['a', 'b', 'c', 'm', 's'].map((k) => {
    const density = k === 's' ? 0.002 : 0.3;
    const ids = new Set<number>();
    for (let id = 0; id < 300_000; id++) if (random() < density) ids.add(id);
    return [k, ids];
  }),
);
const bitmaps = new Map([...sets].map(([k, ids]) => [k, new RoaringBitmap32(ids)]));
const source = { bitmap: (k: string) => bitmaps.get(k), hash: () => undefined };
const key = (k: string) => ({ key: k });
const set = (k: string): Set<number> => sets.get(k)!;
const inAll = (...ks: string[]): Set<number> => new Set([...set(ks[0]!)].filter((x) => ks.every((k) => set(k).has(x))));
const without = (from: Set<number>, minus: Set<number>): number => [...from].filter((x) => !minus.has(x)).length;

const run = (instructions: Instruction[], registers = 4): unknown[] => runOnBitmaps({ registers, instructions } satisfies Program, source);

describe('counts worked out without building the set', () => {
  it('three-way AND, dense and sparse', () => {
    for (const [x, y, z] of [['a', 'b', 'c'], ['a', 's', 'c'], ['s', 'a', 'b']] as const) {
      expect(run([{ op: 'and', dest: 0, args: [key(x), key(y), key(z)] }, { op: 'count', src: { reg: 0 } }])).toEqual([inAll(x, y, z).size]);
    }
  });

  it('(a AND b) MINUS m, counted or tested, into a new register or the same one', () => {
    const want = without(inAll('a', 'b'), set('m'));
    expect(run([{ op: 'and', dest: 0, args: [key('a'), key('b')] }, { op: 'diff', dest: 1, from: { reg: 0 }, minus: key('m') }, { op: 'count', src: { reg: 1 } }])).toEqual([want]);
    expect(run([{ op: 'and', dest: 0, args: [key('a'), key('b')] }, { op: 'diff', dest: 0, from: { reg: 0 }, minus: key('m') }, { op: 'count', src: { reg: 0 } }])).toEqual([want]);
    expect(run([{ op: 'and', dest: 2, args: [key('a'), key('b')] }, { op: 'diff', dest: 3, from: { reg: 2 }, minus: key('m') }, { op: 'any', src: { reg: 3 } }])).toEqual([want > 0]);
    // m a register (a sparse union), and the sparse set in the AND
    const m = new Set([...set('m'), ...set('s')]);
    expect(
      run([
        { op: 'or', dest: 0, args: [key('m'), key('s')] },
        { op: 'and', dest: 1, args: [key('s'), key('c')] },
        { op: 'diff', dest: 2, from: { reg: 1 }, minus: { reg: 0 } },
        { op: 'count', src: { reg: 2 } },
      ]),
    ).toEqual([without(inAll('s', 'c'), m)]);
  });

  it('still builds the intersection when it is read again', () => {
    const ab = inAll('a', 'b');
    expect(
      run([
        { op: 'and', dest: 0, args: [key('a'), key('b')] },
        { op: 'diff', dest: 1, from: { reg: 0 }, minus: key('m') },
        { op: 'count', src: { reg: 1 } },
        { op: 'count', src: { reg: 0 } },
        { op: 'diff', dest: 0, from: { reg: 0 }, minus: key('c') },
        { op: 'count', src: { reg: 0 } },
      ]),
    ).toEqual([without(ab, set('m')), ab.size, without(ab, set('c'))]);
  });
});
