// Importing JSON lines: each line becomes marks (bitmapist mark semantics) and counter
// increments, written a batch at a time as ONE engine.write() that also advances the file's
// entry in the import ledger, so a batch and its ledger entry land together or not at all.
//
// Ledger (a counter hash at layout.importsKey): field `<sha256 of the file>` = lines of that file
// committed, `<sha256>:done` = 1 once its last batch is in. A file already done is skipped
// (unless forced); a file with N lines committed resumes at line N+1, so an interrupted import
// is simply run again. A forced import resets the file's entry in its first batch (adds minus
// what was there), so an interrupted forced import resumes like any other.
//
// Stages overlap, with at most one write in flight (so batches and ledger entries land in order):
// while batch k-1 is being written, batch k is built and batch k+1 read and parsed, its id
// look-ups queued behind the write; batch k is sent once both are back. The last batch of a file
// may still be in flight while the next file starts (unless that file has the same content).
// Bits an earlier batch of this import already set are not sent again (see BatchBuilder).

import { stat } from 'node:fs/promises';
import type { BitWrite, CounterIncrement, Engine } from '../bitmap/engines/engine.ts';
import { MAX_COUNTER_KEY_LENGTH } from '../bitmap/counters.ts';
import { MAX_USER_ID, assertEventName } from '../bitmap/errors.ts';
import type { KeyLayout } from '../bitmap/keys.ts';
import type { TimeZone } from '../bitmap/period.ts';
import { BatchBuilder } from './batch.ts';
import type { CountTarget, MarkTarget } from './batch.ts';
import { LineReader, sha256File } from './reader.ts';
import type { LineBatch } from './reader.ts';
import { checkSpec, compileTemplate, fieldGetter, textOf } from './spec.ts';
import type { Getter, ImportSpec, Template } from './spec.ts';
import { LineClock } from './time.ts';

export interface ImportOptions {
  /** Also write hour keys. */
  readonly hourly?: boolean;
  /** Also write the date-free unique keys. */
  readonly unique?: boolean;
  /** Lines per batch (one write each); default 10,000. */
  readonly batch?: number;
  /** Import files the ledger says are done, again. */
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

export type FileStatus = 'imported' | 'resumed' | 'forced' | 'already imported' | 'interrupted' | 'failed';

export interface FileEvent {
  readonly file: string;
  readonly sha256: string;
  readonly status: Exclude<FileStatus, 'interrupted' | 'failed'>;
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

/** Reads both ledger fields of a file: lines committed and whether it is done. */
export async function readLedger(engine: Engine, layout: KeyLayout, sha256: string): Promise<{ committed: number; done: number }> {
  const [committed, done] = await engine.run({
    registers: 0,
    instructions: [
      { op: 'hget', key: layout.importsKey, field: sha256 },
      { op: 'hget', key: layout.importsKey, field: `${sha256}:done` },
    ],
  });
  return { committed: Number(committed), done: Number(done) };
}

const DEFAULT_BATCH = 10_000;
/** String ids known to this import; beyond this many the cache starts over. */
const ID_CACHE_LIMIT = 4_000_000;

/** Event names filled from a template, each checked once. */
class NameResolver<T> {
  private readonly cache = new Map<string, T | null>();
  private readonly constant: T | null | undefined;
  private readonly single: Getter | undefined;
  /** Why the last resolve() gave undefined. */
  reason = '';

  constructor(
    private readonly template: Template,
    private readonly make: (filled: string) => T | null,
    private readonly badReason: string,
  ) {
    if (template.fields.length === 0) this.constant = make(template.literals[0]!);
    else if (template.fields.length === 1 && template.literals[0] === '' && template.literals[1] === '') this.single = template.getters[0];
  }

  resolve(o: Record<string, unknown>): T | undefined {
    if (this.constant !== undefined) {
      if (this.constant === null) this.reason = this.badReason;
      return this.constant ?? undefined;
    }
    let filled: string;
    const t = this.template;
    if (this.single) {
      const v = textOf(this.single(o));
      if (v === undefined) return this.missing(o, 0);
      filled = v;
    } else {
      filled = t.literals[0]!;
      for (let i = 0; i < t.getters.length; i++) {
        const v = textOf(t.getters[i]!(o));
        if (v === undefined) return this.missing(o, i);
        filled += v + t.literals[i + 1]!;
      }
    }
    let r = this.cache.get(filled);
    if (r === undefined) {
      r = this.make(filled);
      if (this.cache.size >= 1_000_000) this.cache.clear();
      this.cache.set(filled, r);
    }
    if (r === null) this.reason = this.badReason;
    return r ?? undefined;
  }

