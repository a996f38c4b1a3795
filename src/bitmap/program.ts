// The program IR: what an engine runs for one request, as one round trip.
//
// Registers are temporary bitmaps (temporary keys in Redis), reused once their last reader
// has run. Instructions run in order; each output instruction fills the next result slot.
// Id literals never become bitmaps: a bitmap holding id 2^32-1 is 512 MiB in Redis, whoever
// names it. They are answered by reading bits at their offsets (`getbit`, `bits`).

export type Ref = { readonly key: string } | { readonly reg: number };

export type Instruction =
  /** reg ← BITOP op over the sources (at least two). */
  | { readonly op: 'and' | 'or' | 'xor'; readonly dest: number; readonly args: readonly Ref[] }
  /** reg ← from AND NOT minus (AND then XOR with from: no BITOP NOT, whose width is unstable). */
  | { readonly op: 'diff'; readonly dest: number; readonly from: Ref; readonly minus: Ref }
  /** result ← number of members. */
  | { readonly op: 'count'; readonly src: Ref }
  /** result ← whether there is any member. */
  | { readonly op: 'any'; readonly src: Ref }
  /** result ← the bit at offset. */
  | { readonly op: 'getbit'; readonly src: Ref; readonly offset: number }
  /** result ← the bit at each offset (ascending, distinct), as one byte 0 or 1 each. */
  | { readonly op: 'bits'; readonly src: Ref; readonly offsets: readonly number[] }
  /** result ← up to `limit` members greater than `after` (ascending), and whether more follow. */
  | { readonly op: 'scan'; readonly src: Ref; readonly after: number; readonly limit: number }
  /** result ← a counter hash's value for one field (0 when absent). */
  | { readonly op: 'hget'; readonly key: string; readonly field: string }
  /** result ← every field of a counter hash with its value. */
  | { readonly op: 'hgetall'; readonly key: string }
  /** result ← the sum of a counter hash's values. */
  | { readonly op: 'hsum'; readonly key: string };

export interface Program {
  readonly registers: number;
  readonly instructions: readonly Instruction[];
}

export interface MemberPage {
  ids: number[];
  hasMore: boolean;
}

/** Fields of a counter hash and their values. */
export type CounterEntries = ReadonlyArray<readonly [string, number]>;

/** One byte per offset of a `bits` instruction: 1 where the bit is set. */
export type BitList = Uint8Array;

export type OutputValue = number | boolean | MemberPage | CounterEntries | BitList;

export const isOutput = (i: Instruction): boolean => !('dest' in i);

/** Bitmaps an instruction reads. */
export function sources(i: Instruction): readonly Ref[] {
  switch (i.op) {
    case 'and':
    case 'or':
    case 'xor':
      return i.args;
    case 'diff':
      return [i.from, i.minus];
    case 'hget':
    case 'hgetall':
    case 'hsum':
      return [];
    default:
      return [i.src];
  }
}

/** Stored keys an instruction reads (bitmaps and counter hashes). */
export function readKeys(i: Instruction): string[] {
  if (i.op === 'hget' || i.op === 'hgetall' || i.op === 'hsum') return [i.key];
  return sources(i).flatMap((r) => ('key' in r ? [r.key] : []));
}

const showRef = (r: Ref): string => ('key' in r ? r.key : `r${r.reg}`);

/** One instruction a line, e.g. `r0 = and trackist_a_2026-11 trackist_b_2026-11` / `out count r0`. */
export function printProgram(p: Program): string {
  return p.instructions
    .map((i) => {
      switch (i.op) {
        case 'and':
        case 'or':
        case 'xor':
          return `r${i.dest} = ${i.op} ${i.args.map(showRef).join(' ')}`;
        case 'diff':
          return `r${i.dest} = diff ${showRef(i.from)} ${showRef(i.minus)}`;
        case 'count':
        case 'any':
          return `out ${i.op} ${showRef(i.src)}`;
        case 'getbit':
          return `out getbit ${showRef(i.src)} ${i.offset}`;
        case 'bits':
          return `out bits ${showRef(i.src)} at ${i.offsets.join(' ')}`;
        case 'scan':
          return `out scan ${showRef(i.src)} after ${i.after} limit ${i.limit}`;
        case 'hget':
          return `out hget ${i.key} ${JSON.stringify(i.field)}`;
        case 'hgetall':
        case 'hsum':
          return `out ${i.op} ${i.key}`;
      }
    })
    .join('\n');
}

export interface SplitProgram {
  /** Outputs whose every input key is local, with the steps they need. */
  readonly local: Program;
  /** The other outputs, with the steps they need (a step may appear in both). */
  readonly remote: Program;
  /** The outputs in the original order. */
  merge(local: readonly OutputValue[], remote: readonly OutputValue[]): OutputValue[];
}

