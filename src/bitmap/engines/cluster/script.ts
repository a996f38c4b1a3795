// The cluster's read script: program.lua run over several shards of one master in one call, each Program encoded once (program-encoding.ts) whatever the number of shards, and the replies taken apart.

import { readFileSync } from 'node:fs';
import { decodeBits } from '../engine.ts';
import { encodeProgram, unpackBits } from '../program-encoding.ts';
import type { EncodedProgram } from '../program-encoding.ts';
import { isOutput } from '../../program.ts';
import type { OutputValue, Program } from '../../program.ts';

const PROGRAM_LUA = readFileSync(new URL('../program.lua', import.meta.url), 'utf8');

/**
 * program.lua as a function of its KEYS and ARGV, run once per shard listed. The flag lets one
 * call read keys of several slots, all of them on the master it runs on (each command inside
 * still names keys of one slot: one shard's); a shard whose slot is elsewhere fails the call
 * ("non local key"), and the engine then calls each shard on its own.
 *   KEYS         the first shard's keys and temporary keys: they route the call, and Redis
 *                checks them as for any command (the script names its keys from ARGV)
 *   ARGV         temp, P, then P programs: nkeys nregs nlists, the nkeys key names, the nlists
 *                offset lists, the instructions as one string of space-separated tokens
 *                (taken apart once, numbers made numbers, for all the shards that run it);
 *                then per shard: its hash tag and the number (1…P) of the program it runs
 * The reply holds one program.lua reply per shard, in order. A shard's keys are `{tag}name`, its
 * temporary keys `{tag}<temp><register>`, deleted before its reply is kept.
 */
export const SHARDS_LUA = `#!lua flags=allow-cross-slot-keys
local function program(KEYS, ARGV)
${PROGRAM_LUA}
end
local temp = ARGV[1]
local nprog = tonumber(ARGV[2])
local at = 3
local progs = {}
for p = 1, nprog do
  local nkeys, nregs, nlists = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  at = at + 3
  local names = {}
  for j = 1, nkeys do names[j] = ARGV[at + j - 1] end
  at = at + nkeys
  local argv = { nregs, nlists }
  for j = 1, nlists do argv[2 + j] = ARGV[at + j - 1] end
  at = at + nlists
  for w in string.gmatch(ARGV[at], '%S+') do argv[#argv + 1] = tonumber(w) or w end
  at = at + 1
  progs[p] = { names = names, nregs = nregs, argv = argv }
end
local replies = {}
while at <= #ARGV do
  local tag, p = ARGV[at], progs[tonumber(ARGV[at + 1])]
  at = at + 2
  local prefix = '{' .. tag .. '}'
  local keys = {}
  for j = 1, #p.names do keys[j] = prefix .. p.names[j] end
  for j = 1, p.nregs do keys[#p.names + j] = prefix .. temp .. (j - 1) end
  local r = program(keys, p.argv)
  if r.err then return r end
  replies[#replies + 1] = r
end
return replies
`;

/** A Program encoded once for the shards' script: its key names and offset lists as arguments, its tokens as one string. */
export interface ShardProgram {
  readonly encoded: EncodedProgram;
  readonly text: string;
}

export function shardProgram(program: Program): ShardProgram {
  const encoded = encodeProgram(program);
  return { encoded, text: encoded.tokens.join(' ') };
}

/** The script's ARGV for shards of one master: `shards` lists each shard's hash tag and its program (an index into `programs`). */
export function shardsCall(
  temp: string,
  programs: readonly ShardProgram[],
  shards: ReadonlyArray<{ readonly tag: string; readonly program: number }>,
): Array<string | number | Buffer> {
  const args: Array<string | number | Buffer> = [temp, programs.length];
  for (const p of programs) {
    const e = p.encoded;
    args.push(e.keys.length, e.registers, e.lists.length);
    for (const k of e.keys) args.push(k);
    for (const l of e.lists) args.push(l);
    args.push(p.text);
  }
  for (const s of shards) args.push(s.tag, s.program + 1);
  return args;
}

/** The shard's outputs from program.lua's reply, in order (ids still shard-local). */
export function decodeReply(program: Program, reply: readonly unknown[]): OutputValue[] {
  let slot = 0;
  const values: OutputValue[] = [];
  for (const i of program.instructions) {
    if (!isOutput(i)) continue;
    const v = reply[slot++];
    switch (i.op) {
      case 'count':
      case 'getbit':
        values.push(Number(v));
        break;
      case 'any':
        values.push(Number(v) === 1);
        break;
      case 'bits':
        values.push(unpackBits(v as Buffer, i.offsets.length));
        break;
      case 'scan': {
        const [firstByte, bytes] = v as [number, Buffer];
        values.push(decodeBits(bytes, Number(firstByte) * 8, i.after + 1, i.limit));
        break;
      }
      default:
        throw new Error(`a shard's program has no ${i.op}`);
    }
  }
  return values;
}
