// The log writer: queued records appended as one group, made durable as the fsync mode says, applied, then acknowledged.
//
// Records are applied to memory (by the `apply` hook) once they are durable: after the fsync
// that covers them ('always', 'interval') or after the write syscall ('os'), and are
// acknowledged then. So memory always equals a durable prefix of the log, and a write that fails
// leaves no trace. Queued records are grouped: many callers share one write and one fsync. A
// disk that is full (ENOSPC, EDQUOT) fails the batch with STORAGE_FULL: the log is cut back to
// its last durable record, and the next write simply tries again, so writes resume by
// themselves once space returns. Any other write or fsync failure stops the writer for good.

import type { FileHandle } from 'node:fs/promises';
import { BitmapError } from '../../errors.ts';
import { isNoSpace, writeAll } from './files.ts';
import { RECORD_HEADER, RejectedRecord } from './records.ts';

export type FsyncMode = 'always' | 'interval' | 'os';

/** The part of a FileHandle the log writer uses. */
export type LogFile = Pick<FileHandle, 'write' | 'datasync' | 'sync' | 'truncate' | 'close'>;

export interface LogWriterOptions {
  /** The log, open for writing, and its size: records are appended from there. */
  readonly file: LogFile;
  readonly bytes: number;
  readonly mode: FsyncMode;
  /** Group-commit period for mode 'interval'. */
  readonly intervalMs: number;
  /** Applies a durable record's payload to memory; throwing RejectedRecord fails only that record's caller. */
  apply(payload: Buffer): number;
  /** Runs before a batch is acknowledged. */
  beforeAcknowledge?(): Promise<void> | undefined;
  /** Work that runs inside the writer between batches (compaction), when due; checked before every batch. */
  maintenanceDue?(): boolean;
  maintain?(): Promise<void>;
}

export const storageFull = (): BitmapError =>
  new BitmapError(
    'STORAGE_FULL',
    'storage is full: the disk of the data folder has no space left, so this write was not stored; reads still work, ' +
      'and writes resume by themselves once space is freed',
  );

interface Pending {
  readonly record: Buffer;
  result: number;
  /** Set when the record was rejected by the state check: it changed nothing. */
  error?: Error;
  /** Undoes what the caller put in memory ahead of the log (id assignments) when the record is not stored. */
  undo?: () => void;
  resolve(result: number): void;
  reject(error: unknown): void;
}

export class LogWriter {
  private file: LogFile;
  private bytes: number;
  /** Bytes of the current log known durable: what a write the disk has no room for is cut back to. */
  private durableBytes: number;
  /** Size of the last batch the disk had no room for. */
  private refused = 0;
  private queue: Pending[] = [];
  private unsynced: Pending[] = [];
  /** Taken off the queue by the writer and not yet settled. */
  private inflight: Pending[] = [];
  private pumping: Promise<void> | null = null;
  private syncDue = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;

  constructor(private readonly options: LogWriterOptions) {
    this.file = options.file;
    this.bytes = options.bytes;
    this.durableBytes = options.bytes;
  }

  /** Bytes in the current log, written whether or not yet durable. */
  get size(): number {
    return this.bytes;
  }

  /** Size of the last batch the disk had no room for (0: none yet). */
  get refusedBytes(): number {
    return this.refused;
  }

