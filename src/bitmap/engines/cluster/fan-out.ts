// One Program, one part per shard: which outputs each shard answers (with ids made shard-local), and how the shards' outputs combine into the Program's.

import { sources } from '../../program.ts';
import type { BitList, Instruction, MemberPage, OutputValue, Program, Ref } from '../../program.ts';

/** What a shard must run: the Program's outputs it contributes to, with the steps they need, ids shard-local. */
export interface ShardPart {
  readonly shard: number;
  readonly program: Program;
  /** Index (among the Program's outputs) of each output of `program`, in order. */
  readonly outputs: readonly number[];
}

export interface FanOut {
  /** Shards with work, ascending; a shard no output needs gets no call. */
  readonly parts: readonly ShardPart[];
  /** The Program's outputs from every part's outputs (in `parts` order). */
  combine(results: ReadonlyArray<readonly OutputValue[]>): OutputValue[];
}

export interface ShardGeometry {
  readonly shardSize: number;
  shardOf(id: number): number;
}

/** Which of a Program's keys may have bits in shard k (from their shard sets); `all` when every one may. */
export type KeysIn = (k: number) => ReadonlySet<string> | 'all';

/**
 * Splits a Program of bitmap instructions (no counter hashes) over shards. Counts add and `any`
 * ORs over the output's live shards; a getbit goes to its id's shard alone; a `bits` list is cut
 * at shard edges; a `scan` asks each of the output's live shards from the one holding `after + 1`
 * for a page, and the pages are joined in id order. `live(out)` lists the shards where output
 * `out` (its index among the outputs) may be non-empty, ascending; getbit and bits need no such
 * list (an absent shard reads as zeros), so a program of only those passes null. Shards that run
 * the same outputs unchanged (counts and `any`) share one pruned Program object. With `keysIn`, a
 * shard's program leaves out what reads keys absent from it: an OR or XOR drops them, an AND with
 * one reads only that one (empty), so an OR over thousands of keys with one id each costs each
 * shard only its own few.
 */
