// Registers renumbered by lifetime (cluster/fan-out.ts compactRegisters): random programs give the same outputs as before, worked out on plain JS Sets, with no more registers than values alive at once.

import { describe, expect, it } from 'vitest';
import { compactRegisters } from '../../src/bitmap/engines/cluster/fan-out.ts';
import type { Instruction, Program, Ref } from '../../src/bitmap/program.ts';
import { rng } from '../rng.ts';

/** Runs a Program of BITOPs, differences and counts on Sets (a reference independent of Redis). */
function evaluate(p: Program, keys: ReadonlyMap<string, ReadonlySet<number>>): number[] {
  const regs = new Map<number, Set<number>>();
  const of = (r: Ref): ReadonlySet<number> => ('key' in r ? (keys.get(r.key) ?? new Set()) : regs.get(r.reg)!);
  const out: number[] = [];
  for (const i of p.instructions) {
    expect(!('dest' in i) || i.dest < p.registers).toBe(true);
    switch (i.op) {
      case 'and':
        regs.set(i.dest, new Set([...of(i.args[0]!)].filter((x) => i.args.every((a) => of(a).has(x)))));
        break;
      case 'or':
        regs.set(i.dest, new Set(i.args.flatMap((a) => [...of(a)])));
        break;
      case 'xor': {
        const acc = new Set<number>();
        for (const a of i.args) for (const x of of(a)) if (!acc.delete(x)) acc.add(x);
        regs.set(i.dest, acc);
        break;
      }
      case 'diff':
        regs.set(i.dest, new Set([...of(i.from)].filter((x) => !of(i.minus).has(x))));
        break;
      case 'count':
        out.push(of(i.src).size);
        break;
      default:
        throw new Error(i.op);
    }
  }
  return out;
}

describe('compactRegisters', () => {
  it('keeps every output of random programs, a step never writing a register it reads', () => {
    const r = rng(77);
    const keys = new Map<string, Set<number>>();
    for (let k = 0; k < 6; k++) keys.set(`k${k}`, new Set(Array.from({ length: 30 }, () => Math.floor(r() * 60))));
    for (let n = 0; n < 300; n++) {
      const ins: Instruction[] = [];
      const written: number[] = [];
      const pick = (): Ref => (written.length && r() < 0.6 ? { reg: written[Math.floor(r() * written.length)]! } : { key: `k${Math.floor(r() * 6)}` });
      for (let s = 0; s < 25; s++) {
        const dest = Math.floor(r() * 8); // the planner's numbers, reused at random
        const roll = r();
        if (roll < 0.25) ins.push({ op: 'count', src: pick() });
        else if (roll < 0.45) ins.push({ op: 'diff', dest, from: pick(), minus: pick() });
        else ins.push({ op: (['and', 'or', 'xor'] as const)[Math.floor(r() * 3)]!, dest, args: Array.from({ length: 2 + Math.floor(r() * 3) }, pick) });
        if ('dest' in ins.at(-1)!) written.push(dest);
      }
      const p: Program = { registers: 8, instructions: ins };
      const compact = compactRegisters(ins);
      expect(evaluate(compact, keys)).toEqual(evaluate(p, keys));
      // One more than the planner's at most: a step computing in place gets a register of its own.
      expect(compact.registers).toBeLessThanOrEqual(9);
      for (const i of compact.instructions) {
        if (!('dest' in i)) continue;
        const reads = i.op === 'diff' ? [i.from, i.minus] : i.args;
        expect(reads.some((a) => 'reg' in a && a.reg === i.dest)).toBe(false);
      }
    }
  });

  it('gives a 30×30 cohort one temporary register', () => {
    const ins: Instruction[] = [];
    for (let c = 0; c < 900; c++) ins.push({ op: 'and', dest: c, args: [{ key: `a${c % 30}` }, { key: `b${c % 60}` }] }, { op: 'count', src: { reg: c } });
    expect(compactRegisters(ins).registers).toBe(1);
  });
});
