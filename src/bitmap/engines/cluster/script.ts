// program.lua's call for one shard: the Program's keys named in that shard, its instructions as tokens, and the reply taken apart.

import { decodeBits } from '../engine.ts';
import { isOutput, readKeys } from '../../program.ts';
import type { Instruction, OutputValue, Program, Ref } from '../../program.ts';

export interface ScriptCall {
  readonly numKeys: number;
  readonly args: Array<string | number | Buffer>;
}

/**
 * Encodes a Program for program.lua (its header says the format): `name` turns a logical key into
 * the shard's key; `temps` are the shard's temporary keys, one a register.
 */
export function encodeProgram(program: Program, name: (key: string) => string, temps: readonly string[]): ScriptCall {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  for (const i of program.instructions) {
    for (const key of readKeys(i)) {
      if (!keyIndex.has(key)) {
        keys.push(name(key));
        keyIndex.set(key, keys.length);
      }
    }
  }
  const base = keys.length;
  const ref = (r: Ref): number => ('key' in r ? keyIndex.get(r.key)! : base + r.reg + 1);
  const lists = new Map<readonly number[], number>();
  for (const i of program.instructions) if (i.op === 'bits' && !lists.has(i.offsets)) lists.set(i.offsets, 3 + lists.size);
  const args: Array<string | number | Buffer> = [...keys, ...temps, program.registers, lists.size];
  for (const offsets of lists.keys()) {
    const packed = Buffer.allocUnsafe(offsets.length * 4);
    offsets.forEach((x, j) => packed.writeUInt32BE(x, j * 4));
    args.push(packed);
  }
  for (const i of program.instructions) encode(i, ref, args, lists);
  return { numKeys: keys.length + temps.length, args };
}

function encode(i: Instruction, ref: (r: Ref) => number, args: Array<string | number | Buffer>, lists: ReadonlyMap<readonly number[], number>): void {
  switch (i.op) {
    case 'and':
    case 'or':
    case 'xor':
      args.push(i.op === 'and' ? 'A' : i.op === 'or' ? 'O' : 'X', ref({ reg: i.dest }), i.args.length);
      for (const a of i.args) args.push(ref(a));
      return;
    case 'diff':
      args.push('D', ref({ reg: i.dest }), ref(i.from), ref(i.minus));
      return;
    case 'bits':
      args.push('P', ref(i.src), lists.get(i.offsets)!);
      return;
    case 'count':
      args.push('C', ref(i.src));
      return;
    case 'any':
      args.push('Y', ref(i.src));
      return;
    case 'getbit':
      args.push('B', ref(i.src), i.offset);
      return;
    case 'scan':
      args.push('S', ref(i.src), i.after, i.limit);
      return;
    default:
      // Counter hashes are not sharded: the engine reads them outside the shards' scripts.
      throw new Error(`a shard's program has no ${i.op}`);
  }
}

/** The shard's outputs from program.lua's reply, in order (ids still shard-local). */
export function decodeReply(program: Program, reply: readonly unknown[]): OutputValue[] {
  let slot = 0;
  return program.instructions.filter(isOutput).map((i) => {
    const v = reply[slot++];
    switch (i.op) {
      case 'count':
      case 'getbit':
        return Number(v);
      case 'any':
        return Number(v) === 1;
      case 'bits': {
        const bytes = v as Buffer;
        return Uint8Array.from({ length: i.offsets.length }, (_, j) => ((bytes[j >> 3] ?? 0) >> (7 - (j & 7))) & 1);
      }
      case 'scan': {
        const [firstByte, bytes] = v as [number, Buffer];
        return decodeBits(bytes, Number(firstByte) * 8, i.after + 1, i.limit);
      }
      default:
        throw new Error(`a shard's program has no ${i.op}`);
    }
  });
}
