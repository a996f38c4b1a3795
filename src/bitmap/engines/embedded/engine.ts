// The embedded engine's Engine API: in-process roaring bitmaps, made durable by the log writer and snapshots.
//
// A compaction makes the current log durable, starts log-(S+1), serialises every bitmap (state
// == end of log-S) and writes snapshot-(S+1) in the background while writes continue into the
// new log (see snapshot.ts for the crash-safe steps). One write()/delete()/restore()/increment()
// call is one log record, so a batch is all or none after a crash.
//
// String ids: an external id gets the next dense id synchronously in memory (one process owns
// the folder, so two callers never get one id twice), and an assign op records it. Memory may
// run ahead of the log by assignments whose record is queued; a snapshot taken meanwhile holds
// them, and replaying the same assignment again changes nothing (an assignment that conflicts
// with the state rejects its record).
//
// Differences from Redis, by design: a bitmap whose last set bit is cleared (or that is
// restored from all-zero bytes) is dropped, whereas Redis keeps a zero-filled string. So
// scan() and delete() only see keys with at least one set bit, and dump() returns
// floor(maxSetOffset/8)+1 bytes (Redis may return a longer, zero-padded string). Counts,
// memberships and every program result are identical. Counter hashes follow HINCRBY: a field
// that reaches 0 stays, with value 0; values are JS safe integers rather than 64-bit.
//
// A disk that is full fails writes with STORAGE_FULL and reads go on (log-writer.ts); any other
// write or fsync failure stops the engine (restart to recover from the log).

import { mkdir, open, statfs, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputValue, Program } from '../../program.ts';
import { assertPairsAgree } from '../../ids.ts';
import { bitmapFromRedisBytes, redisBytesFromBitmap, runOnBitmaps } from '../roaring.ts';
import type { Bitmap } from '../roaring.ts';
import { ONCE_TTL_SECONDS, onceConflict } from '../engine.ts';
import type { BitWrite, ChangeListener, CounterIncrement, Engine, EngineDescription, Once, OnceOutcome } from '../engine.ts';
import { fsyncDir, isNoSpace, logName, markHeldData } from './files.ts';
import { lockFolder } from './lock.ts';
import { LogWriter, storageFull } from './log-writer.ts';
import type { FsyncMode } from './log-writer.ts';
import {
  MAX_OFFSET,
  OnceApplied,
  applyPayload,
  assignRecord,
  checkOffset,
  deleteRecord,
  restoreRecord,
  writeRecord,
  wrongType,
} from './records.ts';
import { recoverFolder } from './recovery.ts';
import type { Recovered, RecoveryReport } from './recovery.ts';
import { serializeAll, writeSnapshot } from './snapshot.ts';
import type { CompactionStep } from './snapshot.ts';
import { assignId, unassignIds } from './store.ts';
import type { Counters, Store } from './store.ts';

export interface EmbeddedOptions {
  dir: string;
  fsync: FsyncMode;
  /** Group-commit period for fsync 'interval'; default 50. */
  fsyncIntervalMs?: number;
  /** Log size that triggers a snapshot; default 64 MiB. */
  compactAfterBytes?: number;
  /** Testing only: called at each step of a compaction (the folder is in a crash-consistent state). */
  onCompactionStep?: (step: CompactionStep) => void | Promise<void>;
  /** Structured log lines (what recovery dropped); default: one JSON line on stderr. */
  log?: (fields: Record<string, unknown>) => void;
}

const SCAN_BATCH = 1000;

export class EmbeddedEngine implements Engine {
  readonly kind = 'embedded' as const;
  private readonly bitmaps: Map<string, Bitmap>;
  private readonly counters: Counters;
  private readonly store: Store;
  private readonly dir: string;
  private readonly compactAfter: number;
  private readonly onStep: EmbeddedOptions['onCompactionStep'];
  private readonly writer: LogWriter;

