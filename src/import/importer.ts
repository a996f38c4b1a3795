// Importing JSON lines (the public importFiles): each line becomes marks (bitmapist mark
// semantics) and counter increments, written a batch at a time as ONE engine.write() that also
// advances the file's entry in the import ledger, so a batch and its ledger entry land together
// or not at all. This module wires the stages and keeps the summary:
//
//   parse.ts     a line → its hour, id, marks and counted keys (or why it is skipped)
//   ids.ts       string ids → dense ids, a batch at a time
//   batch.ts     a batch → bit writes and counter increments (keys from src/bitmap)
//   ledger.ts    which templates of which files are in: resume, skip, --force
//   pipeline.ts  the batches of a file, with one write in flight
//   outcome.ts   what a file's lines did per template, and why one wrote nothing
//
// Bits an earlier batch of this import already set are not sent again (see BatchBuilder).

import { stat } from 'node:fs/promises';
import type { Engine } from '../bitmap/engines/engine.ts';
import type { KeyLayout } from '../bitmap/keys.ts';
import type { TimeZone } from '../bitmap/period.ts';
import { BatchBuilder } from './batch.ts';
import { IdAssigner } from './ids.ts';
import { FileProgress, ledgerTemplates, planFile, readLedger } from './ledger.ts';
import type { FileStart } from './ledger.ts';
import { FileStats } from './outcome.ts';
import { LineParser } from './parse.ts';
import { ImportPipeline } from './pipeline.ts';
import type { Acknowledged, FileRun } from './pipeline.ts';
import { LineReader, sha256File } from './reader.ts';
import { checkSpec } from './spec.ts';
import type { ImportSpec } from './spec.ts';
import { LineClock } from './time.ts';

export { ledgerTemplates, readLedger } from './ledger.ts';

export interface ImportOptions {
  /** Also write hour keys. */
  readonly hourly?: boolean;
  /** Also write minute keys, and add to per-minute counter hashes. */
  readonly minutely?: boolean;
  /** Also write the date-free unique keys. */
  readonly unique?: boolean;
  /** Lines per batch (one write each); default 10,000. */
  readonly batch?: number;
  /** Write the marks of files the ledger says are done again (counters are never counted twice). */
  readonly force?: boolean;
  /** Stops the import after the batch being written (the ledger makes a re-run resume). */
  readonly signal?: AbortSignal;
  /** After each batch is acknowledged. */
  readonly onProgress?: (p: ImportProgress) => void;
  /** What is done with each file, as it starts. */
  readonly onFile?: (e: FileEvent) => void;
  /** Locations kept per skip reason; default 5. */
  readonly keepLocations?: number;
}

