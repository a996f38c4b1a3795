// The batches of an import, in stages that overlap with at most one write in flight (so batches
// and their ledger entries land in order): while batch k-1 is being written, batch k is built and
// batch k+1 read and parsed, its id look-ups queued behind the write; batch k is sent once both
// are back. The last batch of a file may still be in flight while the next file starts.
//
// Each template of a file is written from its own start (the ledger's plan); a line is imported
// when one of its templates is written, and skipped when none can be.

import type { BitWrite, CounterIncrement, Engine } from '../bitmap/engines/engine.ts';
import type { BatchBuilder } from './batch.ts';
import type { IdAssigner } from './ids.ts';
import type { FileProgress } from './ledger.ts';
import type { FileStats, Problem } from './outcome.ts';
import type { LineParser, ParsedBatch } from './parse.ts';
import type { LineReader } from './reader.ts';

/** A batch ready to write, and what it adds to the summary. */
export interface PreparedBatch {
  readonly lines: number;
  readonly imported: number;
  readonly marks: number;
  readonly counts: number;
  /** [reason, line number] of each line not written for any template. */
  readonly skips: Array<[string, number]>;
  /** [`<template>: <reason>`, line number] of each template not written for a line the others were. */
  readonly missed: Array<[string, number]>;
  readonly writes: BitWrite[];
  /** The batch's counter increments, then its ledger increments. */
  readonly increments: CounterIncrement[];
}

/** A batch the store acknowledged. */
export interface Acknowledged {
  readonly batch: PreparedBatch;
  /** The file's last batch. */
  readonly last: boolean;
  /** File bytes read when it was sent (compressed bytes of gzip files). */
  readonly bytesRead: number;
}

/** One file of the import: where each template starts, and what its lines did. */
export interface FileRun {
  readonly sha256: string;
  readonly progress: FileProgress;
  readonly stats: FileStats;
  /** Set when the file's last batch is built: per template, why it is not recorded as imported. */
  problems?: Array<Problem | undefined>;
}

export interface PipelineParts {
  readonly engine: Engine;
  readonly parser: LineParser;
  readonly ids: IdAssigner;
  readonly builder: BatchBuilder;
  /** Lines per batch. */
  readonly batchSize: number;
  /** Stops after the batch being written. */
  readonly signal?: AbortSignal;
}

export class ImportPipeline {
  private inflight: Promise<void> | null = null;
  /** The file (sha256) whose batch is in flight. */
  private inflightSha: string | null = null;
  private failure: unknown = null;

  constructor(private readonly parts: PipelineParts) {}

  aborted(): boolean {
    return this.parts.signal?.aborted === true;
  }

  /** A batch of this content may be in flight: its ledger entry is not final until settle(). */
  mayBeInFlight(sha256: string): boolean {
    return this.inflightSha === sha256;
  }

  /** Waits for the write in flight; throws the error of a write that failed. */
  async settle(): Promise<void> {
    if (this.inflight) await this.inflight;
    this.inflight = null;
    if (this.failure) throw this.failure;
  }

  /** Waits for the write in flight, whatever comes of it (the import has failed already). */
  async drain(): Promise<void> {
    await this.inflight?.catch(() => {});
  }

  /**
   * Sends the rest of the file's batches, each with its ledger increments, and returns once the
   * last is sent or the import is stopped; `onAck` hears of each batch the store acknowledges. A
   * batch read but not sent is read again by a re-run.
   */
  async sendFile(reader: LineReader, file: FileRun, onAck: (a: Acknowledged) => void): Promise<void> {
    const { engine, parser, ids, batchSize } = this.parts;
    const { sha256 } = file;
    let cur = parser.parse(await reader.batch(batchSize));
    await ids.resolve(cur.ids);
    for (;;) {
      if (this.aborted()) break;
      const p = this.prepare(cur, file);
      const b = cur.batch;
      let next: ParsedBatch | null = null;
      let nextIds: Promise<void> | null = null;
      if (!b.last && !this.aborted()) {
        next = parser.parse(await reader.batch(batchSize));
        nextIds = ids.resolve(next.ids);
      }
      await this.settle();
      if (nextIds) await nextIds;
      if (this.aborted()) break; // this batch is not written: a re-run reads it again
      const bytesRead = reader.bytesRead;
      this.inflightSha = sha256;
      this.inflight = engine.write(p.writes, p.increments).then(
        () => onAck({ batch: p, last: b.last, bytesRead }),
        (e: unknown) => {
          this.failure = e;
        },
      );
      if (!next) break;
      cur = next;
    }
  }

