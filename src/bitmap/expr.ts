// Set expressions: the raw form a caller writes, and the canonical form the planner works on.
//
// Canonical form: key/ids leaves; AND/OR/XOR flattened, sorted, de-duplicated (XOR pairs
// cancel); NOTs inside an AND become one difference `from \ minus`; empty sets folded.
// Two spellings of one set get the same canonical text, which is the sharing key.

import { BitmapError } from './errors.ts';

export type Expr =
  | { readonly op: 'key'; readonly key: string; readonly text: string }
  | { readonly op: 'ids'; readonly ids: readonly number[]; readonly text: string }
  | { readonly op: 'empty'; readonly text: string }
  | { readonly op: 'and' | 'or' | 'xor'; readonly args: readonly Expr[]; readonly text: string }
  | { readonly op: 'diff'; readonly from: Expr; readonly minus: Expr; readonly text: string };

/** A set as written, with keys already resolved; `not` is legal only inside an `and` with a positive operand. */
export type RawExpr =
  | { op: 'key'; key: string }
  | { op: 'ids'; ids: readonly number[] }
  | { op: 'and' | 'or' | 'xor'; args: readonly RawExpr[] }
  | { op: 'minus'; from: RawExpr; subtract: readonly RawExpr[] }
  | { op: 'not'; arg: RawExpr };

export const EMPTY: Expr = { op: 'empty', text: '∅' };

export const keyExpr = (key: string): Expr => ({ op: 'key', key, text: JSON.stringify(key) });

export function idsExpr(ids: Iterable<number>): Expr {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  return sorted.length === 0 ? EMPTY : { op: 'ids', ids: sorted, text: `ids(${sorted.join(',')})` };
}

const byText = (a: Expr, b: Expr): number => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);

function uniqueSorted(args: Expr[]): Expr[] {
  const seen = new Map<string, Expr>();
  for (const a of args) seen.set(a.text, a);
  return [...seen.values()].sort(byText);
}

const nary = (op: 'and' | 'or' | 'xor', args: Expr[]): Expr => ({
  op,
  args,
  text: `${op}(${args.map((a) => a.text).join(',')})`,
});

function intersect(a: readonly number[], b: readonly number[]): number[] {
  const s = new Set(b);
  return a.filter((x) => s.has(x));
}

export function andOf(input: readonly Expr[]): Expr {
  const flat: Expr[] = [];
  const minus: Expr[] = [];
  for (const a of input) {
    if (a.op === 'empty') return EMPTY;
    if (a.op === 'and') flat.push(...a.args);
    else if (a.op === 'diff') {
      // (f \ m) ∧ x = (f ∧ x) \ m: keeps one canonical shape for "AND with negatives".
      if (a.from.op === 'and') flat.push(...a.from.args);
      else flat.push(a.from);
      minus.push(a.minus);
    } else flat.push(a);
  }
  if (minus.length) return diffOf(andOf(flat), orOf(minus));
  let ids: number[] | undefined;
  const rest: Expr[] = [];
  for (const a of flat) {
    if (a.op === 'ids') ids = ids ? intersect(ids, a.ids) : [...a.ids];
    else rest.push(a);
  }
  if (ids) {
    if (ids.length === 0) return EMPTY;
    rest.push(idsExpr(ids));
  }
  const args = uniqueSorted(rest);
  if (args.length === 0) throw new Error('andOf needs at least one operand');
  return args.length === 1 ? args[0]! : nary('and', args);
}

export function orOf(input: readonly Expr[]): Expr {
  const flat: Expr[] = [];
  const ids: number[] = [];
  for (const a of input) {
    if (a.op === 'empty') continue;
    if (a.op === 'or') {
      for (const b of a.args) {
        if (b.op === 'ids') for (const id of b.ids) ids.push(id); // no spread: a list may exceed the call-argument limit
        else flat.push(b);
      }
    } else if (a.op === 'ids') for (const id of a.ids) ids.push(id);
    else flat.push(a);
  }
  if (ids.length) flat.push(idsExpr(ids));
  const args = uniqueSorted(flat);
  if (args.length === 0) return EMPTY;
  return args.length === 1 ? args[0]! : nary('or', args);
}

export function xorOf(input: readonly Expr[]): Expr {
  const counts = new Map<string, { e: Expr; n: number }>();
  const ids = new Set<number>();
  const add = (e: Expr): void => {
    if (e.op === 'empty') return;
    if (e.op === 'xor') return e.args.forEach(add);
    if (e.op === 'ids') {
      for (const id of e.ids) {
        if (!ids.delete(id)) ids.add(id);
      }
      return;
    }
    const c = counts.get(e.text);
    if (c) c.n++;
    else counts.set(e.text, { e, n: 1 });
  };
  input.forEach(add);
  const args = [...counts.values()].filter((c) => c.n % 2 === 1).map((c) => c.e);
  if (ids.size) args.push(idsExpr(ids));
  args.sort(byText);
  if (args.length === 0) return EMPTY;
  return args.length === 1 ? args[0]! : nary('xor', args);
}