  private missing(o: Record<string, unknown>, i: number): undefined {
    const v = this.template.getters[i]!(o);
    this.reason = v === undefined || v === null ? `no ${this.template.fields[i]}` : this.badReason;
    return undefined;
  }
}

interface Parsed {
  readonly batch: LineBatch;
  readonly skips: Array<[string, number]>;
  /** Per imported line: wall-clock hour, id, its mark targets (M a line) and counted keys (C a line). */
  readonly hours: number[];
  readonly ids: Array<string | number>;
  readonly lineMarks: MarkTarget[];
  readonly lineCounts: string[];
}

interface Prepared {
  readonly lines: number;
  readonly imported: number;
  readonly marks: number;
  readonly counts: number;
  readonly skips: Array<[string, number]>;
  readonly writes: BitWrite[];
  readonly increments: CounterIncrement[];
}

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

  // ---- per-line parsing --------------------------------------------------------------
  const clock = new LineClock(tz);
  const builder = new BatchBuilder(layout, { hourly: options.hourly ?? false, unique: options.unique ?? false, acrossBatches: true });
  const getTimestamp = fieldGetter(spec.timestamp);
  const getId = fieldGetter(spec.id);
  const where = Object.entries(spec.where).map(([f, v]) => [fieldGetter(f), v] as const);
  const marks = spec.marks.map(
    (m) =>
      new NameResolver<MarkTarget>(
        compileTemplate(m, '--mark'),
        (name) => {
          try {
            return builder.markTarget(assertEventName(name));
          } catch {
            return null;
          }
        },
        'bad event name',
      ),
  );
  const countEntries = Object.entries(spec.counts);
  const countTargets: CountTarget[] = countEntries.map(([name]) => builder.countTarget(name));
  const countKeys = countEntries.map(
    ([name, key]) =>
      new NameResolver<string>(
        compileTemplate(key, `--count ${name}`, false),
        (k) => (k.length > 0 && k.length <= MAX_COUNTER_KEY_LENGTH ? k : null),
        'bad counter key',
      ),
  );
  const M = marks.length;
  const C = countKeys.length;
  const idCache = new Map<string, number>();

  /** Parses a batch: what each imported line marks and counts, and why the others are skipped. */
  const parse = (b: LineBatch): Parsed => {
    const { lines, firstLine } = b;
    const skips: Array<[string, number]> = [];
    const hours: number[] = [];
    const ids: Array<string | number> = [];
    const lineMarks: MarkTarget[] = [];
    const lineCounts: string[] = [];
    const skip = (reason: string, i: number): void => {
      skips.push([reason, firstLine + i]);
    };
    lines: for (let i = 0; i < lines.length; i++) {
      const text = lines[i]!;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(text) as Record<string, unknown>;
      } catch {
        skip(text.trim() === '' ? 'empty line' : 'invalid JSON', i);
        continue;
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) {
        skip('not a JSON object', i);
        continue;
      }
      for (const [get, value] of where) {
        if (textOf(get(o)) !== value) {
          skip('filtered', i);
          continue lines;
        }
      }
      const tv = getTimestamp(o);
      if (tv === undefined || tv === null) {
        skip(`no ${spec.timestamp}`, i);
        continue;
      }
      const ms = clock.instant(tv);
      if (Number.isNaN(ms)) {
        skip('bad timestamp', i);
        continue;
      }
      const iv = getId(o);
      if (iv === undefined || iv === null) {
        skip(`no ${spec.id}`, i);
        continue;
      }
      let id: string | number;
      if (spec.numericIds) {
        const n = typeof iv === 'number' ? iv : typeof iv === 'string' && /^\d{1,10}$/.test(iv) ? Number(iv) : NaN;
        if (!Number.isInteger(n) || n < 0 || n > MAX_USER_ID) {
          skip('bad id', i);
          continue;
        }
        id = n;
      } else {
        const s = textOf(iv);
        if (s === undefined || s === '') {
          skip('bad id', i);
          continue;
        }
        // Known already: its dense id; else the string, resolved for the whole batch at once.
        id = idCache.get(s) ?? s;
      }
      const atM = lineMarks.length;
      for (let m = 0; m < M; m++) {
        const t = marks[m]!.resolve(o);
        if (t === undefined) {
          lineMarks.length = atM;
          skip(marks[m]!.reason, i);
          continue lines;
        }
        lineMarks.push(t);
      }
      const atC = lineCounts.length;
      for (let c = 0; c < C; c++) {
        const k = countKeys[c]!.resolve(o);
        if (k === undefined) {
          lineMarks.length = atM;
          lineCounts.length = atC;
          skip(countKeys[c]!.reason, i);
          continue lines;
        }
        lineCounts.push(k);
      }
      hours.push(clock.localHour(ms));
      ids.push(id);
    }
    return { batch: b, skips, hours, ids, lineMarks, lineCounts };
  };