/**
 * Splits a program by where its inputs live: an output goes to `local` when every key it
 * depends on (through registers) satisfies `isLocal`. Each side keeps only the steps its
 * outputs need (pickOutputs).
 */
export function splitProgram(p: Program, isLocal: (key: string) => boolean): SplitProgram {
  const ins = p.instructions;
  const regLocal = new Map<number, boolean>();
  const side: boolean[] = []; // per output instruction: true = local
  const refLocal = (r: Ref): boolean => ('key' in r ? isLocal(r.key) : regLocal.get(r.reg) === true);
  for (const i of ins) {
    const local = readKeys(i).every(isLocal) && sources(i).every(refLocal);
    if ('dest' in i) regLocal.set(i.dest, local);
    else side.push(local);
  }
  return {
    local: pickOutputs(p, side),
    remote: pickOutputs(p, side.map((l) => !l)),
    merge(local, remote) {
      let l = 0;
      let r = 0;
      return side.map((isLocalOut) => (isLocalOut ? local[l++]! : remote[r++]!));
    },
  };
}

/**
 * The outputs marked in `take` (one flag per output, in order), with only the steps they need,
 * found by walking back with the set of registers still to be defined. Results come in the
 * order of the outputs taken.
 */
export function pickOutputs(p: Program, take: readonly boolean[]): Program {
  const ins = p.instructions;
  const keep: Instruction[] = [];
  const needed = new Set<number>();
  let out = take.length;
  for (let at = ins.length - 1; at >= 0; at--) {
    const i = ins[at]!;
    if ('dest' in i ? !needed.delete(i.dest) : !take[--out]) continue;
    keep.push(i);
    for (const r of sources(i)) if ('reg' in r) needed.add(r.reg);
  }
  return { registers: p.registers, instructions: keep.reverse() };
}

/** What one output computes, from which stored keys, whatever registers the program happened to use. */
export interface OutputSignature {
  /**
   * Canonical text: equal for two outputs exactly when they compute the same thing the same way
   * from the same keys. Sources keep the planner's order (its canonical form sorts them, so two
   * spellings of one set give one shape). Each key is written with its length first, so a key
   * holding `(` or `,` cannot be mistaken for structure.
   */
  readonly text: string;
  /** The stored keys it reads, through registers, each once. */
  readonly keys: readonly string[];
}

/** Offset lists are shared by the outputs that read at them: their text is made once. */
const offsetsText = new WeakMap<readonly number[], string>();

/**
 * Each output's signature, in order: the instruction subtree that computes it, with its input
 * keys. On every request's path (answer-cache.ts): plain concatenation, no sorting or quoting.
 */
export function outputSignatures(p: Program): OutputSignature[] {
  const regs = new Map<number, OutputSignature>();
  const out: OutputSignature[] = [];
  /** The text and keys of an instruction's sources, in order. */
  const over = (refs: readonly Ref[]): OutputSignature => {
    let text = '';
    const keys: string[] = [];
    let shared = false;
    for (const r of refs) {
      if ('key' in r) {
        text += `${r.key.length}:${r.key},`;
        keys.push(r.key);
      } else {
        const s = regs.get(r.reg)!;
        text += `${s.text},`;
        for (const k of s.keys) keys.push(k);
        shared = true;
      }
    }
    // Sources that are all keys are distinct already (the planner de-duplicates them).
    return { text, keys: shared ? [...new Set(keys)] : keys };
  };
  for (const i of p.instructions) {
    switch (i.op) {
      case 'and':
      case 'or':
      case 'xor':
      case 'diff': {
        const s = over(i.op === 'diff' ? [i.from, i.minus] : i.args);
        regs.set(i.dest, { text: `${i.op}(${s.text})`, keys: s.keys });
        break;
      }
      case 'count':
      case 'any':
      case 'getbit':
      case 'bits':
      case 'scan': {
        const s = over([i.src]);
        let tail = '';
        if (i.op === 'getbit') tail = ` ${i.offset}`;
        else if (i.op === 'scan') tail = ` ${i.after} ${i.limit}`;
        else if (i.op === 'bits') {
          let at = offsetsText.get(i.offsets);
          if (at === undefined) offsetsText.set(i.offsets, (at = i.offsets.join(',')));
          tail = ` ${at}`;
        }
        out.push({ text: `${i.op} ${s.text}${tail}`, keys: s.keys });
        break;
      }
      case 'hget':
        out.push({ text: `hget ${i.key.length}:${i.key} ${i.field.length}:${i.field}`, keys: [i.key] });
        break;
      case 'hgetall':
      case 'hsum':
        out.push({ text: `${i.op} ${i.key.length}:${i.key}`, keys: [i.key] });
        break;
    }
  }
  return out;
}
