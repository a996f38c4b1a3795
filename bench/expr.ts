// Benchmark set expressions over the dataset's day keys, and what each competitor makes of them:
// BITOP steps (naive, pipeline, Lua), a GraphQL SetExpr literal (gateways), and a JS reference count.

import type { Dataset } from './dataset.ts';
import { popcount } from './dataset.ts';

export type BExpr =
  /** One event on one day (index into dataset.days). */
  | { readonly kind: 'day'; readonly event: string; readonly day: number }
  /** One event on any of days from..to (inclusive): an OR of day keys, a `range` in GraphQL. */
  | { readonly kind: 'range'; readonly event: string; readonly from: number; readonly to: number }
  | { readonly kind: 'and' | 'or' | 'xor'; readonly args: readonly BExpr[] }
  /** Members of `from` that are not in `subtract`. */
  | { readonly kind: 'minus'; readonly from: BExpr; readonly subtract: BExpr };

export const day = (event: string, d: number): BExpr => ({ kind: 'day', event, day: d });
export const range = (event: string, from: number, to: number): BExpr => ({ kind: 'range', event, from, to });
export const and = (...args: BExpr[]): BExpr => ({ kind: 'and', args });
export const or = (...args: BExpr[]): BExpr => ({ kind: 'or', args });
export const xor = (...args: BExpr[]): BExpr => ({ kind: 'xor', args });
export const minus = (from: BExpr, subtract: BExpr): BExpr => ({ kind: 'minus', from, subtract });

/** A stable text for an expression (commutative operands sorted), used to de-duplicate and share. */
export function exprText(e: BExpr): string {
  switch (e.kind) {
    case 'day':
      return `${e.event}@${e.day}`;
    case 'range':
      return `${e.event}@${e.from}..${e.to}`;
    case 'minus':
      return `minus(${exprText(e.from)},${exprText(e.subtract)})`;
    default:
      return `${e.kind}(${e.args.map(exprText).sort().join(',')})`;
  }
}

// --- Redis: BITOP steps --------------------------------------------------------------------------

export type Operand = { readonly key: string } | { readonly temp: number };

export type Step = { readonly op: 'AND' | 'OR' | 'XOR'; readonly dest: number; readonly args: readonly Operand[] };

/** The steps that leave one count's set in an operand (a key when the expression is a single day). */
export interface CountProgram {
  readonly steps: readonly Step[];
  readonly result: Operand;
  /** Temporaries used, numbered 0..temps-1. */
  readonly temps: number;
}

/**
 * Compiles expressions to BITOP steps. With `share`, a sub-expression that occurs in several
 * counts is computed once (its temporary is kept); without, every count is compiled on its own
 * and reuses temporaries 0, 1, ... of the previous counts.
 */
export function compile(ds: Dataset, exprs: readonly BExpr[], options: { share: boolean }): { counts: CountProgram[]; temps: number } {
  let next = 0;
  let memo = new Map<string, Operand>();
  let maxTemps = 0;
  const counts: CountProgram[] = [];
  for (const e of exprs) {
    if (!options.share) {
      next = 0;
      memo = new Map();
    }
    const steps: Step[] = [];
    const operand = (x: BExpr): Operand => {
      if (x.kind === 'day') return { key: ds.keyOf(x.event, x.day) };
      const text = exprText(x);
      const known = memo.get(text);
      if (known) return known;
      const dest = next++;
      switch (x.kind) {
        case 'range': {
          const args: Operand[] = [];
          for (let d = x.from; d <= x.to; d++) args.push({ key: ds.keyOf(x.event, d) });
          steps.push({ op: 'OR', dest, args });
          break;
        }
        case 'minus': {
          // Redis 7 has no BITOP DIFF: from AND NOT s = from XOR (from AND s).
          const from = operand(x.from);
          const sub = operand(x.subtract);
          steps.push({ op: 'AND', dest, args: [from, sub] });
          steps.push({ op: 'XOR', dest, args: [from, { temp: dest }] });
          break;
        }
        default:
          steps.push({ op: x.kind === 'and' ? 'AND' : x.kind === 'or' ? 'OR' : 'XOR', dest, args: x.args.map(operand) });
      }
      const out = { temp: dest };
      memo.set(text, out);
      return out;
    };
    const result = operand(e);
    maxTemps = Math.max(maxTemps, next);
    counts.push({ steps, result, temps: next });
  }
  return { counts, temps: maxTemps };
}

// --- GraphQL ----------------------------------------------------------------------------------------

/** The expression as a GraphQL SetExpr literal, with explicit periods (no dependence on the clock). */
export function toGraphQL(ds: Dataset, e: BExpr): string {
  const dayOf = (d: number): string => {
    const found = ds.days[d];
    if (!found) throw new Error(`no day ${d}`);
    return found.iso;
  };
  switch (e.kind) {
    case 'day':
      return `{event: {name: ${JSON.stringify(e.event)}, period: {at: {granularity: DAY, date: "${dayOf(e.day)}"}}}}`;
    case 'range':
      return `{range: {name: ${JSON.stringify(e.event)}, granularity: DAY, from: "${dayOf(e.from)}", to: "${dayOf(e.to)}"}}`;
    case 'minus':
      return `{minus: {from: ${toGraphQL(ds, e.from)}, subtract: [${toGraphQL(ds, e.subtract)}]}}`;
    default:
      return `{${e.kind}: [${e.args.map((a) => toGraphQL(ds, a)).join(', ')}]}`;
  }
}

/** One query with one aliased `count` field per expression: c0, c1, ... */
export function countQuery(ds: Dataset, exprs: readonly BExpr[], name = 'Bench'): string {
  const fields = exprs.map((e, i) => `  c${i}: count(set: ${toGraphQL(ds, e)})`);
  return `query ${name} {\n${fields.join('\n')}\n}\n`;
}

// --- JS reference -------------------------------------------------------------------------------------

function evalBytes(ds: Dataset, e: BExpr): Uint8Array {
  switch (e.kind) {
    case 'day':
      return ds.bytes(ds.keyOf(e.event, e.day));
    case 'range': {
      const args: BExpr[] = [];
      for (let d = e.from; d <= e.to; d++) args.push({ kind: 'day', event: e.event, day: d });
      return evalBytes(ds, { kind: 'or', args });
    }
    case 'minus': {
      const a = evalBytes(ds, e.from);
      const b = evalBytes(ds, e.subtract);
      return a.map((v, i) => v & ~(b[i] ?? 0));
    }
    default: {
      const parts = e.args.map((a) => evalBytes(ds, a));
      const out = Uint8Array.from(parts[0] ?? []);
      for (const p of parts.slice(1)) {
        for (let i = 0; i < out.length; i++) {
          const v = p[i] ?? 0;
          out[i] = e.kind === 'and' ? out[i]! & v : e.kind === 'or' ? out[i]! | v : out[i]! ^ v;
        }
      }
      return out;
    }
  }
}

/** The count computed in plain JS from the dataset bytes: the oracle every competitor must match. */
export const referenceCount = (ds: Dataset, e: BExpr): number => popcount(evalBytes(ds, e));
