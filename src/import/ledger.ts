// The import ledger: which templates of which files are in, so an interrupted import resumes, a
// finished one is not written twice, and a template added later is imported on its own.
//
// A counter hash at layout.importsKey. Per file (its sha256) and template (a digest of what the
// template writes, see templateIdentity): field `<sha256>:<template>` = lines of the file
// committed for it, `<sha256>:<template>:done` = 1 once its last batch is in. Each batch's write
// carries its ledger increments, so a batch and its entries land together or not at all.
//
// Entries written before templates had their own (`<sha256>` and `<sha256>:done`, no template)
// stay readable: a done one covers every template of a later run (counters are never counted
// twice; marks are written again only with --force), and a partial one is taken over, in the
// first write of the resumed run, by each template that run resumes.
//
// Counters are not idempotent, marks are: --force writes a done mark again from line 1, and a
// done counter never.

import { createHash } from 'node:crypto';
import type { CounterIncrement, Engine } from '../bitmap/engines/engine.ts';
import type { KeyLayout } from '../bitmap/keys.ts';
import { compileTemplate } from './spec.ts';
import type { ImportSpec } from './spec.ts';

export interface LedgerEntry {
  /** Lines of the file committed. */
  readonly committed: number;
  /** 1 once its last batch is in. */
  readonly done: number;
}

export const EMPTY_ENTRY: LedgerEntry = { committed: 0, done: 0 };

/** A template of the spec as the ledger knows it. */
export interface LedgerTemplate {
  readonly kind: 'mark' | 'count';
  /** As the user wrote it: `--mark launch:{provider}`, `--count launches={provider}`. */
  readonly label: string;
  /** 16 hex digits of the sha256 of its identity. */
  readonly id: string;
}

/** What decides the keys an import writes, besides the spec. */
export interface WriteSettings {
  readonly timeZone: string;
  readonly hourly: boolean;
  readonly unique: boolean;
  /** Minute keys: part of a mark's identity only when on, so the entries of imports made before minutes existed stay theirs. */
  readonly minutely?: boolean;
}

/**
 * What a template's entry stands for. A mark: everything that decides which bits it sets (its
 * normalised text, the contents of its value maps, the time, id and --where fields, the zone,
 * hour and unique keys): another setting writes it again, which changes nothing that was right.
 * A counter: its name and normalised key template alone, so that no setting counts a file twice
 * into the same counter.
 */
export function templateIdentity(spec: ImportSpec, kind: 'mark' | 'count', text: string, settings: WriteSettings, name = ''): string {
  const t = compileTemplate(text, kind === 'mark' ? '--mark' : `--count ${name}`, kind === 'mark', spec.maps);
  if (kind === 'count') return JSON.stringify(['count', name, t.normalised]);
  const maps = [...new Set(t.mapNames.filter((m): m is string => m !== undefined))].sort().map((m) => [m, [...spec.maps![m]!].sort()]);
  const where = Object.entries(spec.where).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const { timeZone, hourly, unique, minutely } = settings;
  const identity: unknown[] = ['mark', t.normalised, maps, spec.timestamp, spec.id, spec.numericIds, where, timeZone, hourly, unique];
  if (minutely) identity.push('minutely');
  return JSON.stringify(identity);
}

/** The spec's templates in the parser's order: marks, then counters. */
export function ledgerTemplates(spec: ImportSpec, settings: WriteSettings): LedgerTemplate[] {
  const digest = (identity: string): string => createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return [
    ...spec.marks.map((m): LedgerTemplate => ({ kind: 'mark', label: `--mark ${m}`, id: digest(templateIdentity(spec, 'mark', m, settings)) })),
    ...Object.entries(spec.counts).map(
      ([name, key]): LedgerTemplate => ({ kind: 'count', label: `--count ${name}=${key}`, id: digest(templateIdentity(spec, 'count', key, settings, name)) }),
    ),
  ];
}

/** A file's entries: the one without a template (written before templates had their own), and one per template. */
export interface FileLedger {
  readonly legacy: LedgerEntry;
  readonly templates: LedgerEntry[];
}

const committedField = (sha256: string, template?: string): string => (template ? `${sha256}:${template}` : sha256);
const doneField = (sha256: string, template?: string): string => `${committedField(sha256, template)}:done`;

