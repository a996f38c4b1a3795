// Planner: a batch of queries becomes one Program, each distinct sub-expression computed once.

import { candidateIds, evaluateMembership, leafKeys } from './expr.ts';
import type { Expr } from './expr.ts';
import { sources } from './program.ts';
import type { CounterEntries, Instruction, MemberPage, OutputValue, Program, Ref } from './program.ts';

/** One question of a request: about a set, or about counters. */
export type Query =
  | { readonly kind: 'count'; readonly expr: Expr }
  | { readonly kind: 'exists'; readonly expr: Expr }
  | { readonly kind: 'contains'; readonly expr: Expr; readonly id: number }
  | { readonly kind: 'members'; readonly expr: Expr; readonly after: number | null; readonly limit: number }
  /** One field's value (or, with field null, the total of all fields) summed over counter hashes. */
  | { readonly kind: 'counter'; readonly keys: readonly string[]; readonly field: string | null }
  /** The `top` highest fields summed over counter hashes, highest first (ties by field). */
  | { readonly kind: 'counterTop'; readonly keys: readonly string[]; readonly top: number };

export type Answer = number | boolean | MemberPage | CounterEntries;

export interface Plan {
  readonly program: Program;
  /** The answer to each query, in the order given, from the program's outputs. */
  answer(outputs: readonly OutputValue[]): Answer[];
}

export interface PlanOptions {
  /** Up to this many bit reads, a set bounded by id literals is answered by GETBITs instead of BITOPs. */
  maxBitReads?: number;
}

type Reader = (outputs: readonly OutputValue[]) => Answer;

/** Plans a batch; see printProgram for the readable form. */
export function plan(queries: readonly Query[], options: PlanOptions = {}): Plan {
  const maxBitReads = options.maxBitReads ?? 4096;
  const code: Instruction[] = [];
  const computed = new Map<string, number>(); // expression text → virtual register
  const slots = new Map<string, number>(); // output signature → result slot
  let nextReg = 0;

  const output = (signature: string, instr: Instruction): number => {
    let slot = slots.get(signature);
    if (slot === undefined) {
      slot = slots.size;
      slots.set(signature, slot);
      code.push(instr);
    }
    return slot;
  };

  const materialize = (e: Expr): Ref => {
    if (e.op === 'key') return { key: e.key };
    const known = computed.get(e.text);
    if (known !== undefined) return { reg: known };
    let instr: Instruction;
    const dest = nextReg++;
    switch (e.op) {
      case 'ids':
        instr = { op: 'ids', dest, ids: e.ids };
        break;
      case 'and':
      case 'or':
      case 'xor':
        instr = { op: e.op, dest, args: e.args.map(materialize) };
        break;
      case 'diff':
        instr = { op: 'diff', dest, from: materialize(e.from), minus: materialize(e.minus) };
        break;
      case 'empty':
        throw new Error('the empty set is never materialized');
    }
    code.push(instr);
    computed.set(e.text, dest);
    return { reg: dest };
  };

  const refSig = (r: Ref): string => ('key' in r ? `k:${r.key}` : `e:${r.reg}`);

  /** Membership of each id, from single-bit reads of the expression's leaf keys. */
  const membership = (e: Expr, ids: readonly number[]): ((outputs: readonly OutputValue[]) => number[]) => {
    const keys = [...leafKeys(e)];
    const slotOf = new Map<string, number>();
    for (const id of ids) {
      for (const key of keys) {
        slotOf.set(`${key}\n${id}`, output(`getbit ${JSON.stringify(key)} ${id}`, { op: 'getbit', src: { key }, offset: id }));
      }
    }
    return (outs) =>
      ids.filter((id) => evaluateMembership(e, id, (key) => outs[slotOf.get(`${key}\n${id}`)!] === 1));
  };

  /** A finite candidate list small enough to answer by bit reads, or null. */
  const bounded = (e: Expr): readonly number[] | null => {
    if (e.op === 'key') return null;
    const ids = candidateIds(e);
    if (!ids) return null;
    return ids.length * Math.max(1, leafKeys(e).size) <= maxBitReads ? ids : null;
  };

  const answers: Reader[] = queries.map((q): Reader => {
    if (q.kind === 'counter') {
      const slotsOf = q.keys.map((key) =>
        q.field === null
          ? output(`hsum ${JSON.stringify(key)}`, { op: 'hsum', key })
          : output(`hget ${JSON.stringify(key)} ${JSON.stringify(q.field)}`, { op: 'hget', key, field: q.field }),
      );
      return (outs) => slotsOf.reduce((sum, slot) => sum + (outs[slot] as number), 0);
    }
    if (q.kind === 'counterTop') {
      const slotsOf = q.keys.map((key) => output(`hgetall ${JSON.stringify(key)}`, { op: 'hgetall', key }));
      return (outs) => {
        const totals = new Map<string, number>();
        for (const slot of slotsOf) for (const [field, v] of outs[slot] as CounterEntries) totals.set(field, (totals.get(field) ?? 0) + v);
        return [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, q.top);
      };
    }
    const e = q.expr;
    switch (q.kind) {
      case 'contains': {
        const members = membership(e, [q.id]);
        return (outs) => members(outs).length === 1;
      }
      case 'count':
      case 'exists': {
        const ids = bounded(e);
        if (ids) {
          const members = e.op === 'ids' || e.op === 'empty' ? () => [...ids] : membership(e, ids);
          return q.kind === 'count' ? (outs) => members(outs).length : (outs) => members(outs).length > 0;
        }
        const src = materialize(e);
        const slot = output(`${q.kind} ${refSig(src)}`, { op: q.kind === 'count' ? 'count' : 'any', src });
        return (outs) => outs[slot] as number | boolean;
      }
      case 'members': {
        const after = q.after ?? -1;
        const ids = bounded(e);
        if (ids) {
          const later = ids.filter((id) => id > after);
          const members = e.op === 'ids' ? () => later : membership(e, later);
          return (outs): MemberPage => {
            const all = members(outs);
            return { ids: all.slice(0, q.limit), hasMore: all.length > q.limit };
          };
        }
        const src = materialize(e);
        const slot = output(`scan ${refSig(src)} ${after} ${q.limit}`, { op: 'scan', src, after, limit: q.limit });
        return (outs) => outs[slot] as MemberPage;
      }
    }
  });

  const program = allocateRegisters(code);
  return { program, answer: (outs) => answers.map((a) => a(outs)) };
}