  /** The batch's bit writes, counter increments and ledger increments (its ids resolved). */
  private prepare(p: ParsedBatch, file: FileRun): PreparedBatch {
    const { parser, ids, builder } = this.parts;
    const { progress, stats } = file;
    const M = parser.marksPerLine;
    const C = parser.countsPerLine;
    const T = M + C;
    const counters = parser.counters;
    const { minutes, lineMarks, lineCounts, misses } = p;
    const { firstLine } = p.batch;
    const lastLine = firstLine + p.batch.lines.length - 1;
    const wrote = new Array<number>(T).fill(0);
    // Templates written for every line of the batch, or for none of them: no test a line.
    const from = progress.plan.templates.map((t) => t.fromLine);
    const whole = from.every((f) => f <= firstLine || f > lastLine);
    const skips = p.skips.slice();
    const missed: Array<[string, number]> = [];
    for (const [reason, line] of p.skips) for (let t = 0; t < T; t++) if (line >= from[t]!) stats.skip(t, reason);
    let imported = 0;
    let mi = 0;
    for (let i = 0; i < minutes.length; i++) {
      const line = p.lines[i]!;
      const minute = minutes[i]!;
      const id = ids.dense(p.ids[i]!);
      let any = false;
      for (let m = 0; m < M; m++) {
        const target = lineMarks[i * M + m]!;
        if (target === null || !(whole ? from[m]! <= firstLine : line >= from[m]!)) continue;
        builder.mark(target, minute, id);
        wrote[m]!++;
        any = true;
      }
      for (let c = 0; c < C; c++) {
        const key = lineCounts[i * C + c]!;
        if (key === null || !(whole ? from[M + c]! <= firstLine : line >= from[M + c]!)) continue;
        builder.count(counters[c]!, minute, key);
        wrote[M + c]!++;
        any = true;
      }
      let reason: string | undefined;
      for (; mi < misses.length && misses[mi]![0] === i; mi++) {
        const [, t, why] = misses[mi]!;
        if (line < from[t]!) continue;
        stats.skip(t, why);
        reason ??= why;
        if (any) missed.push([`${progress.templates[t]!.label}: ${why}`, line]);
      }
      if (any) imported++;
      else skips.push([reason ?? 'nothing to write', line]);
    }
    if (skips.length > p.skips.length) skips.sort((a, b) => a[1] - b[1]);
    for (let t = 0; t < T; t++) stats.add(t, Math.max(0, lastLine - Math.max(firstLine, from[t]!) + 1), wrote[t]!);
    stats.sample(p.fields, p.wherePresent);
    if (p.batch.last) {
      file.problems = from.map((f, t) =>
        f === Infinity ? undefined : stats.problem(t, progress.hadWritten(t), parser.resolver(t).unmappedExample),
      );
    }
    const out = builder.take();
    const sum = (a: number, b: number): number => a + b;
    out.increments.push(...progress.increments(lastLine, wrote, p.batch.last, (t) => file.problems?.[t] === undefined));
    return {
      lines: p.batch.lines.length,
      imported,
      marks: wrote.slice(0, M).reduce(sum, 0),
      counts: wrote.slice(M).reduce(sum, 0),
      skips,
      missed,
      writes: out.writes,
      increments: out.increments,
    };
  }
}