/** Reads a file's entries, for the given template ids, in one round trip. */
export async function readLedger(engine: Engine, layout: KeyLayout, sha256: string, templates: readonly string[] = []): Promise<FileLedger> {
  const fields = [undefined, ...templates].flatMap((t) => [committedField(sha256, t), doneField(sha256, t)]);
  const values = await engine.run({ registers: 0, instructions: fields.map((field) => ({ op: 'hget' as const, key: layout.importsKey, field })) });
  const entry = (i: number): LedgerEntry => ({ committed: Number(values[2 * i]), done: Number(values[2 * i + 1]) });
  return { legacy: entry(0), templates: templates.map((_, i) => entry(i + 1)) };
}

/** What an import does with a file, given its entries. */
export type FileStart = 'imported' | 'resumed' | 'added' | 'forced' | 'already imported';

/** What an import does with one template of a file. */
export type TemplateStart = 'new' | 'resumed' | 'forced' | 'done' | 'done earlier';

export interface TemplatePlan {
  readonly start: TemplateStart;
  /** First line written for it; Infinity when it is not written. */
  readonly fromLine: number;
  /** What its fields hold now. */
  readonly stored: LedgerEntry;
  /** Lines of an entry without a template it takes over, in the file's first write. */
  readonly adopts: number;
}

export interface FilePlan {
  readonly status: FileStart;
  /** For the user: what is done with the file and why. */
  readonly message: string;
  /** Line the import starts reading at (Infinity when nothing is written). */
  readonly fromLine: number;
  readonly templates: readonly TemplatePlan[];
  /** Lines the first write takes off the entry without a template (its templates adopt them). */
  readonly legacyTakeBack: number;
}

const n = (v: number): string => v.toLocaleString('en-US');

/** Labels, a few of them. */
function some(labels: readonly string[]): string {
  return labels.length <= 3 ? labels.join(', ') : `${labels.slice(0, 3).join(', ')} and ${labels.length - 3} more`;
}

function planTemplate(t: LedgerTemplate, entry: LedgerEntry, legacy: LedgerEntry, force: boolean): TemplatePlan {
  const forced = force && t.kind === 'mark';
  if (entry.done > 0 || entry.committed > 0) {
    if (forced) return { start: 'forced', fromLine: 1, stored: entry, adopts: 0 };
    if (entry.done > 0) return { start: 'done', fromLine: Infinity, stored: entry, adopts: 0 };
    return { start: 'resumed', fromLine: entry.committed + 1, stored: entry, adopts: 0 };
  }
  if (legacy.done > 0) {
    return forced ? { start: 'forced', fromLine: 1, stored: entry, adopts: 0 } : { start: 'done earlier', fromLine: Infinity, stored: entry, adopts: 0 };
  }
  if (legacy.committed > 0 && !forced) return { start: 'resumed', fromLine: legacy.committed + 1, stored: entry, adopts: legacy.committed };
  return { start: forced && legacy.committed > 0 ? 'forced' : 'new', fromLine: 1, stored: entry, adopts: 0 };
}

