// A Program as program.lua takes it (its header says the format), encoded once: the Redis engine sends it with the keys as named, the cluster engine with each shard's names.

import { readKeys } from '../program.ts';
import type { Instruction, Program, Ref } from '../program.ts';

export interface EncodedProgram {
  /** The keys the program reads, each once, in KEYS order (as the program names them). */
  readonly keys: readonly string[];
  /** Temporary keys follow the input keys in KEYS, one a register. */
  readonly registers: number;
  /** The offset lists of `bits`, each once, 4 bytes an offset, big-endian. */
  readonly lists: readonly Buffer[];
  /** The instructions as tokens; a ref is an index into KEYS. */
  readonly tokens: ReadonlyArray<string | number>;
}

export function encodeProgram(program: Program): EncodedProgram {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  for (const i of program.instructions) {
    for (const key of readKeys(i)) {
      if (!keyIndex.has(key)) {
        keys.push(key);
        keyIndex.set(key, keys.length);
      }
    }
  }
  const base = keys.length;
  const ref = (r: Ref): number => ('key' in r ? keyIndex.get(r.key)! : base + r.reg + 1);
  // Offset lists of `bits` go first, each once however many sets are read at it.
  const listIndex = new Map<readonly number[], number>();
  const lists: Buffer[] = [];
  for (const i of program.instructions) {
    if (i.op === 'bits' && !listIndex.has(i.offsets)) {
      listIndex.set(i.offsets, 3 + lists.length);
      lists.push(packOffsets(i.offsets));
    }
  }
  const tokens: Array<string | number> = [];
  for (const i of program.instructions) encodeInstruction(i, ref, tokens, listIndex);
  return { keys, registers: program.registers, lists, tokens };
}

/** program.lua's KEYS and ARGV for one call: `names` are the keys as this call names them (in `keys` order), `temps` one a register. */
export function programArgs(encoded: EncodedProgram, names: readonly string[], temps: readonly string[]): { numKeys: number; args: Array<string | number | Buffer> } {
  const args: Array<string | number | Buffer> = [...names, ...temps, encoded.registers, encoded.lists.length, ...encoded.lists];
  for (const t of encoded.tokens) args.push(t);
  return { numKeys: names.length + temps.length, args };
}

/** Offsets as 4 bytes each, big-endian: an id list of 10,000 is 40 KB in one argument. */
function packOffsets(offsets: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(offsets.length * 4);
  offsets.forEach((x, j) => out.writeUInt32BE(x, j * 4));
  return out;
}

/** program.lua's reply to `P`: one bit per offset, the first in the top bit of byte 0. */
export function unpackBits(bytes: Buffer, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, j) => ((bytes[j >> 3] ?? 0) >> (7 - (j & 7))) & 1);
}

function encodeInstruction(i: Instruction, ref: (r: Ref) => number, argv: Array<string | number>, lists: ReadonlyMap<readonly number[], number>): void {
  switch (i.op) {
    case 'and':
    case 'or':
    case 'xor':
      argv.push(i.op === 'and' ? 'A' : i.op === 'or' ? 'O' : 'X', ref({ reg: i.dest }), i.args.length);
      for (const a of i.args) argv.push(ref(a));
      return;
    case 'diff':
      argv.push('D', ref({ reg: i.dest }), ref(i.from), ref(i.minus));
      return;
    case 'bits':
      argv.push('P', ref(i.src), lists.get(i.offsets)!);
      return;
    case 'count':
      argv.push('C', ref(i.src));
      return;
    case 'any':
      argv.push('Y', ref(i.src));
      return;
    case 'getbit':
      argv.push('B', ref(i.src), i.offset);
      return;
    case 'scan':
      argv.push('S', ref(i.src), i.after, i.limit);
      return;
    case 'hget':
      argv.push('H', ref({ key: i.key }), i.field);
      return;
    case 'hgetall':
      argv.push('G', ref({ key: i.key }));
      return;
    case 'hsum':
      argv.push('U', ref({ key: i.key }));
      return;
  }
}
