// Printing: medians, spreads and ratios as plain-text tables.

import type { Samples } from './harness.ts';

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const times = (v: number): string => `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;

/** A plain-text table; `align` per column ('l' or 'r'; default: first column left, the rest right). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const left = (c: number): boolean => (align ? align[c] === 'l' : c === 0);
  const line = (cells: readonly string[]): string =>
    `  ${cells.map((cell, c) => (left(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')}`.trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export interface TimingReport {
  readonly title: string;
  /** Lines printed under the title (what is measured). */
  readonly notes?: readonly string[];
  readonly samples: readonly Samples[];
  /** The competitor every ratio is relative to (1.00×). */
  readonly baseline: string;
  /** [slower, faster] pairs printed as "slower / faster speed-up". */
  readonly speedups?: ReadonlyArray<readonly [string, string]>;
  readonly rounds: number;
  readonly warmup: number;
}

export function printTiming(r: TimingReport): void {
  const med = new Map(r.samples.map((s) => [s.name, median(s.ms)]));
  const base = med.get(r.baseline);
  if (base === undefined) throw new Error(`no baseline ${r.baseline}`);
  const rows = r.samples.map((s) => [
    s.name,
    ms(med.get(s.name)!),
    `${ms(quantile(s.ms, 0.25))} – ${ms(quantile(s.ms, 0.75))}`,
    ms(Math.min(...s.ms)),
    times(med.get(s.name)! / base),
    s.description,
  ]);
  const out = [
    '',
    r.title,
    ...(r.notes ?? []).map((n) => `  ${n}`),
    `  median of ${r.rounds} interleaved rounds after ${r.warmup} warm-up rounds; ratio = median / median of ${r.baseline}`,
    '',
    table(['method', 'median ms', 'p25 – p75 ms', 'min ms', `vs ${r.baseline}`, 'what'], rows, ['l', 'r', 'r', 'r', 'r', 'l']),
  ];
  if (r.speedups?.length) {
    out.push('');
    for (const [slow, fast] of r.speedups) {
      const a = med.get(slow);
      const b = med.get(fast);
      if (a === undefined || b === undefined) continue;
      const verdict = a >= b ? `${fast} is ${times(a / b)} faster` : `${fast} is ${times(b / a)} slower`;
      out.push(`  speed-up ${slow} / ${fast} = ${times(a / b)}  (${verdict})`);
    }
  }
  console.log(out.join('\n'));
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n >= 100 * 1024 * 1024 ? 0 : 2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export const formatRatio = times;