export function planFile(path: string, sha256: string, ledger: FileLedger, templates: readonly LedgerTemplate[], force: boolean): FilePlan {
  const plans = templates.map((t, i) => planTemplate(t, ledger.templates[i] ?? EMPTY_ENTRY, ledger.legacy, force));
  const of = (...starts: TemplateStart[]): LedgerTemplate[] => templates.filter((_, i) => starts.includes(plans[i]!.start));
  const active = of('new', 'resumed', 'forced');
  const done = of('done', 'done earlier');
  const fromLine = Math.min(...plans.map((p) => p.fromLine));
  const doneCounters = done.filter((t) => t.kind === 'count').map((t) => t.label);
  const never = doneCounters.length ? `; counters are never counted twice (${some(doneCounters)} already counted)` : '';
  const earlier = of('done earlier').length > 0;
  let status: FileStart;
  let message: string;
  if (active.length === 0) {
    status = 'already imported';
    const marks = done.some((t) => t.kind === 'mark');
    message = earlier
      ? `${path}: already imported by an earlier version (sha256 ${sha256.slice(0, 12)}…, an entry that names no templates), skipped${marks && !force ? '; --force writes the marks given again' : ''}${force ? never : ''}`
      : `${path}: already imported (sha256 ${sha256.slice(0, 12)}…), skipped; a --mark or --count not given before is imported on its own${marks && !force ? ', --force writes the marks again' : ''}${force ? never : ''}`;
  } else if (of('forced').length > 0) {
    status = 'forced';
    message = `${path}: writing ${some(of('forced').map((t) => t.label))} again from line 1 (--force)${never}`;
    const rest = of('new', 'resumed').map((t) => t.label);
    if (rest.length) message += `; also importing ${some(rest)}`;
  } else if (done.length === 0 && of('resumed').length === 0) {
    status = 'imported';
    message = `${path}: importing`;
  } else if (done.length === 0 && of('new').length === 0) {
    status = 'resumed';
    message = `${path}: ${n(fromLine - 1)} lines already imported, resuming at line ${n(fromLine)}`;
  } else {
    status = 'added';
    const resumed = of('resumed').map((t) => `${t.label} from line ${n(plans[templates.indexOf(t)]!.fromLine)}`);
    const parts = [of('new').length ? `importing ${some(of('new').map((t) => t.label))}` : '', resumed.length ? `resuming ${some(resumed)}` : ''].filter(Boolean);
    message = `${path}: ${done.length ? `already imported for ${some(done.map((t) => t.label))}${earlier ? ' (by an earlier version)' : ''}; ` : ''}${parts.join('; ')}`;
  }
  const adopting = plans.some((p) => p.adopts > 0);
  return { status, message, fromLine, templates: plans, legacyTakeBack: adopting ? ledger.legacy.committed : 0 };
}

/**
 * A file's entries as its batches are written. A template's entry moves only once it has
 * written a line in this run (or takes over an entry without a template): so an entry with lines
 * committed always means the template wrote something from the file, and one that wrote nothing
 * is read again, from its start, by the next run.
 */
export class FileProgress {
  private readonly have: LedgerEntry[];
  private readonly wrote: number[];
  private first = true;

  constructor(
    private readonly layout: KeyLayout,
    private readonly sha256: string,
    readonly templates: readonly LedgerTemplate[],
    readonly plan: FilePlan,
  ) {
    this.have = plan.templates.map((p) => p.stored);
    this.wrote = plan.templates.map(() => 0);
  }

  /** Whether template t is written from line `line`. */
  writes(t: number, line: number): boolean {
    return line >= this.plan.templates[t]!.fromLine;
  }

  /** Lines template t wrote in this run, so far. */
  written(t: number): number {
    return this.wrote[t]!;
  }

  /** Whether template t took lines committed by an earlier run (so it wrote something from the file). */
  hadWritten(t: number): boolean {
    const p = this.plan.templates[t]!;
    return p.start === 'resumed' || (p.start === 'forced' && p.stored.committed > 0);
  }

  /**
   * The ledger increments of a batch ending at line `lastLine` in which template t wrote
   * `wrote[t]` lines; at the file's last batch, `done(t)` says whether t is recorded as done.
   */
  increments(lastLine: number, wrote: readonly number[], last: boolean, done: (t: number) => boolean): CounterIncrement[] {
    const out: CounterIncrement[] = [];
    const key = this.layout.importsKey;
    if (this.first && this.plan.legacyTakeBack > 0) out.push({ key, field: committedField(this.sha256), by: -this.plan.legacyTakeBack });
    this.plan.templates.forEach((p, t) => {
      if (p.fromLine === Infinity) return;
      this.wrote[t]! += wrote[t]!;
      const finished = last && done(t);
      if (!(this.wrote[t]! > 0 || finished || (this.first && p.adopts > 0))) return;
      const id = this.templates[t]!.id;
      const have = this.have[t]!;
      const want: LedgerEntry = { committed: lastLine, done: finished ? 1 : 0 };
      if (want.committed !== have.committed) out.push({ key, field: committedField(this.sha256, id), by: want.committed - have.committed });
      if (want.done !== have.done) out.push({ key, field: doneField(this.sha256, id), by: want.done - have.done });
      this.have[t] = want;
    });
    this.first = false;
    return out;
  }
}