export interface ImportProgress {
  readonly file: string;
  /** File bytes read (compressed bytes of gzip files), of all files. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly linesRead: number;
  readonly linesImported: number;
}

/** `not imported`: every line was skipped; nothing of the file is recorded (see FileSummary.problems). */
export type FileStatus = FileStart | 'not imported' | 'interrupted' | 'failed';

export interface FileEvent {
  readonly file: string;
  readonly sha256: string;
  readonly status: FileStart;
  /** Lines already committed (resumed: the import starts after them). */
  readonly committed: number;
  readonly message: string;
}

export interface FileSummary {
  readonly file: string;
  readonly sha256: string;
  status: FileStatus;
  /** Line the import started at (1, or after the committed lines when resumed). */
  readonly fromLine: number;
  linesRead: number;
  linesImported: number;
  /** Templates that wrote nothing from the file and are not recorded as imported: `<template>: <why>`. */
  problems: string[];
}

export interface SkipSummary {
  count: number;
  /** The first few `file:line` locations. */
  readonly first: string[];
}

export interface ImportSummary {
  readonly files: FileSummary[];
  /** Lines read and committed in this run (not those skipped because an earlier run committed them). */
  linesRead: number;
  linesImported: number;
  /** Lines of resumed files that an earlier run had committed. */
  linesAlreadyIn: number;
  /** One per line and mark template. */
  marks: number;
  /** Bit writes sent, after merging identical ones within a batch. */
  bitWrites: number;
  /** One per line and counter. */
  counterIncrements: number;
  /** New dense ids handed out for string ids (also for a batch then left unwritten by an interruption). */
  newIds: number;
  batches: number;
  readonly skipped: Record<string, SkipSummary>;
  /** Templates not written for lines their other templates were, by `<template>: <reason>`. */
  readonly missed: Record<string, SkipSummary>;
  interrupted: boolean;
  elapsedMs: number;
  linesPerSecond: number;
}

/** An import that stopped on an error (storage, or an unreadable file); `summary` holds what was committed. */
export class ImportFailed extends Error {
  constructor(
    message: string,
    readonly summary: ImportSummary,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'ImportFailed';
  }
}

const DEFAULT_BATCH = 10_000;

/**
 * Imports the files in order; resolves to the summary (also when interrupted by `signal`).
 * Throws ImportFailed (with the summary of what was committed) when a write or a file fails.
 */
export async function importFiles(
  engine: Engine,
  layout: KeyLayout,
  tz: TimeZone,
  files: readonly string[],
  spec: ImportSpec,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const started = Date.now();
  const batchSize = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch must be a whole number ≥ 1, got ${batchSize}`);
  const keep = options.keepLocations ?? 5;
  checkSpec(spec);
  const summary: ImportSummary = {
    files: [],
    linesRead: 0,
    linesImported: 0,
    linesAlreadyIn: 0,
    marks: 0,
    bitWrites: 0,
    counterIncrements: 0,
    newIds: 0,
    batches: 0,
    skipped: {},
    missed: {},
    interrupted: false,
    elapsedMs: 0,
    linesPerSecond: 0,
  };
  const finish = (): ImportSummary => {
    summary.elapsedMs = Date.now() - started;
    summary.linesPerSecond = summary.elapsedMs > 0 ? Math.round((summary.linesRead * 1000) / summary.elapsedMs) : 0;
    return summary;
  };

  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  let bytesBefore = 0; // of the files finished

  const hourly = options.hourly ?? false;
  const unique = options.unique ?? false;
  const minutely = options.minutely ?? false;
  const templates = ledgerTemplates(spec, { timeZone: tz.name, hourly, unique, minutely });
  const builder = new BatchBuilder(layout, { hourly, minutely, unique, acrossBatches: true });
  const ids = new IdAssigner(engine, (n) => {
    summary.newIds += n;
  });
  const parser = new LineParser(spec, new LineClock(tz), builder, (s) => ids.known(s));
  const pipeline = new ImportPipeline({ engine, parser, ids, builder, batchSize, signal: options.signal });
  const aborted = (): boolean => pipeline.aborted();

  /** Files whose last batch is in. */
  const complete = new Set<FileSummary>();
  const note = (into: Record<string, SkipSummary>, reason: string, where: string): void => {
    const s = (into[reason] ??= { count: 0, first: [] });
    s.count++;
    if (s.first.length < keep) s.first.push(where);
  };
  const commit = (a: Acknowledged, file: FileSummary, run: FileRun, bytesDone: number): void => {
    const p = a.batch;
    summary.batches++;
    summary.linesRead += p.lines;
    summary.linesImported += p.imported;
    summary.marks += p.marks;
    summary.counterIncrements += p.counts;
    summary.bitWrites += p.writes.length;
    file.linesRead += p.lines;
    file.linesImported += p.imported;
    for (const [reason, line] of p.skips) note(summary.skipped, reason, `${file.file}:${line}`);
    for (const [reason, line] of p.missed) note(summary.missed, reason, `${file.file}:${line}`);
    if (a.last) {
      complete.add(file);
      const problems = run.problems ?? [];
      // Lines that stopped before any template stopped every template alike: said once, without a template.
      const said = problems.map((p, t) => p && (p.lineLevel ? p.why : `${templates[t]!.label}: ${p.why}`));
      file.problems = [...new Set(said.filter((p): p is string => p !== undefined))];
      const written = run.progress.plan.templates.filter((t, i) => t.fromLine !== Infinity && problems[i] === undefined);
      if (file.problems.length > 0 && written.length === 0) file.status = 'not imported';
    }
    options.onProgress?.({ file: file.file, bytesDone, bytesTotal, linesRead: summary.linesRead, linesImported: summary.linesImported });
  };

  let current = '';
  try {
    for (let f = 0; f < files.length && !aborted(); f++) {
      const path = files[f]!;
      current = path;
      const sha256 = await sha256File(path);
      // The ledger must show every batch of this content (the same file may be given twice);
      // otherwise the last batch of the previous file may still be in flight meanwhile.
      if (pipeline.mayBeInFlight(sha256)) await pipeline.settle();
      if (aborted()) break;
      const ledger = await readLedger(engine, layout, sha256, templates.map((t) => t.id));
      const plan = planFile(path, sha256, ledger, templates, options.force === true);
      const { status } = plan;
      const fromLine = status === 'already imported' ? 1 : plan.fromLine;
      const fileSummary: FileSummary = { file: path, sha256, status, fromLine, linesRead: 0, linesImported: 0, problems: [] };
      summary.files.push(fileSummary);
      options.onFile?.({ file: path, sha256, status, committed: fromLine - 1, message: plan.message });
      if (status === 'already imported') {
        bytesBefore += sizes[f]!;
        options.onProgress?.({ file: path, bytesDone: bytesBefore, bytesTotal, linesRead: summary.linesRead, linesImported: summary.linesImported });
        continue;
      }

      const reader = await LineReader.open(path);
      try {
        if (fromLine > 1) summary.linesAlreadyIn += await reader.skip(fromLine - 1);
        // A batch may be acknowledged once the loop is at the next file: its progress counts from this file's start.
        const base = bytesBefore;
        const run: FileRun = { sha256, progress: new FileProgress(layout, sha256, templates, plan), stats: new FileStats(spec, templates.length) };
        await pipeline.sendFile(reader, run, (a) => commit(a, fileSummary, run, base + a.bytesRead));
      } finally {
        reader.close();
      }
      bytesBefore += sizes[f]!;
    }
    await pipeline.settle();
    for (const fs of summary.files) if (fs.status !== 'already imported' && !complete.has(fs)) fs.status = 'interrupted';
  } catch (e) {
    await pipeline.drain();
    for (const fs of summary.files) {
      if (fs.status !== 'already imported' && !complete.has(fs)) fs.status = fs.file === current ? 'failed' : 'interrupted';
    }
    const why = (e as Error)?.message ?? String(e);
    throw new ImportFailed(`${current}: ${why}`, finish(), e);
  }
  summary.interrupted = aborted();
  return finish();
}
