// Planner: a batch of queries becomes one Program, each distinct sub-expression computed once.
//
// Id literals are never written to storage (see program.ts): a set that names ids is its ids-free
// part E' (the ids taken out) computed as usual, corrected at the named ids, where membership is
// worked out in the gateway from bits read at those offsets:
//   count(E) = count(E') − |{x ∈ U : x ∈ E'}| + |{x ∈ U : x ∈ E}|   (U: every id the set names)
// and a members page is E's page with U's members merged in. So a request costs storage the
// bitmaps it reads, whatever ids it names; the bits read are bounded by `maxIdReads`.

import { BitmapError } from './errors.ts';
import { EMPTY, andOf, candidateIds, diffOf, evaluateMembership, leafKeys, orOf, xorOf } from './expr.ts';
import type { Expr } from './expr.ts';
import { sources } from './program.ts';
import type { BitList, CounterEntries, Instruction, MemberPage, OutputValue, Program, Ref } from './program.ts';

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
  /** Up to this many bit reads, a set bounded by id literals is answered from its leaf keys' bits, with no BITOP at all. */
  maxBitReads?: number;
  /** Bits one program may read at the offsets of id literals; past it the batch is refused with TOO_COMPLEX. */
  maxIdReads?: number;
}

/** The default of `maxIdReads`: under a second of bit reads inside Redis (about 0.5 µs each in program.lua). */
export const MAX_ID_READS = 1_000_000;

type Reader = (outputs: readonly OutputValue[]) => Answer;
/** Membership of an id, valid for the ids it was planned for. */
type Member = (x: number) => boolean;
type LazyMember = (outputs: readonly OutputValue[]) => Member;

