// Programs on roaring bitmaps: the embedded engine's executor, also used by the Redis engine's
// cache of closed periods. Also the conversion between Redis bitmap bytes and roaring.

import roaring from 'roaring';
import { sources } from '../program.ts';
import type { CounterEntries, Instruction, MemberPage, OutputValue, Program, Ref } from '../program.ts';

export const { RoaringBitmap32 } = roaring;
export type Bitmap = InstanceType<typeof RoaringBitmap32>;

const MAX_OFFSET = 2 ** 32 - 1;
const PAGE = 65536;

/** Where a program's keys come from; a missing key is the empty set (or hash). */
export interface BitmapSource {
  bitmap(key: string): Bitmap | undefined;
  hash(key: string): ReadonlyMap<string, number> | undefined;
}

/** Runs a program; registers are temporary bitmaps, dropped when it returns. */
export function runOnBitmaps(program: Program, source: BitmapSource): OutputValue[] {
  const regs: (Bitmap | undefined)[] = new Array<Bitmap | undefined>(program.registers);
  const empty = new RoaringBitmap32();
  const get = (r: Ref): Bitmap => ('key' in r ? source.bitmap(r.key) : regs[r.reg]) ?? empty;
  const hash = (key: string): ReadonlyMap<string, number> | undefined => source.hash(key);
    const out: OutputValue[] = [];
    const ins = program.instructions;
    const fused = countedOnce(ins);
    const lazy = intersectionsCountedOnce(ins, fused);
    for (let at = 0; at < ins.length; at++) {
      const i = ins[at]!;
      if (lazy[at]) {
        // |(a∧b)∖m| = |a∧b| - |a∧b∧m|: the intersection is never built.
        const [a, b] = (i as Extract<Instruction, { args: readonly Ref[] }>).args.map(get) as [Bitmap, Bitmap];
        const n = a.andCardinality(b) - andOfThreeCardinality(a, b, get((ins[at + 1] as Extract<Instruction, { op: 'diff' }>).minus));
        out.push(ins[at + 2]!.op === 'count' ? n : n > 0);
        at += 2;
        continue;
      }
      if (fused[at]) {
        // The result is only counted: roaring gives the cardinality without building the bitmap.
        const n = cardinality(i as SetOp, get);
        out.push(ins[at + 1]!.op === 'count' ? n : n > 0);
        at++;
        continue;
      }
      switch (i.op) {
        case 'and': {
          const args = i.args.map(get).sort((a, b) => a.size - b.size);
          let acc = args[0] ?? empty;
          if (args.length < 2) acc = acc.clone();
          for (let k = 1; k < args.length && !acc.isEmpty; k++) acc = RoaringBitmap32.and(acc, args[k]!);
          regs[i.dest] = acc;
          break;
        }
        case 'or':
          regs[i.dest] = RoaringBitmap32.orMany(i.args.map(get));
          break;
        case 'xor':
          regs[i.dest] = RoaringBitmap32.xorMany(i.args.map(get));
          break;
        case 'diff':
          regs[i.dest] = RoaringBitmap32.andNot(get(i.from), get(i.minus));
          break;
        case 'count':
          out.push(get(i.src).size);
          break;
        case 'any':
          out.push(!get(i.src).isEmpty);
          break;
        case 'getbit':
          out.push(i.offset >= 0 && i.offset <= MAX_OFFSET && get(i.src).has(i.offset) ? 1 : 0);
          break;
        case 'bits': {
          const bm = get(i.src);
          out.push(Uint8Array.from(i.offsets, (x) => (bm.has(x) ? 1 : 0)));
          break;
        }
        case 'scan':
          out.push(scanPage(get(i.src), i.after, i.limit));
          break;
        case 'hget':
          out.push(hash(i.key)?.get(i.field) ?? 0);
          break;
        case 'hgetall': {
          const entries: CounterEntries = [...(hash(i.key) ?? [])];
          out.push(entries);
          break;
        }
        case 'hsum': {
          let sum = 0;
          for (const v of hash(i.key)?.values() ?? []) sum += v;
          out.push(sum);
          break;
        }
      }
    }
    return out;
}

function scanPage(bm: Bitmap, after: number, limit: number): MemberPage {
  const start = after < 0 ? 0 : after >= MAX_OFFSET ? bm.size : bm.rank(Math.floor(after));
  const available = bm.size - start;
  const n = Math.max(0, Math.min(limit, available));
  const ids = n ? Array.from(bm.rangeUint32Array(new Uint32Array(n), start, n)) : [];
  return { ids, hasMore: available > Math.max(0, limit) };
}

