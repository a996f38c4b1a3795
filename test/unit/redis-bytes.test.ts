// Redis bitmap bytes to roaring: every member where SETBIT put it, at every container shape.

import { describe, expect, it } from 'vitest';
import { bitmapFromRedisBytes, bitmapFromRedisBytesYielding, redisBytesFromBitmap } from '../../src/bitmap/engines/roaring.ts';
import { rng } from '../rng.ts';

/** Bytes as SETBIT writes them (id n: byte n >> 3, bit 7 - (n & 7)), and the ids in plain JS. */
function bytesOf(ids: Iterable<number>, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (const id of ids) out[id >> 3]! |= 0x80 >> (id & 7);
  return out;
}

function randomIds(seed: number, bits: number, density: number): number[] {
  const next = rng(seed);
  const ids: number[] = [];
  for (let id = 0; id < bits; id++) if (next() < density) ids.push(id);
  return ids;
}

const PAGE_BITS = 65536;

const cases: Array<[string, number[], number]> = [
  ['empty string', [], 0],
  ['zero bytes only', [], 10_000],
  ['one id', [0], 1],
  ['the last bit of a byte', [7], 1],
  ['a short last page', [PAGE_BITS, PAGE_BITS + 9, PAGE_BITS + 100], PAGE_BITS / 8 + 13],
  ['10% of 1M ids (bitset containers)', randomIds(1, 1 << 20, 0.1), (1 << 20) / 8],
  ['0.1% of 1M ids (array containers)', randomIds(2, 1 << 20, 0.001), (1 << 20) / 8],
  ['exactly 4096 in a page (an array container)', Array.from({ length: 4096 }, (_, i) => i * 16), PAGE_BITS / 8],
  ['4097 in a page (a bitset container)', [...Array.from({ length: 4096 }, (_, i) => i * 16), 1], PAGE_BITS / 8],
  ['full pages (runs)', Array.from({ length: 3 * PAGE_BITS }, (_, i) => i), (3 * PAGE_BITS) / 8],
  ['pages far apart, odd length', [5, 40 * PAGE_BITS + 3, 200 * PAGE_BITS + 65535], (200 * PAGE_BITS) / 8 + 8192],
  ['every other page dense', randomIds(3, 6 * PAGE_BITS, 0.5).filter((id) => (id >> 16) % 2 === 0), (6 * PAGE_BITS) / 8 + 1],
];

describe('bitmapFromRedisBytes', () => {
  for (const [name, ids, length] of cases) {
    it(`keeps every member: ${name}`, async () => {
      const bytes = bytesOf(ids, length);
      const want = [...new Set(ids)].sort((a, b) => a - b);
      expect(Array.from(bitmapFromRedisBytes(bytes).toUint32Array())).toEqual(want);
      expect(Array.from((await bitmapFromRedisBytesYielding(bytes)).toUint32Array())).toEqual(want);
      // A buffer that starts at an odd offset of its memory (as a slice of a reply can).
      const shifted = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), bytes]).subarray(3);
      expect(Array.from(bitmapFromRedisBytes(shifted).toUint32Array())).toEqual(want);
      if (want.length) expect(redisBytesFromBitmap(bitmapFromRedisBytes(bytes)).equals(bytes.subarray(0, (want.at(-1)! >> 3) + 1))).toBe(true);
    });
  }

  it('does not change the bytes it was given', () => {
    const bytes = bytesOf(randomIds(4, 1 << 18, 0.2), (1 << 18) / 8);
    const before = Buffer.from(bytes);
    bitmapFromRedisBytes(bytes);
    expect(bytes.equals(before)).toBe(true);
  });
});