/** Plans a batch; see printProgram for the readable form. */
export function plan(queries: readonly Query[], options: PlanOptions = {}): Plan {
  const maxBitReads = options.maxBitReads ?? 4096;
  const maxIdReads = options.maxIdReads ?? MAX_ID_READS;
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
        throw new Error('id literals are never materialized');
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

  let idReads = 0;
  const lists = new OffsetLists();

  /** The bits of an ids-free set at `at` (ascending, distinct); only those may be asked for. */
  const probe = (e: Expr, at: readonly number[]): LazyMember => {
    if (e.op === 'empty') return () => () => false;
    if (at.length === 0) return () => notPlanned;
    const { offsets, n } = lists.intern(at);
    const src = materialize(e);
    const signature = `bits ${refSig(src)} ${n}`;
    if (!slots.has(signature)) {
      idReads += offsets.length;
      if (idReads > maxIdReads) throw tooManyIdReads(maxIdReads);
    }
    const slot = output(signature, { op: 'bits', src, offsets });
    return (outs) => {
      const bits = outs[slot] as BitList;
      return (x) => {
        const j = indexOf(offsets, x);
        if (j < 0) notPlanned();
        return bits[j] === 1;
      };
    };
  };

  /**
   * Membership in `e` of each id in `need` (ascending), from bits of its ids-free parts. Under
   * an and/or/xor the ids-free operands are read as one set; each part is read only at the ids
   * where the answer can depend on it (an `and` at its candidates, an `or` off its literal).
   */
  const evaluate = (e: Expr, need: readonly number[]): LazyMember => {
    if (!namesIds(e)) return probe(e, need);
    switch (e.op) {
      case 'ids': {
        const ids = e.ids;
        return () => (x) => indexOf(ids, x) >= 0;
      }
      case 'diff': {
        const from = evaluate(e.from, need);
        const bound = candidateIds(e.from);
        const minus = evaluate(e.minus, bound ? intersect(need, bound) : need);
        return (outs) => {
          const f = from(outs);
          const m = minus(outs);
          return (x) => f(x) && !m(x);
        };
      }
      case 'and':
      case 'or':
      case 'xor': {
        const op = e.op;
        const literals: Array<readonly number[]> = [];
        const free: Expr[] = [];
        const mixed: Expr[] = [];
        for (const a of e.args) {
          if (a.op === 'ids') literals.push(a.ids);
          else (namesIds(a) ? mixed : free).push(a);
        }
        let at = need;
        if (op === 'and') {
          for (const a of mixed) {
            const bound = candidateIds(a);
            if (bound) at = intersect(at, bound);
          }
          for (const ids of literals) at = intersect(at, ids);
        } else if (op === 'or') {
          for (const ids of literals) at = except(at, ids);
        }
        const rest = free.length === 0 ? null : free.length === 1 ? free[0]! : op === 'and' ? andOf(free) : op === 'or' ? orOf(free) : xorOf(free);
        const parts = [...(rest ? [probe(rest, at)] : []), ...mixed.map((m) => evaluate(m, at))];
        const sub = at;
        return (outs) => {
          const fs = parts.map((p) => p(outs));
          if (op === 'and') return (x) => indexOf(sub, x) >= 0 && fs.every((f) => f(x));
          const inLiterals = (x: number): number => literals.filter((ids) => indexOf(ids, x) >= 0).length;
          if (op === 'or') return (x) => inLiterals(x) > 0 || fs.some((f) => f(x));
          return (x) => (inLiterals(x) + fs.filter((f) => f(x)).length) % 2 === 1;
        };
      }
      default:
        throw new Error(`${e.op} names no ids`);
    }
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
        if (namesIds(e)) {
          const at = candidateIds(e) ?? literalIds(e);
          const rest = withoutIds(e);
          let restCount: number | null = null;
          let inRest: LazyMember = () => () => false;
          if (rest.op !== 'empty') {
            const src = materialize(rest);
            restCount = output(`count ${refSig(src)}`, { op: 'count', src });
            inRest = probe(rest, at);
          }
          const inE = evaluate(e, at);
          return (outs) => {
            const f = inE(outs);
            const g = inRest(outs);
            let n = restCount === null ? 0 : (outs[restCount] as number);
            for (const x of at) n += Number(f(x)) - Number(g(x));
            return q.kind === 'count' ? n : n > 0;
          };
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
        if (namesIds(e)) {
          // A page of E' long enough that `limit` of its members remain once U is taken out.
          const at = (candidateIds(e) ?? literalIds(e)).filter((id) => id > after);
          const rest = withoutIds(e);
          let page: number | null = null;
          if (rest.op !== 'empty') {
            const src = materialize(rest);
            const limit = q.limit + at.length;
            page = output(`scan ${refSig(src)} ${after} ${limit}`, { op: 'scan', src, after, limit });
          }
          const inE = evaluate(e, at);
          return (outs): MemberPage => {
            const f = inE(outs);
            const named = at.filter(f);
            const p = page === null ? { ids: [], hasMore: false } : (outs[page] as MemberPage);
            const all = mergeSorted(p.ids.filter((id) => indexOf(at, id) < 0), named);
            return { ids: all.slice(0, q.limit), hasMore: all.length > q.limit || p.hasMore };
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
 * Plans of batches already planned, by their questions. A dashboard asks the same counts on
 * every refresh, and planning them (sharing, registers) costs more than looking them up. Only
 * batches of counts and emptiness checks with the default options, whose plan follows from the
 * canonical texts of their sets alone; a plan and its program are never changed once made.
 * Bounded by entries and by the characters of their texts; full, it starts again empty.
 */
const plans = new Map<string, Plan>();
let planTextChars = 0;
const MAX_PLANS = 500;
const MAX_PLAN_TEXT_CHARS = 4_000_000;

/** plan(), or the plan of an equal batch planned before (see `plans`). */
export function planOnce(queries: readonly Query[]): Plan {
  let key = '';
  for (const q of queries) {
    if (q.kind !== 'count' && q.kind !== 'exists') return plan(queries);
    // A canonical text never holds a line break (keys are JSON strings): one question a line.
    key += `${q.kind === 'count' ? 'c' : 'e'}${q.expr.text}\n`;
  }
  const known = plans.get(key);
  if (known) return known;
  const made = plan(queries);
  if (plans.size >= MAX_PLANS || planTextChars + key.length > MAX_PLAN_TEXT_CHARS) {
    plans.clear();
    planTextChars = 0;
  }
  if (key.length <= MAX_PLAN_TEXT_CHARS) {
    plans.set(key, made);
    planTextChars += key.length;
  }
  return made;
}

const tooManyIdReads = (limit: number): BitmapError =>
  new BitmapError(
    'TOO_COMPLEX',
    `the request's id lists need more than ${limit} bits read (ids × the sets beside them); use fewer or shorter id lists, or split the request`,
    { limit },
  );

const notPlanned = (): never => {
  throw new Error('a bit was asked for that the plan did not read');
};

const namesIdsMemo = new WeakMap<Expr, boolean>();

/** Whether an expression has an id literal anywhere. */
function namesIds(e: Expr): boolean {
  // Leaves answer at once: most nodes are keys, and a WeakMap entry each cost more than the walk.
  if (e.op === 'key' || e.op === 'empty') return false;
  if (e.op === 'ids') return true;
  let known = namesIdsMemo.get(e);
  if (known === undefined) {
    known = e.op === 'diff' ? namesIds(e.from) || namesIds(e.minus) : e.args.some(namesIds);
    namesIdsMemo.set(e, known);
  }
  return known;
}

/** The set with every id literal taken out (as the empty set): equal to `e` away from the ids it names. */
function withoutIds(e: Expr): Expr {
  if (!namesIds(e)) return e;
  switch (e.op) {
    case 'ids':
      return EMPTY;
    case 'diff':
      return diffOf(withoutIds(e.from), withoutIds(e.minus));
    case 'and':
      return andOf(e.args.map(withoutIds));
    case 'or':
      return orOf(e.args.map(withoutIds));
    case 'xor':
      return xorOf(e.args.map(withoutIds));
    default:
      return e;
  }
}

/** Every id the set names, ascending. */
function literalIds(e: Expr): number[] {
  const all = new Set<number>();
  const walk = (s: Expr): void => {
    if (!namesIds(s)) return;
    if (s.op === 'ids') for (const id of s.ids) all.add(id);
    else if (s.op === 'diff') {
      walk(s.from);
      walk(s.minus);
    } else if (s.op === 'and' || s.op === 'or' || s.op === 'xor') s.args.forEach(walk);
  };
  walk(e);
  return [...all].sort((a, b) => a - b);
}

/** Position of x in an ascending list, or -1. */
function indexOf(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === x) return mid;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function intersect(a: readonly number[], b: readonly number[]): readonly number[] {
  const out: number[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return out;
}

/** The members of a not in b (both ascending). */
function except(a: readonly number[], b: readonly number[]): readonly number[] {
  const out: number[] = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j]! < x) j++;
    if (j === b.length || b[j] !== x) out.push(x);
  }
  return out;
}

/** Two ascending lists with no common member, as one. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * Equal offset lists as one array with one number, so that one list read at several sets is
 * sent once and each (set, list) is read once.
 */
class OffsetLists {
  private readonly byShape = new Map<string, Array<{ offsets: readonly number[]; n: number }>>();
  private count = 0;

  intern(list: readonly number[]): { offsets: readonly number[]; n: number } {
    let h = 0;
    for (const x of list) h = (Math.imul(h, 31) + x) | 0;
    const shape = `${list.length}:${h}`;
    let same = this.byShape.get(shape);
    if (!same) this.byShape.set(shape, (same = []));
    const found = same.find((l) => l.offsets.length === list.length && l.offsets.every((x, i) => x === list[i]));
    if (found) return found;
    const entry = { offsets: list, n: this.count++ };
    same.push(entry);
    return entry;
  }
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
      case 'bits':
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