/** Redis bitmap bytes (bit 0 = top bit of byte 0) to a roaring bitmap. */
export function bitmapFromRedisBytes(bytes: Uint8Array): Bitmap {
  const steps = bitmapFromRedisBytesSteps(bytes);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * The same, giving the event loop a turn every 512 KiB: a 100M-bit string takes about 0.1 s
 * to convert, too long to hold up every other request.
 */
export async function bitmapFromRedisBytesYielding(bytes: Uint8Array): Promise<Bitmap> {
  const steps = bitmapFromRedisBytesSteps(bytes);
  let step = steps.next();
  while (!step.done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  return step.value;
}

/** 32-bit words of a container (65,536 bits: one 8 KiB page of a Redis string). */
const CONTAINER_WORDS = 2048;
const PAGE_BYTES = CONTAINER_WORDS * 4;
/** A container of more members than this is stored as a bitset, else as a sorted list of 16-bit values. */
const ARRAY_MAX = 4096;
/** Pages converted at a time, between two turns of the event loop (512 KiB of Redis bytes, a few ms). */
const PAGES_PER_SLICE = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Builds the bitmap a slice of pages at a time: each 8 KiB page of the string is one container,
 * written in roaring's portable format and deserialized (a bitset container is the page with
 * the bits of every byte reversed: Redis puts bit 0 at the top of a byte, roaring at the
 * bottom), then added to the result. Setting bits one at a time through the native binding
 * cost about 1 s per 100M-bit string; this about 0.1 s. Beside the bytes given and the result
 * it holds only one slice (about 1 MiB), so converting a fetched copy needs no second copy of
 * it. Yields after every slice.
 */
function* bitmapFromRedisBytesSteps(bytes: Uint8Array): Generator<void, Bitmap> {
  if (!LITTLE_ENDIAN) return bitmapFromRedisBytesBitByBit(bytes);
  const bm = new RoaringBitmap32();
  const pages = Math.ceil(bytes.length / PAGE_BYTES);
  const slice = new Uint32Array(PAGES_PER_SLICE * CONTAINER_WORDS);
  const sliceBytes = new Uint8Array(slice.buffer);
  const cards = new Uint32Array(PAGES_PER_SLICE);
  const portable = Buffer.alloc(8 + 8 * PAGES_PER_SLICE + PAGES_PER_SLICE * PAGE_BYTES);
  for (let first = 0; first < pages; first += PAGES_PER_SLICE) {
    const n = Math.min(PAGES_PER_SLICE, pages - first);
    const from = first * PAGE_BYTES;
    const to = Math.min(bytes.length, from + n * PAGE_BYTES);
    sliceBytes.set(bytes.subarray(from, to));
    sliceBytes.fill(0, to - from, n * PAGE_BYTES); // a short last page
    let containers = 0;
    for (let p = 0; p < n; p++) {
      let card = 0;
      for (let q = p * CONTAINER_WORDS, end = q + CONTAINER_WORDS; q < end; q++) {
        let x = slice[q]!;
        if (x === 0) continue;
        x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
        x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
        x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
        slice[q] = x;
        card += popcount32(x);
      }
      cards[p] = card;
      if (card) containers++;
    }
    if (containers) {
      // Portable format without run containers: cookie, count, (key, cardinality-1) per
      // container, the offset of each container's data, then the data.
      const head = 8 + 8 * containers;
      portable.writeUInt32LE(12346, 0);
      portable.writeUInt32LE(containers, 4);
      let k = 0;
      let at = head;
      for (let p = 0; p < n; p++) {
        const card = cards[p]!;
        if (!card) continue;
        portable.writeUInt16LE(first + p, 8 + 4 * k);
        portable.writeUInt16LE(card - 1, 10 + 4 * k);
        portable.writeUInt32LE(at, 8 + 4 * containers + 4 * k);
        k++;
        if (card > ARRAY_MAX) {
          portable.set(sliceBytes.subarray(p * PAGE_BYTES, (p + 1) * PAGE_BYTES), at);
          at += PAGE_BYTES;
          continue;
        }
        for (let q = p * CONTAINER_WORDS, end = q + CONTAINER_WORDS; q < end; q++) {
          const base = (q - p * CONTAINER_WORDS) * 32;
          for (let x = slice[q]!; x !== 0; ) {
            const low = x & -x;
            const v = base + 31 - Math.clz32(low);
            portable[at] = v & 0xff;
            portable[at + 1] = v >>> 8;
            at += 2;
            x ^= low;
          }
        }
      }
      const part = RoaringBitmap32.deserialize(portable.subarray(0, at), 'portable');
      bm.orInPlace(part);
      part.clear(); // its memory now, not when the collector gets to it
    }
    if (first + PAGES_PER_SLICE < pages) yield;
  }
  bm.runOptimize();
  bm.shrinkToFit(); // what the copy holds is what the closed-period cache counts against its budget
  return bm;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** The plain way, for a big-endian machine, where the word tricks above would misplace bits. */
function bitmapFromRedisBytesBitByBit(bytes: Uint8Array): Bitmap {
  const bm = new RoaringBitmap32();
  const stage = new Uint32Array(PAGE);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) continue;
    if (n + 8 > PAGE) {
      bm.addMany(stage.subarray(0, n));
      n = 0;
    }
    for (let j = 0; j < 8; j++) if (b & (0x80 >> j)) stage[n++] = i * 8 + j;
  }
  if (n) bm.addMany(stage.subarray(0, n));
  bm.runOptimize();
  bm.shrinkToFit();
  return bm;
}