  private logSeq: number;
  /** HELD-DATA exists in the folder. */
  private heldData: boolean;
  /** What opening the folder recovered and dropped. */
  readonly recovery: RecoveryReport;

  private compacting: Promise<void> | null = null;
  private nextCompactAt: number;
  private closing = false;
  private closed = false;
  private readonly unlock: () => Promise<void>;
  /** Records of id assignments not yet durable (all awaited before an id is handed out). */
  private readonly assigning = new Set<Promise<number>>();
  /** The last background snapshot failure, if any (the data stays recoverable from the logs). */
  lastCompactionError: Error | null = null;
  /** Told of the keys of every acknowledged write (watch()). */
  private readonly watchers = new Set<ChangeListener>();

  /** Use openEmbeddedEngine. */
  constructor(state: Recovered & { options: EmbeddedOptions; unlock: () => Promise<void> }) {
    const o = state.options;
    this.unlock = state.unlock;
    this.dir = o.dir;
    this.compactAfter = o.compactAfterBytes ?? 64 * 1024 * 1024;
    this.onStep = o.onCompactionStep;
    this.bitmaps = state.store.bitmaps;
    this.counters = state.store.counters;
    this.store = state.store;
    this.logSeq = state.logSeq;
    this.heldData = state.heldData;
    this.recovery = state.recovery;
    this.nextCompactAt = this.compactAfter;
    this.writer = new LogWriter({
      file: state.log,
      bytes: state.logBytes,
      mode: o.fsync,
      intervalMs: o.fsyncIntervalMs ?? 50,
      apply: (payload) => applyPayload(this.store, payload),
      // Before the first acknowledgement: once a write is acknowledged, the folder says it held data.
      beforeAcknowledge: () => (this.heldData ? undefined : this.markHeld()),
      maintenanceDue: () => !this.closing && !this.compacting && this.writer.size >= this.nextCompactAt,
      maintain: () => this.compact(),
    });
  }

  describe(): EngineDescription {
    const { droppedRecords, droppedBytes } = this.recovery;
    return { kind: this.kind, mode: 'local', stats: { recovery: { droppedRecords, droppedBytes } } };
  }

  // --- reads -----------------------------------------------------------------------------------

  async run(program: Program): Promise<OutputValue[]> {
    this.checkOpen();
    const counters = this.counters;
    return runOnBitmaps(program, {
      bitmap: (key) => {
        const bm = this.bitmaps.get(key);
        if (!bm && counters.size && counters.has(key)) throw wrongType(key, 'a counter hash');
        return bm;
      },
      hash: (key) => {
        const h = counters.get(key);
        if (!h && this.bitmaps.has(key)) throw wrongType(key, 'a bitmap');
        return h;
      },
    });
  }

  async *scan(prefix: string): AsyncIterable<string[]> {
    this.checkOpen();
    const keys: string[] = [];
    for (const k of this.bitmaps.keys()) if (k.startsWith(prefix)) keys.push(k);
    for (const k of this.counters.keys()) if (k.startsWith(prefix)) keys.push(k);
    for (let i = 0; i < keys.length; i += SCAN_BATCH) yield keys.slice(i, i + SCAN_BATCH);
  }

  async dump(key: string): Promise<Buffer | null> {
    this.checkOpen();
    const bm = this.bitmaps.get(key);
    if (!bm && this.counters.has(key)) throw wrongType(key, 'a counter hash');
    return bm && !bm.isEmpty ? redisBytesFromBitmap(bm) : null;
  }

  async ready(): Promise<boolean> {
    return !this.closed && !this.closing && !this.writer.failed;
  }

  /**
   * Asks the file system (nothing is written) whether the last batch the disk had no room for
   * would fit now. A tiny probe record could fit in the log's last, partly used block and report
   * room that the next real batch does not find.
   */
  async acceptsWrites(): Promise<boolean> {
    this.checkOpen();
    const { bavail, bsize } = await statfs(this.dir);
    return bavail * bsize >= this.writer.refusedBytes + bsize;
  }