export function fanOut(program: Program, live: ((out: number) => readonly number[]) | null, geometry: ShardGeometry, keysIn?: KeysIn): FanOut {
  const { shardSize, shardOf } = geometry;
  const outputs = program.instructions.filter((i) => !('dest' in i));
  // Per shard, per output index: the instruction that shard runs for it.
  const perShard = new Map<number, Map<number, Instruction>>();
  const put = (k: number, out: number, i: Instruction): void => {
    let m = perShard.get(k);
    if (!m) perShard.set(k, (m = new Map()));
    m.set(out, i);
  };
  /** For `bits` outputs: the first index in the original offset list of each shard's run. */
  const bitsStart = new Map<number, Map<number, number>>();
  outputs.forEach((i, out) => {
    switch (i.op) {
      case 'count':
      case 'any':
        for (const k of needLive(live, out)) put(k, out, i);
        break;
      case 'scan': {
        const first = shardOf(i.after + 1);
        for (const k of needLive(live, out)) {
          if (k < first) continue;
          const base = k * shardSize;
          put(k, out, { ...i, after: i.after < base ? -1 : i.after - base });
        }
        break;
      }
      case 'getbit': {
        const k = shardOf(i.offset);
        put(k, out, { ...i, offset: i.offset - k * shardSize });
        break;
      }
      case 'bits': {
        const starts = new Map<number, number>();
        bitsStart.set(out, starts);
        let j = 0;
        while (j < i.offsets.length) {
          const k = shardOf(i.offsets[j]!);
          const base = k * shardSize;
          const local: number[] = [];
          starts.set(k, j);
          while (j < i.offsets.length && shardOf(i.offsets[j]!) === k) local.push(i.offsets[j++]! - base);
          put(k, out, { ...i, offsets: local });
        }
        break;
      }
      default:
        throw new Error(`fanOut takes bitmap outputs only, got ${i.op}`);
    }
  });
  // Lists read at one offset list share it per shard (the script sends each list once).
  const pruned = new Map<string, { program: Program; outputs: number[] }>();
  const parts: ShardPart[] = [...perShard.keys()]
    .sort((a, b) => a - b)
    .map((k) => {
      const mine = perShard.get(k)!;
      let same = '';
      for (const [out, i] of mine) {
        if (i !== outputs[out]) {
          same = '';
          break;
        }
        same += `${out},`;
      }
      const present = keysIn ? keysIn(k) : 'all';
      if (same && present === 'all') {
        let p = pruned.get(same);
        if (!p) pruned.set(same, (p = prune(program, mine)));
        return { shard: k, ...p };
      }
      const shared = new Map<string, readonly number[]>();
      for (const [out, i] of mine) {
        if (i.op !== 'bits') continue;
        const sig = i.offsets.join(',');
        const same = shared.get(sig);
        if (same) mine.set(out, { ...i, offsets: same });
        else shared.set(sig, i.offsets);
      }
      return { shard: k, ...prune(program, mine, present === 'all' ? undefined : present) };
    });

  return {
    parts,
    combine(results) {
      const values: Array<OutputValue | undefined> = outputs.map((i) => empty(i));
      parts.forEach((part, p) => {
        const got = results[p]!;
        part.outputs.forEach((out, j) => {
          const i = outputs[out]!;
          const v = got[j]!;
          switch (i.op) {
            case 'count':
              values[out] = (values[out] as number) + (v as number);
              break;
            case 'any':
              values[out] = (values[out] as boolean) || (v as boolean);
              break;
            case 'getbit':
              values[out] = v;
              break;
            case 'bits':
              (values[out] as BitList).set(v as BitList, bitsStart.get(out)!.get(part.shard)!);
              break;
            case 'scan': {
              const page = values[out] as MemberPage;
              if (page.hasMore) break; // already full: later shards only add ids past the page
              const base = part.shard * shardSize;
              const mine = v as MemberPage;
              for (const id of mine.ids) {
                if (page.ids.length === i.limit) {
                  page.hasMore = true;
                  break;
                }
                page.ids.push(base + id);
              }
              if (mine.hasMore) page.hasMore = true;
              break;
            }
          }
        });
      });
      return values as OutputValue[];
    },
  };
}

function needLive(live: ((out: number) => readonly number[]) | null, out: number): readonly number[] {
  if (!live) throw new Error('fanOut: counts, any and scans need the live shards');
  return live(out);
}

/** An output's value when no shard contributes. */
function empty(i: Instruction): OutputValue {
  switch (i.op) {
    case 'count':
    case 'getbit':
      return 0;
    case 'any':
      return false;
    case 'bits':
      return new Uint8Array(i.offsets.length);
    case 'scan':
      return { ids: [], hasMore: false };
    default:
      throw new Error(`not a bitmap output: ${i.op}`);
  }
}

/**
 * The Program with only the given outputs (replaced by their shard's version), and only the steps
 * they need: walking back, a step is kept while a kept instruction still reads its register.
 */
function prune(program: Program, keep: ReadonlyMap<number, Instruction>, present?: ReadonlySet<string>): { program: Program; outputs: number[] } {
  const ins = program.instructions;
  let out = ins.filter((i) => !('dest' in i)).length;
  const kept: Instruction[] = [];
  const outputs: number[] = [];
  const needed = new Set<number>();
  for (let at = ins.length - 1; at >= 0; at--) {
    let i = ins[at]!;
    if ('dest' in i) {
      if (!needed.delete(i.dest)) continue;
      if (present) i = withoutAbsent(i, present);
    } else {
      const mine = keep.get(--out);
      if (!mine) continue;
      i = mine;
      outputs.push(out);
    }
    kept.push(i);
    for (const r of sources(i)) if ('reg' in r) needed.add(r.reg);
  }
  return { program: compactRegisters(kept.reverse()), outputs: outputs.reverse() };
}

