// What a file's lines did for each template (written, or skipped and why), whether a template
// that wrote nothing is recorded as imported, and if not, why in words a user can act on: the
// field that is missing and the nearest field names the lines do have.

import { noField } from './parse.ts';
import type { ImportSpec } from './spec.ts';

/** Field names kept per file for suggestions. */
const MAX_FIELDS = 500;

interface TemplateStats {
  /** Lines read at or after the template's start. */
  lines: number;
  written: number;
  /** Why lines were not written for it: line-level reasons and its own misses. */
  readonly reasons: Map<string, number>;
}

/**
 * How far a line got before a reason stopped it, in the order the parser checks a line: read as
 * JSON, an object, --where, time, id, then each template.
 */
function stepOf(reason: string, spec: ImportSpec): number {
  if (reason === 'empty line' || reason === 'invalid JSON') return 0;
  if (reason === 'not a JSON object') return 1;
  if (reason === 'filtered') return 2;
  if (reason === noField(spec.timestamp) || reason === 'bad timestamp') return 3;
  if (reason === noField(spec.id) || reason === 'bad id') return 4;
  return TEMPLATE_STEP;
}
const TEMPLATE_STEP = 5;

/** Why a template is not recorded: `lineLevel` when the lines stopped before any template (the same for all). */
export interface Problem {
  readonly why: string;
  readonly lineLevel: boolean;
}

export class FileStats {
  readonly templates: TemplateStats[];
  readonly fields = new Set<string>();
  /** Per --where field: lines that have it. */
  readonly wherePresent: number[];

  constructor(
    private readonly spec: ImportSpec,
    templates: number,
  ) {
    this.templates = Array.from({ length: templates }, () => ({ lines: 0, written: 0, reasons: new Map() }));
    this.wherePresent = Object.keys(spec.where).map(() => 0);
  }

  /** Lines of a batch read at or after template t's start, and how many were written for it. */
  add(t: number, lines: number, written: number): void {
    const s = this.templates[t]!;
    s.lines += lines;
    s.written += written;
  }

  /** Why a line read for template t was not written for it. */
  skip(t: number, reason: string): void {
    const r = this.templates[t]!.reasons;
    r.set(reason, (r.get(reason) ?? 0) + 1);
  }

  /** A batch's field names and --where presence. */
  sample(fields: readonly string[], wherePresent: readonly number[]): void {
    for (const f of fields) if (this.fields.size < MAX_FIELDS) this.fields.add(f);
    wherePresent.forEach((k, w) => (this.wherePresent[w]! += k));
  }

  /**
   * Why template t is not recorded as imported from the file, or undefined when it is: it wrote a
   * line (in this run or an earlier one), or the file holds nothing for it (every line that is an
   * object is filtered out by --where fields the lines have, or the file is empty). The reason
   * told is the one of the furthest check lines got to: it stopped every line that got that far.
   */
  problem(t: number, hadWritten: boolean, unmappedExample?: string): Problem | undefined {
    const s = this.templates[t]!;
    if (s.written > 0 || hadWritten || s.lines === 0) return undefined;
    const absentWhere = Object.keys(this.spec.where).filter((_, w) => this.wherePresent[w] === 0);
    const reasons = [...s.reasons].map(([reason, count]) => ({ reason, count, step: stepOf(reason, this.spec) }));
    const furthest = Math.max(...reasons.map((r) => r.step));
    const filtered = s.reasons.get('filtered') ?? 0;
    const onlyEmpty = reasons.every((r) => r.reason === 'empty line');
    if (furthest <= 2 && absentWhere.length === 0 && (filtered > 0 || onlyEmpty)) return undefined;
    const top = reasons.filter((r) => r.step === furthest).sort((a, b) => b.count - a.count)[0]!;
    // Of the lines that got to this check, how many it stopped.
    const checked = s.lines - reasons.filter((r) => r.step < furthest).reduce((a, r) => a + r.count, 0);
    const where = top.count === checked ? `all ${n(checked)} lines` : `${n(top.count)} of ${n(checked)} lines`;
    return { why: this.explain(top.reason, where, absentWhere, unmappedExample), lineLevel: furthest < TEMPLATE_STEP };
  }

  private explain(reason: string, where: string, absentWhere: readonly string[], unmappedExample?: string): string {
    const { spec } = this;
    const field = /^no (.+)$/.exec(reason)?.[1];
    if (field !== undefined && reason === noField(field)) {
      const flag = field === spec.timestamp ? ' (--timestamp)' : field === spec.id ? ' (--id)' : '';
      return `field '${field}'${flag} is missing in ${where}${this.suggest(field)}`;
    }
    const map = /^unmapped (.+) \(--map (.+)\)$/.exec(reason);
    if (map) {
      const example = unmappedExample === undefined ? '' : `, e.g. ${JSON.stringify(unmappedExample)}`;
      return `the value of '${map[1]}' is not in --map ${map[2]} in ${where}${example}: add the values to the map`;
    }
    if (reason === 'filtered' && absentWhere.length) {
      return absentWhere.map((f) => `--where field '${f}' is in no line${this.suggest(f)}`).join('; ');
    }
    if (reason === 'filtered') return `every line is filtered out by --where (${where})`;
    if (reason === 'invalid JSON' || reason === 'not a JSON object') return `${reason} in ${where}: the import reads one JSON object a line`;
    if (reason === 'bad timestamp') return `field '${spec.timestamp}' holds no ISO-8601 time or epoch milliseconds in ${where}`;
    if (reason === 'bad id') {
      return spec.numericIds
        ? `field '${spec.id}' holds no integer from 0 to 4294967295 in ${where} (without --numeric-ids, ids are mapped strings)`
        : `field '${spec.id}' holds no id (text of 1 to 512 characters, or a number) in ${where}`;
    }
    return `${reason} in ${where}`;
  }

  /** `; did you mean 'provider'?`, or the fields the lines have when none is near. */
  private suggest(field: string): string {
    const near = nearestNames(field, [...this.fields]);
    if (near.length) return `; did you mean ${near.map((f) => `'${f}'`).join(' or ')}?`;
    const top = [...this.fields].filter((f) => !f.includes('.'));
    return top.length ? `; the lines have ${top.slice(0, 12).join(', ')}${top.length > 12 ? ', …' : ''}` : '';
  }
}

const n = (v: number): string => v.toLocaleString('en-US');

/** The names nearest to `name` (at most two), by edit distance with transpositions, case aside. */
export function nearestNames(name: string, names: readonly string[]): string[] {
  const limit = Math.max(1, Math.round(name.length * 0.4));
  const scored = names
    .filter((c) => c !== name)
    .map((c) => [c, editDistance(name.toLowerCase(), c.toLowerCase())] as const)
    .filter(([, d]) => d <= limit)
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  return scored.slice(0, 2).map(([c]) => c);
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => {
    const r = new Array<number>(b.length + 1).fill(0);
    r[0] = i;
    return r;
  });
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