  /**
   * Serialized size of every stored bitmap plus its key, in bytes, plus a rough size of the
   * counter hashes (key and field lengths, 8 bytes a value) and of the string id mapping.
   */
  memoryBytes(): number {
    let total = 0;
    for (const [k, bm] of this.bitmaps) total += bm.getSerializationSizeInBytes('portable') + k.length;
    for (const [k, h] of this.counters) {
      total += k.length;
      for (const f of h.keys()) total += f.length + 8;
    }
    for (const external of this.store.ids.idOf.keys()) total += external.length + 8;
    return total;
  }

  /** Number of stored (non-empty) bitmaps; counter hashes are not counted. */
  keyCount(): number {
    return this.bitmaps.size;
  }

  // --- writes ----------------------------------------------------------------------------------

  /** Bits and increments as one record: all or none after a crash. */
  async write(writes: readonly BitWrite[], increments: readonly CounterIncrement[] = []): Promise<void> {
    this.checkOpen();
    if (writes.length === 0 && increments.length === 0) return;
    await this.writer.append(writeRecord(writes, increments));
    if (this.watchers.size) this.changed([...new Set([...writes.map((w) => w.key), ...increments.map((i) => i.key)])]);
  }

  /** Under an idempotency key the record carries it: applying checks and records it in one step. */
  async increment(increments: readonly CounterIncrement[], once?: Once): Promise<OnceOutcome> {
    if (!once) {
      await this.write([], increments);
      return { replayed: false };
    }
    this.checkOpen();
    try {
      await this.writer.append(writeRecord([], increments, { ...once, at: Date.now(), ttlSeconds: ONCE_TTL_SECONDS }));
    } catch (e) {
      if (!(e instanceof OnceApplied)) throw e;
      if (!e.sameDigest) throw onceConflict(once.key);
      return { replayed: true };
    }
    if (this.watchers.size && increments.length) this.changed([...new Set(increments.map((i) => i.key))]);
    return { replayed: false };
  }

  async resolveIds(externals: readonly string[], assign: boolean): Promise<Array<number | null>> {
    this.checkOpen();
    const ids = this.store.ids;
    const fresh: Array<[string, number]> = [];
    const out = externals.map((external) => {
      let id = ids.idOf.get(external);
      if (id === undefined && assign) {
        if (typeof external !== 'string') throw new TypeError('external id must be a string');
        if (ids.next > MAX_OFFSET) throw new RangeError('every dense id below 2^32 is taken');
        id = ids.next;
        assignId(ids, external, id); // taken now, so a concurrent caller sees it
        fresh.push([external, id]);
      }
      return id ?? null;
    });
    if (fresh.length) this.trackAssigning(this.writer.append(assignRecord(fresh), () => unassignIds(ids, fresh)));
    // Durable before answering: an id handed out earlier may still be in a queued record, and a
    // record the disk had no room for takes its ids back (then this call fails too).
    if (this.assigning.size) await Promise.all([...this.assigning]);
    return out;
  }

  async externalIds(ids: readonly number[]): Promise<Array<string | null>> {
    this.checkOpen();
    return ids.map((id) => this.store.ids.externalOf.get(id) ?? null);
  }

  async *idPairs(): AsyncIterable<Array<[string, number]>> {
    this.checkOpen();
    const pairs = [...this.store.ids.idOf];
    for (let i = 0; i < pairs.length; i += SCAN_BATCH) yield pairs.slice(i, i + SCAN_BATCH);
  }

