// The import summary as text, for the command line.

import type { ImportSummary } from './importer.ts';

const n = (v: number): string => v.toLocaleString('en-US');
const plural = (v: number, one: string, many = `${one}s`): string => `${n(v)} ${v === 1 ? one : many}`;

/** Problems listed; an archive of many files with one mistake would list it per file. */
const MAX_PROBLEMS = 5;

export function formatSummary(s: ImportSummary): string {
  const by = (status: string): number => s.files.filter((f) => f.status === status).length;
  const fileParts = [
    by('imported') && `${n(by('imported'))} imported`,
    by('resumed') &&
      `${n(by('resumed'))} resumed (${s.files
        .filter((f) => f.status === 'resumed')
        .slice(0, 3)
        .map((f) => `${f.file} at line ${n(f.fromLine)}`)
        .join(', ')}${by('resumed') > 3 ? ', …' : ''})`,
    by('added') && `${n(by('added'))} with templates added`,
    by('forced') && `${n(by('forced'))} with marks written again (--force)`,
    by('already imported') && `${n(by('already imported'))} already imported (skipped)`,
    by('not imported') && `${n(by('not imported'))} not imported (every line was skipped)`,
    by('interrupted') && `${n(by('interrupted'))} interrupted`,
    by('failed') && `${n(by('failed'))} failed (${s.files.filter((f) => f.status === 'failed').map((f) => f.file).join(', ')})`,
  ].filter(Boolean);
  const skippedTotal = Object.values(s.skipped).reduce((a, k) => a + k.count, 0);
  const lines = [
    `files: ${plural(s.files.length, 'file')}${fileParts.length ? `: ${fileParts.join(', ')}` : ''}`,
    `lines: ${n(s.linesRead)} read, ${n(s.linesImported)} imported, ${n(skippedTotal)} skipped${s.linesAlreadyIn ? ` (and ${n(s.linesAlreadyIn)} imported by an earlier run)` : ''}`,
    `written: ${plural(s.marks, 'mark')} (${plural(s.bitWrites, 'bit write')}), ${plural(s.counterIncrements, 'counter increment')}, ${plural(s.newIds, 'new id')}, in ${plural(s.batches, 'batch', 'batches')}`,
  ];
  const table = (title: string, of: Record<string, { count: number; first: string[] }>): void => {
    const reasons = Object.entries(of).sort((a, b) => b[1].count - a[1].count);
    if (!reasons.length) return;
    lines.push(title);
    const width = Math.max(...reasons.map(([r]) => r.length));
    for (const [reason, k] of reasons) {
      lines.push(`  ${reason.padEnd(width)}  ${n(k.count).padStart(8)}  first at ${k.first.join(', ')}${k.count > k.first.length ? ', …' : ''}`);
    }
  };
  table('skipped lines:', s.skipped);
  table("templates not written for a line (the line's other templates were):", s.missed);
  const problems = s.files.flatMap((f) =>
    f.problems.map((p) => `  ${f.file}: ${f.status === 'not imported' ? 'every line was skipped: ' : ''}${p}`),
  );
  if (problems.length) {
    lines.push('not recorded as imported (nothing was written; correct the template and run again):');
    lines.push(...problems.slice(0, MAX_PROBLEMS));
    if (problems.length > MAX_PROBLEMS) lines.push(`  … and ${n(problems.length - MAX_PROBLEMS)} more alike`);
  }
  lines.push(`elapsed: ${(s.elapsedMs / 1000).toFixed(1)}s, ${n(s.linesPerSecond)} lines/s${s.interrupted ? ' (interrupted: run the same command again to resume)' : ''}`);
  return lines.join('\n');
}