/**
 * The same steps with registers renumbered by lifetime: a value's register is free again after
 * its last read, and the next step writes there. On a shard, a BITOP into a key that exists
 * costs Redis about half what creating a new 8 KiB key and deleting it at the end does (a 30×30
 * cohort's 900 cells then share one temporary key instead of 900). A step never writes to a
 * register it reads (a difference reads `from` after writing its destination), so a program that
 * computes in place (r1 = r1 AND r2) may take one register more.
 */
export function compactRegisters(ins: readonly Instruction[]): Program {
  // Each definition of a register is a value of its own; its last read, by step.
  const valueOf = new Map<number, number>();
  const lastRead: number[] = [];
  const defined = new Map<number, number>(); // step → value
  ins.forEach((i, at) => {
    for (const r of sources(i)) if ('reg' in r) lastRead[valueOf.get(r.reg)!] = at;
    if ('dest' in i) {
      valueOf.set(i.dest, defined.size);
      defined.set(at, defined.size);
    }
  });
  valueOf.clear();
  const slot: number[] = [];
  const free: number[] = [];
  let registers = 0;
  const out = ins.map((i, at) => {
    const ref = (r: Ref): Ref => ('reg' in r ? { reg: slot[valueOf.get(r.reg)!]! } : r);
    let next: Instruction;
    switch (i.op) {
      case 'and':
      case 'or':
      case 'xor':
        next = { ...i, args: i.args.map(ref) };
        break;
      case 'diff':
        next = { ...i, from: ref(i.from), minus: ref(i.minus) };
        break;
      case 'hget':
      case 'hgetall':
      case 'hsum':
        next = i;
        break;
      default:
        next = { ...i, src: ref(i.src) };
    }
    const dying = new Set<number>();
    for (const r of sources(i)) if ('reg' in r && lastRead[valueOf.get(r.reg)!] === at) dying.add(valueOf.get(r.reg)!);
    if ('dest' in i) {
      const value = defined.get(at)!;
      const reg = free.length ? free.pop()! : registers++;
      slot[value] = reg;
      valueOf.set(i.dest, value);
      next = { ...next, dest: reg } as Instruction;
      if (lastRead[value] === undefined) dying.add(value); // never read: its register is free at once
    }
    for (const v of dying) free.push(slot[v]!);
    return next;
  });
  return { registers, instructions: out };
}

/** Keys of an instruction's arguments, kept per instruction: a big OR is checked against a shard's few keys, not the other way. */
const argKeys = new WeakMap<Instruction, ReadonlySet<string>>();

/**
 * A BITOP rewritten for a shard where only `present` keys may have bits (an absent key reads as
 * zeros): an OR or XOR without its absent keys (one left if none is present: the result is empty
 * either way), an AND of one absent key alone. Registers are kept. The same instruction object
 * when nothing changes.
 */
function withoutAbsent(i: Instruction, present: ReadonlySet<string>): Instruction {
  if (i.op !== 'and' && i.op !== 'or' && i.op !== 'xor') return i;
  let keys = argKeys.get(i);
  if (!keys) {
    keys = new Set(i.args.flatMap((a) => ('key' in a ? [a.key] : [])));
    argKeys.set(i, keys);
  }
  if (i.op === 'and') {
    const absent = i.args.find((a) => 'key' in a && !present.has(a.key));
    return absent ? { ...i, args: [absent] } : i;
  }
  let kept: Ref[];
  if (i.op === 'or' && keys.size > present.size * 4) {
    // Many keys, few here: the present ones among them, then the registers.
    kept = [...present].filter((k) => keys.has(k)).map((key) => ({ key }));
    for (const a of i.args) if ('reg' in a) kept.push(a);
  } else {
    kept = i.args.filter((a) => 'reg' in a || present.has(a.key));
  }
  if (kept.length === i.args.length) return i;
  return { ...i, args: kept.length ? kept : [i.args[0]!] };
}