/** A roaring bitmap to Redis bitmap bytes, up to the byte of its largest member. */
export function redisBytesFromBitmap(bm: Bitmap): Buffer {
  const out = Buffer.alloc(Math.floor(bm.maximum() / 8) + 1);
  const page = new Uint32Array(PAGE);
  for (let start = 0; start < bm.size; start += PAGE) {
    const got = bm.rangeUint32Array(page, start, PAGE);
    for (let i = 0; i < got.length; i++) {
      const v = got[i]!;
      const at = v >>> 3;
      out[at] = out[at]! | (0x80 >> (v & 7));
    }
  }
  return out;
}


type SetOp = Extract<Instruction, { op: 'and' | 'or' | 'xor' | 'diff' }>;

/**
 * Marks the set operations whose result is read exactly once, by a `count` or `any` right
 * after them, and never again before the register is written anew.
 */
function countedOnce(ins: readonly Instruction[]): boolean[] {
  const fused = new Array<boolean>(ins.length).fill(false);
  for (let at = 0; at + 1 < ins.length; at++) {
    const i = ins[at]!;
    const next = ins[at + 1]!;
    if (i.op !== 'and' && i.op !== 'or' && i.op !== 'xor' && i.op !== 'diff') continue;
    if ((next.op !== 'count' && next.op !== 'any') || !('reg' in next.src) || next.src.reg !== i.dest) continue;
    fused[at] = !readFrom(ins, at + 2, i.dest);
  }
  return fused;
}

/**
 * Marks the ANDs of two sets whose result only a counted diff right after reads (the planner's
 * shape for "in a and b but not m"): their count needs no intersection built.
 */
function intersectionsCountedOnce(ins: readonly Instruction[], fused: readonly boolean[]): boolean[] {
  const lazy = new Array<boolean>(ins.length).fill(false);
  for (let at = 0; at + 2 < ins.length; at++) {
    const i = ins[at]!;
    const next = ins[at + 1]!;
    if (i.op !== 'and' || i.args.length !== 2 || next.op !== 'diff' || !fused[at + 1]) continue;
    if (!('reg' in next.from) || next.from.reg !== i.dest || ('reg' in next.minus && next.minus.reg === i.dest)) continue;
    lazy[at] = next.dest === i.dest || !readFrom(ins, at + 2, i.dest);
  }
  return lazy;
}

/** Whether register `reg` is read from instruction `from` on, before something writes it again. */
function readFrom(ins: readonly Instruction[], from: number, reg: number): boolean {
  for (let k = from; k < ins.length; k++) {
    const later = ins[k]!;
    if (sources(later).some((r) => 'reg' in r && r.reg === reg)) return true;
    if ('dest' in later && later.dest === reg) return false;
  }
  return false;
}

/** Reused for the intermediate of 3+ operand counts: in place, it avoids a new bitmap per count. */
const scratch = new RoaringBitmap32();

/**
 * |a∧b∧c| without building an intersection: an AND of dense bitmaps converts containers and
 * costs ~20× an OR cardinality. |(a∨b)∧c| = |a∧c| + |b∧c| - |a∧b∧c|, and a∨b needs only one
 * union (a fifth faster than inclusion-exclusion over unions at 100M bits).
 */
function andOfThreeCardinality(a: Bitmap, b: Bitmap, c: Bitmap): number {
  scratch.copyFrom(a);
  scratch.orInPlace(b);
  return a.andCardinality(c) + b.andCardinality(c) - scratch.andCardinality(c);
}

/** Size of a set operation's result, building at most one intermediate (in `scratch`). */
function cardinality(i: SetOp, get: (r: Ref) => Bitmap): number {
  if (i.op === 'diff') return get(i.from).andNotCardinality(get(i.minus));
  const args = i.args.map(get);
  if (i.op === 'and' && args.length === 3) {
    const [a, b, c] = args as [Bitmap, Bitmap, Bitmap];
    return andOfThreeCardinality(a, b, c);
  }
  if (i.op === 'and') args.sort((a, b) => a.size - b.size); // intersect the small ones first, count against the largest
  const last = args.pop()!;
  let acc: Bitmap = args[0]!;
  if (args.length > 1) {
    scratch.copyFrom(acc);
    for (let k = 1; k < args.length; k++) {
      if (i.op === 'and') scratch.andInPlace(args[k]!);
      else if (i.op === 'or') scratch.orInPlace(args[k]!);
      else scratch.xorInPlace(args[k]!);
    }
    acc = scratch;
  }
  return i.op === 'and' ? acc.andCardinality(last) : i.op === 'or' ? acc.orCardinality(last) : acc.xorCardinality(last);
}