  async restoreIds(pairs: ReadonlyArray<readonly [string, number]>): Promise<void> {
    this.checkOpen();
    assertPairsAgree(pairs);
    const ids = this.store.ids;
    for (const [external, id] of pairs) {
      checkOffset(id);
      const had = ids.idOf.get(external);
      const holder = ids.externalOf.get(id);
      if ((had !== undefined && had !== id) || (holder !== undefined && holder !== external)) {
        throw new Error(`${JSON.stringify(external)} -> ${id} contradicts the stored mapping`);
      }
    }
    if (pairs.length === 0) return;
    const added = pairs.filter(([external]) => !ids.idOf.has(external));
    for (const [external, id] of pairs) assignId(ids, external, id);
    const stored = this.writer.append(assignRecord(pairs), () => unassignIds(ids, added));
    this.trackAssigning(stored);
    await stored;
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.checkOpen();
    const unique = [...new Set(keys)];
    if (unique.length === 0) return 0;
    const n = await this.writer.append(deleteRecord(unique));
    this.changed(unique);
    return n;
  }

  async restore(key: string, bytes: Buffer): Promise<void> {
    this.checkOpen();
    const portable = bitmapFromRedisBytes(bytes).serialize('portable');
    await this.writer.append(restoreRecord(key, portable));
    this.changed([key]);
  }

  /** This engine is the only writer of its folder: its own acknowledged writes are every change. */
  watch(listener: ChangeListener): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private changed(keys: readonly string[]): void {
    for (const l of this.watchers) l(keys);
  }

  /** Resolves once every queued write is acknowledged and no compaction is running. */
  async idle(): Promise<void> {
    for (;;) {
      await this.writer.idle();
      if (!this.compacting) return;
      await this.compacting;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.closing) {
      while (!this.closed) await new Promise((r) => setTimeout(r, 5));
      return;
    }
    this.closing = true;
    try {
      this.writer.stopTimer();
      if (!this.writer.failed) {
        await this.idle();
        await this.writer.sync();
      } else if (this.compacting) {
        await this.compacting;
      }
    } finally {
      this.closed = true;
      await this.writer.close();
      await this.unlock();
    }
  }

  // --- internals -------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.writer.failed) throw this.writer.failed;
    if (this.closed || this.closing) throw new Error('embedded engine is closed');
  }

  private trackAssigning(stored: Promise<number>): void {
    this.assigning.add(stored);
    const done = (): void => void this.assigning.delete(stored);
    stored.then(done, done);
  }

  private async markHeld(): Promise<void> {
    this.heldData = await markHeldData(this.dir);
  }

  /**
   * Runs inside the log writer, so memory equals the current log: switch to a new log, then
   * write the snapshot in the background while writes continue into the new log.
   */
  private async compact(): Promise<void> {
    // Retried after another full log's worth of writes when it fails; the logs keep everything meanwhile.
    const postpone = (e: unknown): void => {
      this.lastCompactionError = e instanceof Error ? e : new Error(String(e));
      this.nextCompactAt = this.writer.size + this.compactAfter;
    };
    // Everything in the old log must be durable (and in memory) before a newer log may exist.
    if (!(await this.writer.syncUnsynced())) return postpone(storageFull());
    const seq = this.logSeq + 1;
    const path = join(this.dir, logName(seq));
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'wx');
      await fsyncDir(this.dir);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      // Writes go on into this log; an empty newer one would make a torn tail here unrecoverable.
      await fh?.close();
      await unlink(path).catch(() => undefined);
      return postpone(e);
    }
    const old = this.writer.switchTo(fh);
    this.logSeq = seq;
    this.nextCompactAt = this.compactAfter;
    await old.close();
    await this.onStep?.('log-switched');
    const pieces = serializeAll(this.store);
    this.compacting = writeSnapshot(this.dir, seq, pieces, this.onStep)
      .catch(postpone)
      .finally(() => {
        this.compacting = null;
        this.writer.kick();
      });
  }
}

export async function openEmbeddedEngine(options: EmbeddedOptions): Promise<EmbeddedEngine> {
  if (!['always', 'interval', 'os'].includes(options.fsync)) throw new Error(`bad fsync mode: ${options.fsync}`);
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  const unlock = await lockFolder(dir);
  try {
    const recovered = await recoverFolder(dir, options.log);
    return new EmbeddedEngine({ ...recovered, options, unlock });
  } catch (e) {
    await unlock();
    throw e;
  }
}