  /**
   * Dense ids for the batch's string ids not seen yet: which exist, then new ones for the rest
   * (two round trips at most, so the summary can tell how many ids are new). Batches resolve
   * one after the other, so an id is never assigned twice by this import.
   */
  let idChain: Promise<unknown> = Promise.resolve();
  const resolveIds = (p: Parsed): Promise<void> => {
    const run = async (): Promise<void> => {
      if (spec.numericIds) return;
      if (idCache.size > ID_CACHE_LIMIT) idCache.clear(); // start over (parsed batches hold their known ids)
      const unknown = new Set<string>();
      for (const id of p.ids) if (typeof id === 'string' && !idCache.has(id)) unknown.add(id);
      if (unknown.size === 0) return;
      const asked = [...unknown];
      const found = await engine.resolveIds(asked, false);
      const missing: string[] = [];
      asked.forEach((e, j) => {
        const d = found[j];
        if (d === null || d === undefined) missing.push(e);
        else idCache.set(e, d);
      });
      if (missing.length === 0) return;
      const assigned = await engine.resolveIds(missing, true);
      missing.forEach((e, j) => {
        const d = assigned[j];
        if (d === null || d === undefined) throw new Error(`no id was assigned to ${JSON.stringify(e)}`);
        idCache.set(e, d);
      });
      // Counted when assigned: a batch abandoned after this (interrupted, failed) still made them.
      summary.newIds += missing.length;
    };
    const done = idChain.then(run);
    // Handled here (the chain goes on); a caller that awaits it still gets the error.
    idChain = done.catch(() => {});
    return done;
  };

  /** The batch's bit writes and counter increments (its ids resolved). */
  const build = (p: Parsed): Prepared => {
    const { hours, ids, lineMarks, lineCounts } = p;
    for (let i = 0; i < hours.length; i++) {
      const hour = hours[i]!;
      const raw = ids[i]!;
      const id = typeof raw === 'number' ? raw : idCache.get(raw)!;
      for (let m = 0; m < M; m++) builder.mark(lineMarks[i * M + m]!, hour, id);
      for (let c = 0; c < C; c++) builder.count(countTargets[c]!, hour, lineCounts[i * C + c]!);
    }
    const out = builder.take();
    return {
      lines: p.batch.lines.length,
      imported: hours.length,
      marks: hours.length * M,
      counts: hours.length * C,
      skips: p.skips,
      writes: out.writes,
      increments: out.increments,
    };
  };

  // ---- batches and files ---------------------------------------------------------------
  let inflight: Promise<void> | null = null;
  /** The file whose batch is in flight. */
  let inflightSha: string | null = null;
  let failure: unknown = null;
  /** Files whose last batch is in. */
  const complete = new Set<FileSummary>();
  const settle = async (): Promise<void> => {
    if (inflight) await inflight;
    inflight = null;
    if (failure) throw failure;
  };
  const aborted = (): boolean => options.signal?.aborted === true;

  const commit = (p: Prepared, file: FileSummary, fileName: string): void => {
    summary.batches++;
    summary.linesRead += p.lines;
    summary.linesImported += p.imported;
    summary.marks += p.marks;
    summary.counterIncrements += p.counts;
    summary.bitWrites += p.writes.length;
    file.linesRead += p.lines;
    file.linesImported += p.imported;
    for (const [reason, line] of p.skips) {
      const s = (summary.skipped[reason] ??= { count: 0, first: [] });
      s.count++;
      if (s.first.length < keep) s.first.push(`${fileName}:${line}`);
    }
  };

