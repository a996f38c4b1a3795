// The batches of an import, in stages that overlap with at most one write in flight (so batches
// and their ledger entries land in order): while batch k-1 is being written, batch k is built and
// batch k+1 read and parsed, its id look-ups queued behind the write; batch k is sent once both
// are back. The last batch of a file may still be in flight while the next file starts.

import type { BitWrite, CounterIncrement, Engine } from '../bitmap/engines/engine.ts';
import type { KeyLayout } from '../bitmap/keys.ts';
import type { BatchBuilder } from './batch.ts';
import type { IdAssigner } from './ids.ts';
import { EMPTY_ENTRY, ledgerIncrements } from './ledger.ts';
import type { LedgerEntry } from './ledger.ts';
import type { LineParser, ParsedBatch } from './parse.ts';
import type { LineReader } from './reader.ts';

/** A batch ready to write, and what it adds to the summary. */
export interface PreparedBatch {
  readonly lines: number;
  readonly imported: number;
  readonly marks: number;
  readonly counts: number;
  readonly skips: Array<[string, number]>;
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

export interface PipelineParts {
  readonly engine: Engine;
  readonly layout: KeyLayout;
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
   * Sends the rest of the file's batches, each with its ledger increments (the first also takes
   * `undo` off the entry), and returns once the last is sent or the import is stopped; `onAck`
   * hears of each batch the store acknowledges. A batch read but not sent is read again by a re-run.
   */
  async sendFile(reader: LineReader, sha256: string, undo: LedgerEntry, onAck: (a: Acknowledged) => void): Promise<void> {
    const { engine, layout, parser, ids, batchSize } = this.parts;
    let take = undo;
    let cur = parser.parse(await reader.batch(batchSize));
    await ids.resolve(cur.ids);
    for (;;) {
      if (this.aborted()) break;
      const p = this.prepare(cur);
      const b = cur.batch;
      p.increments.push(...ledgerIncrements(layout, sha256, b.lines.length, b.last, take));
      take = EMPTY_ENTRY;
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

  /** The batch's bit writes and counter increments (its ids resolved). */
  private prepare(p: ParsedBatch): PreparedBatch {
    const { parser, ids, builder } = this.parts;
    const M = parser.marksPerLine;
    const C = parser.countsPerLine;
    const counters = parser.counters;
    const { hours, lineMarks, lineCounts } = p;
    for (let i = 0; i < hours.length; i++) {
      const hour = hours[i]!;
      const id = ids.dense(p.ids[i]!);
      for (let m = 0; m < M; m++) builder.mark(lineMarks[i * M + m]!, hour, id);
      for (let c = 0; c < C; c++) builder.count(counters[c]!, hour, lineCounts[i * C + c]!);
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
  }
}