/**
 * Maps virtual registers onto as few temporary bitmaps as possible: a register is reused once
 * its last reader has run (overwriting a temp key is cheaper than creating one). A
 * destination never aliases one of its own sources.
 */
function allocateRegisters(code: readonly Instruction[]): Program {
  const lastUse = new Map<number, number>();
  code.forEach((i, at) => {
    for (const r of sources(i)) if ('reg' in r) lastUse.set(r.reg, at);
  });
  const physical = new Map<number, number>();
  const free: number[] = [];
  let registers = 0;
  const map = (r: Ref): Ref => ('key' in r ? r : { reg: physical.get(r.reg)! });
  const out = code.map((i, at): Instruction => {
    let mapped: Instruction;
    switch (i.op) {
      case 'and':
      case 'or':
      case 'xor':
        mapped = { ...i, args: i.args.map(map) };
        break;
      case 'diff':
        mapped = { ...i, from: map(i.from), minus: map(i.minus) };
        break;
      case 'count':
      case 'any':
      case 'getbit':
      case 'scan':
        mapped = { ...i, src: map(i.src) };
        break;
      default:
        mapped = i;
    }
    if ('dest' in i) {
      free.sort((a, b) => a - b);
      const reg = free.length ? free.shift()! : registers++;
      physical.set(i.dest, reg);
      mapped = { ...mapped, dest: reg } as Instruction;
    }
    for (const r of sources(i)) {
      if ('reg' in r && lastUse.get(r.reg) === at && physical.has(r.reg)) {
        free.push(physical.get(r.reg)!);
        physical.delete(r.reg);
      }
    }
    return mapped;
  });
  return { registers, instructions: out };
}