  let current = '';
  try {
    for (let f = 0; f < files.length && !aborted(); f++) {
      const path = files[f]!;
      current = path;
      const sha256 = await sha256File(path);
      // The ledger must show every batch of this content (the same file may be given twice);
      // otherwise the last batch of the previous file may still be in flight meanwhile.
      if (sha256 === inflightSha) await settle();
      if (aborted()) break;
      const { committed, done } = await readLedger(engine, layout, sha256);
      let status: FileEvent['status'];
      let message: string;
      const force = options.force === true;
      if (done > 0 && !force) {
        status = 'already imported';
        message = `${path}: already imported (sha256 ${sha256.slice(0, 12)}…), skipped; --force imports it again`;
      } else if (force && (done > 0 || committed > 0)) {
        status = 'forced';
        message = `${path}: ${done > 0 ? 'already imported' : `${committed} lines already imported`}, importing it again from line 1 (--force: its marks and counts are added again)`;
      } else if (committed > 0) {
        status = 'resumed';
        message = `${path}: ${committed.toLocaleString('en-US')} lines already imported, resuming at line ${(committed + 1).toLocaleString('en-US')}`;
      } else {
        status = 'imported';
        message = `${path}: importing`;
      }
      const fromLine = status === 'resumed' ? committed + 1 : 1;
      const fileSummary: FileSummary = { file: path, sha256, status, fromLine, linesRead: 0, linesImported: 0 };
      summary.files.push(fileSummary);
      options.onFile?.({ file: path, sha256, status, committed, message });
      if (status === 'already imported') {
        bytesBefore += sizes[f]!;
        options.onProgress?.({ file: path, bytesDone: bytesBefore, bytesTotal, linesRead: summary.linesRead, linesImported: summary.linesImported });
        continue;
      }

      const reader = await LineReader.open(path);
      try {
        if (status === 'resumed') summary.linesAlreadyIn += await reader.skip(committed);
        // Forced: the first batch takes the entry back to zero as it adds its own lines.
        let reset = status === 'forced' ? { committed, done } : { committed: 0, done: 0 };
        // Stages overlap: while batch k-1 is being written, batch k is built and batch k+1 read
        // and parsed, its id look-ups queued behind the write; batch k is sent once both are back.
        let cur = parse(await reader.batch(batchSize));
        await resolveIds(cur);
        for (;;) {
          if (aborted()) break;
          const p = build(cur);
          const b = cur.batch;
          const ledgerLines = b.lines.length - reset.committed;
          const ledgerDone = (b.last ? 1 : 0) - reset.done;
          if (ledgerLines !== 0) p.increments.push({ key: layout.importsKey, field: sha256, by: ledgerLines });
          if (ledgerDone !== 0) p.increments.push({ key: layout.importsKey, field: `${sha256}:done`, by: ledgerDone });
          reset = { committed: 0, done: 0 };
          let next: Parsed | null = null;
          let nextIds: Promise<void> | null = null;
          if (!b.last && !aborted()) {
            next = parse(await reader.batch(batchSize));
            nextIds = resolveIds(next);
          }
          await settle();
          if (nextIds) await nextIds;
          if (aborted()) break; // this batch is not written: a re-run reads it again
          const bytesNow = bytesBefore + reader.bytesRead;
          inflightSha = sha256;
          inflight = engine.write(p.writes, p.increments).then(
            () => {
              commit(p, fileSummary, path);
              if (b.last) complete.add(fileSummary);
              options.onProgress?.({ file: path, bytesDone: bytesNow, bytesTotal, linesRead: summary.linesRead, linesImported: summary.linesImported });
            },
            (e: unknown) => {
              failure = e;
            },
          );
          if (!next) break;
          cur = next;
        }
      } finally {
        reader.close();
      }
      bytesBefore += sizes[f]!;
    }
    await settle();
    for (const fs of summary.files) if (fs.status !== 'already imported' && !complete.has(fs)) fs.status = 'interrupted';
  } catch (e) {
    await inflight?.catch(() => {});
    for (const fs of summary.files) {
      if (fs.status !== 'already imported' && !complete.has(fs)) fs.status = fs.file === current ? 'failed' : 'interrupted';
    }
    const why = (e as Error)?.message ?? String(e);
    throw new ImportFailed(`${current}: ${why}`, finish(), e);
  }
  summary.interrupted = aborted();
  return finish();
}