export function diffOf(from: Expr, minus: Expr): Expr {
  if (from.op === 'empty') return EMPTY;
  if (minus.op === 'empty') return from;
  if (from.op === 'diff') return diffOf(from.from, orOf([from.minus, minus]));
  if (from.op === 'ids' && minus.op === 'ids') {
    const m = new Set(minus.ids);
    return idsExpr(from.ids.filter((x) => !m.has(x)));
  }
  // x \ (x ∪ …) and (x ∧ …) \ x are empty.
  const removed = new Set((minus.op === 'or' ? minus.args : [minus]).map((e) => e.text));
  const kept = from.op === 'and' ? from.args : [from];
  if (removed.has(from.text) || kept.some((e) => removed.has(e.text))) return EMPTY;
  return { op: 'diff', from, minus, text: `diff(${from.text},${minus.text})` };
}

/** Canonical form of a raw expression; a NOT with nothing positive to subtract from is refused. */
export function canonical(raw: RawExpr): Expr {
  switch (raw.op) {
    case 'key':
      return keyExpr(raw.key);
    case 'ids':
      return idsExpr(raw.ids);
    case 'or':
      return orOf(raw.args.map(canonical));
    case 'xor':
      return xorOf(raw.args.map(canonical));
    case 'minus':
      return canonicalAnd([raw.from, ...raw.subtract.map((arg): RawExpr => ({ op: 'not', arg }))]);
    case 'and':
      return canonicalAnd(raw.args);
    case 'not':
      throw unboundedNot();
  }
}

function canonicalAnd(args: readonly RawExpr[]): Expr {
  const pos: Expr[] = [];
  const neg: Expr[] = [];
  for (let a of args) {
    let negated = false;
    while (a.op === 'not') {
      negated = !negated;
      a = a.arg;
    }
    (negated ? neg : pos).push(canonical(a));
  }
  if (pos.length === 0) throw unboundedNot();
  return diffOf(andOf(pos), orOf(neg));
}

const unboundedNot = (): BitmapError =>
  new BitmapError(
    'UNBOUNDED_NOT',
    'a bare NOT has no stable meaning over bitmaps: put it inside an `and` next to a positive set, or use `minus: { from, subtract }`',
  );

/** Every distinct sub-expression, children before parents. */
export function subExpressions(e: Expr, into = new Map<string, Expr>()): Map<string, Expr> {
  if (into.has(e.text)) return into;
  if (e.op === 'and' || e.op === 'or' || e.op === 'xor') e.args.forEach((a) => subExpressions(a, into));
  if (e.op === 'diff') {
    subExpressions(e.from, into);
    subExpressions(e.minus, into);
  }
  into.set(e.text, e);
  return into;
}

/** Membership of one id, given the bits of the leaf keys at that id. */
export function evaluateMembership(e: Expr, id: number, bit: (key: string) => boolean): boolean {
  switch (e.op) {
    case 'key':
      return bit(e.key);
    case 'ids':
      return binaryHas(e.ids, id);
    case 'empty':
      return false;
    case 'and':
      return e.args.every((a) => evaluateMembership(a, id, bit));
    case 'or':
      return e.args.some((a) => evaluateMembership(a, id, bit));
    case 'xor':
      return e.args.reduce((acc, a) => acc !== evaluateMembership(a, id, bit), false);
    case 'diff':
      return evaluateMembership(e.from, id, bit) && !evaluateMembership(e.minus, id, bit);
  }
}

function binaryHas(sorted: readonly number[], x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Leaf keys an expression reads. */
export function leafKeys(e: Expr, into = new Set<string>()): Set<string> {
  for (const s of subExpressions(e).values()) if (s.op === 'key') into.add(s.key);
  return into;
}

/**
 * A finite superset of the members when one is known from id literals (an AND with ids, or
 * a difference from one): such sets are answered by reading single bits, with no BITOP.
 */
export function candidateIds(e: Expr): readonly number[] | null {
  switch (e.op) {
    case 'ids':
      return e.ids;
    case 'empty':
      return [];
    case 'and': {
      const ids = e.args.find((a) => a.op === 'ids');
      return ids ? (ids as { ids: readonly number[] }).ids : null;
    }
    case 'diff':
      return candidateIds(e.from);
    case 'or':
    case 'xor': {
      const all: number[] = [];
      for (const a of e.args) {
        const c = candidateIds(a);
        if (!c) return null;
        for (const id of c) all.push(id);
      }
      return [...new Set(all)].sort((x, y) => x - y);
    }
    case 'key':
      return null;
  }
}
