// The reference for set expressions: an Expr evaluated over plain JS Sets, one Set per key.

import type { Expr } from '../src/bitmap/expr.ts';

export type SetsByKey = ReadonlyMap<string, ReadonlySet<number>>;

export function evaluateExpr(e: Expr, sets: SetsByKey): Set<number> {
  switch (e.op) {
    case 'key':
      return new Set(sets.get(e.key) ?? []);
    case 'ids':
      return new Set(e.ids);
    case 'empty':
      return new Set();
    case 'and': {
      const [first, ...rest] = e.args.map((a) => evaluateExpr(a, sets));
      return new Set([...first!].filter((x) => rest.every((s) => s.has(x))));
    }
    case 'or':
      return new Set(e.args.flatMap((a) => [...evaluateExpr(a, sets)]));
    case 'xor': {
      const out = new Set<number>();
      for (const s of e.args.map((a) => evaluateExpr(a, sets))) for (const x of s) if (!out.delete(x)) out.add(x);
      return out;
    }
    case 'diff': {
      const minus = evaluateExpr(e.minus, sets);
      return new Set([...evaluateExpr(e.from, sets)].filter((x) => !minus.has(x)));
    }
  }
}