  /** Set once a failure other than a full disk stopped the writer. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Appends a finished record (header included); resolves with what `apply` returned once it is durable and applied. */
  append(record: Buffer, undo?: () => void): Promise<number> {
    // A stopped writer never runs again: a record queued now would wait for ever.
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ record, result: 0, undo, resolve, reject });
      this.kick();
    });
  }

  /** Starts the writer unless it runs (or has failed). */
  kick(): void {
    if (this.pumping || this.failure) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // Work that arrived while the loop was finishing.
      if (!this.failure && (this.queue.length || (this.syncDue && this.unsynced.length))) this.kick();
    });
  }

  /** Resolves once every queued record is acknowledged; throws when the writer has failed. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.pumping) await this.pumping;
      else if (this.queue.length) this.kick();
      else if (this.unsynced.length) {
        this.syncDue = true;
        this.kick();
      } else return;
    }
  }

  /**
   * fsyncs the records written since the last fsync, then commits them; false when the disk had
   * no room. Only from inside the writer (the maintain hook).
   */
  async syncUnsynced(): Promise<boolean> {
    const batch = this.unsynced;
    this.unsynced = [];
    this.inflight = batch;
    const upTo = this.bytes;
    try {
      await this.file.datasync();
    } catch (e) {
      await this.refuse(batch, e, this.durableBytes);
      return false;
    }
    this.durableBytes = upTo;
    await this.commit(batch);
    return true;
  }

  /** Continues in a new, empty log file (after syncUnsynced, from inside the writer); returns the old one to close. */
  switchTo(file: LogFile): LogFile {
    const old = this.file;
    this.file = file;
    this.bytes = 0;
    this.durableBytes = 0;
    return old;
  }

  stopTimer(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }

  /** fsyncs the log file (data and metadata). */
  async sync(): Promise<void> {
    await this.file.sync();
  }

  async close(): Promise<void> {
    this.stopTimer();
    await this.file.close().catch(() => undefined);
  }

  /** The single writer loop: writes queued records as one group, fsyncs, applies them, acknowledges. */
  private async pump(): Promise<void> {
    try {
      for (;;) {
        if (this.syncDue && this.unsynced.length) {
          this.syncDue = false;
          await this.syncUnsynced();
          continue;
        }
        // Checked before the queue: under constant load the queue is never empty.
        if (this.options.maintenanceDue?.()) {
          await this.options.maintain?.();
          continue;
        }
        if (this.queue.length) {
          const batch = this.queue;
          this.queue = [];
          this.inflight = batch;
          const buf = batch.length === 1 ? batch[0]!.record : Buffer.concat(batch.map((p) => p.record));
          const at = this.bytes;
          try {
            await writeAll(this.file, buf, at);
            if (this.options.mode === 'always') await this.file.datasync();
          } catch (e) {
            await this.refuse(batch, e, at);
            continue;
          }
          this.bytes = at + buf.length;
          if (this.options.mode === 'interval') {
            this.inflight = [];
            for (const p of batch) this.unsynced.push(p);
            this.armSyncTimer();
          } else {
            this.durableBytes = this.bytes;
            await this.commit(batch);
          }
          continue;
        }
        return;
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Applies durable records to memory in log order, then acknowledges them. */
  private async commit(batch: readonly Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        p.result = this.options.apply(p.record.subarray(RECORD_HEADER));
      } catch (e) {
        if (!(e instanceof RejectedRecord)) throw e;
        p.error = e;
      }
    }
    if (batch.length) {
      const before = this.options.beforeAcknowledge?.();
      if (before) await before;
    }
    this.inflight = [];
    for (const p of batch) {
      if (p.error) p.reject(p.error);
      else p.resolve(p.result);
    }
  }

  /**
   * A batch the disk had no room for (any other failure is rethrown and stops the writer): the
   * log is cut back to `keep` bytes, durably, so a crash cannot bring back a record whose caller
   * was told it failed; memory never saw it; the next write simply tries again.
   */
  private async refuse(batch: readonly Pending[], e: unknown, keep: number): Promise<void> {
    if (!isNoSpace(e)) throw e;
    this.refused = batch.reduce((n, p) => n + p.record.length, 0);
    await this.file.truncate(keep);
    await this.file.datasync();
    this.bytes = keep;
    this.durableBytes = keep;
    this.inflight = [];
    const error = storageFull();
    for (const p of batch) {
      p.undo?.();
      p.reject(error);
    }
  }

  private armSyncTimer(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.syncDue = true;
      this.kick();
    }, this.options.intervalMs);
  }

  private fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.failure = new Error(`embedded engine failed, restart to recover from the log: ${error.message}`, {
      cause: error,
    });
    const all = [...this.inflight, ...this.unsynced, ...this.queue];
    this.inflight = [];
    this.unsynced = [];
    this.queue = [];
    for (const p of all) p.reject(this.failure);
    this.stopTimer();
  }
}
