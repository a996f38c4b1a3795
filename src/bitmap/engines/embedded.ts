// Embedded engine: in-process roaring bitmaps, made durable by a write-ahead log and snapshots.
//
// Data folder layout (<seq> is a zero-padded decimal, e.g. 0000000003):
//
//   snapshot-<seq>.bin   every bitmap as of the start of log-<seq>.wal (absent for seq 0 = empty)
//   log-<seq>.wal        records appended after that snapshot
//   *.tmp                a snapshot being written; ignored and removed on open
//
// State = newest loadable snapshot S (or the empty set when there is none and the logs start
// at 0), then log-S, log-S+1, ... replayed in order. A compaction makes the current log
// durable, starts log-(S+1), serialises every bitmap (state == end of log-S), writes
// snapshot-(S+1).tmp, fsyncs it, renames it to .bin, fsyncs the folder and only then deletes
// files with a lower seq. A crash at any step leaves either snapshot-S + log-S + log-(S+1)
// or snapshot-(S+1) + log-(S+1), both complete.
//
// Log record:   u32le payloadLength | u32le crc32(length bytes ++ payload) | payload
// Payload:      u8 version (1) | varint stringCount | stringCount × (varint byteLength, utf-8)
//               | varint opCount | opCount × op
// Op:           u8 code | varint keyIndex | code 0 clear / 1 set: varint offset
//                                          | code 2 delete: nothing
//                                          | code 3 restore: varint length, roaring portable bytes
//                                          | code 4 increment: varint fieldIndex, u8 sign (0 add,
//                                            1 subtract), varint53 magnitude
//                                          | code 5 assign: varint id (keyIndex is the external id)
// The string table holds keys and counter fields alike (keyIndex and fieldIndex point into it).
// varint is LEB128 of at most 5 bytes (values below 2^32); varint53 is the same with at most 8
// bytes (values below 2^53). Records written before counters existed (codes 0-3) read unchanged.
// One write()/delete()/restore()/increment() call is one record, so a batch is all or none
// after a crash. On open, a torn or corrupt tail of the last log (short header, short payload,
// bad CRC) is dropped and the file truncated to its last good record; the drop is logged
// (file, offset, bytes, records) and kept in engine.recovery. A bad record followed anywhere by
// a valid one (or a bad record in a log that is not the last) throws instead of losing data.
// Once a write has been durable the folder holds a HELD-DATA file; a folder with that file but
// no snapshot and no record in its logs (a log truncated to 0 bytes, files replaced) is refused
// rather than opened as an empty store: deleting HELD-DATA is how to start empty on purpose.
//
// A key holds either a bitmap or a counter hash, as in Redis. A record is checked against the
// state before it is applied: a set/clear on a counter hash, an increment of a bitmap or an
// increment past Number.MAX_SAFE_INTEGER rejects the whole record (its caller gets the error,
// memory is untouched). The check is deterministic, so replay skips the same records.
//
// Snapshot:     "BMQLSNP1" | u32le count | count × (u32le keyLength, key, u32le length,
//               roaring portable bytes) | [counter section] | u32le crc32 of everything before it
// Counter section (present only when a counter hash exists; snapshots without one read as
// before): "CNT1" | u32le hashCount | hashCount × (u32le keyLength, key, u32le fieldCount,
//               fieldCount × (u32le fieldLength, field, f64le value))
// Id section (present only when a string id was assigned): "IDS1" | u32le count | count ×
//               (u32le externalLength, external id, u32le id)
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
// Writes are applied to memory by the single log writer once their record is durable: after
// the fsync that covers them ('always', 'interval') or after the write syscall ('os'), and are
// acknowledged then. So memory always equals a durable prefix of the log: that makes a snapshot
// consistent, and a write that fails leaves no trace. Queued writes are grouped: many callers
// share one write and one fsync. A disk that is full (ENOSPC, EDQUOT) fails the batch with
// STORAGE_FULL: the log is cut back to its last durable record, reads go on, and the next write
// simply tries again, so writes resume by themselves once space returns. Any other write or
// fsync failure stops the engine (restart to recover from the log).
// One process per folder: open takes a LOCK file holding its pid (exclusive create); a lock
// whose process is gone (after a crash) is taken over; close removes it.

import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, statfs, truncate, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { BitmapError } from '../errors.ts';
import type { OutputValue, Program } from '../program.ts';
import { RoaringBitmap32, bitmapFromRedisBytes, redisBytesFromBitmap, runOnBitmaps } from './roaring.ts';
import type { Bitmap } from './roaring.ts';
import type { BitWrite, CounterIncrement, Engine } from './engine.ts';

/** Counter hashes: key → field → value. */
type Counters = Map<string, Map<string, number>>;

/** What the engine holds: bitmaps and counter hashes, never both under one key. */
interface Store {
  readonly bitmaps: Map<string, Bitmap>;
  readonly counters: Counters;
  readonly ids: IdMap;
}

/** String ids: external id ↔ dense id, and the next dense id to hand out. */
interface IdMap {
  readonly idOf: Map<string, number>;
  readonly externalOf: Map<number, string>;
  next: number;
}

const emptyIds = (): IdMap => ({ idOf: new Map(), externalOf: new Map(), next: 0 });

export interface EmbeddedOptions {
  dir: string;
  fsync: 'always' | 'interval' | 'os';
  /** Group-commit period for fsync 'interval'; default 50. */
  fsyncIntervalMs?: number;
  /** Log size that triggers a snapshot; default 64 MiB. */
  compactAfterBytes?: number;
  /** Testing only: called at each step of a compaction (the folder is in a crash-consistent state). */
  onCompactionStep?: (step: CompactionStep) => void | Promise<void>;
  /** Structured log lines (what recovery dropped); default: one JSON line on stderr. */
  log?: (fields: Record<string, unknown>) => void;
}

/** What opening the folder found: a torn or corrupt log tail is dropped, never silently. */
export interface RecoveryReport {
  /** Records replayed from the logs (after the snapshot, when there is one). */
  readonly replayedRecords: number;
  /** Records dropped from the torn or corrupt tail of the last log (0: nothing was dropped). */
  readonly droppedRecords: number;
  readonly droppedBytes: number;
  /** Where the dropped tail started: the log file and its byte offset. */
  readonly droppedAt?: { readonly file: string; readonly offset: number };
}

/** Present in a data folder once a write has been durable there (see the refusal in openLocked). */
export const HELD_DATA_FILE = 'HELD-DATA';

export type CompactionStep = 'log-switched' | 'snapshot-written' | 'snapshot-renamed' | 'cleaned';

const MAX_OFFSET = 2 ** 32 - 1;
const RECORD_HEADER = 8;
const RECORD_VERSION = 1;
const OP_CLEAR = 0;
const OP_SET = 1;
const OP_DELETE = 2;
const OP_RESTORE = 3;
const OP_INCREMENT = 4;
const OP_ASSIGN = 5;
const SNAPSHOT_MAGIC = Buffer.from('BMQLSNP1', 'latin1');
const COUNTER_SECTION = Buffer.from('CNT1', 'latin1');
const ID_SECTION = Buffer.from('IDS1', 'latin1');
const SCAN_BATCH = 1000;

// ---------------------------------------------------------------------------------------------
// CRC32 (zlib.crc32 exists from Node 20.15; a table fallback keeps older runtimes working).

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function tableCrc32(data: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const crc32: (data: Uint8Array, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data, value) => zlib.crc32(data, value)
    : tableCrc32;

function recordCrc(buf: Uint8Array, at: number, payloadLength: number): number {
  return crc32(buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + payloadLength), crc32(buf.subarray(at, at + 4)));
}

// ---------------------------------------------------------------------------------------------
// Binary encoding helpers.

class Writer {
  buf: Buffer;
  pos: number;
  constructor(capacity: number, start = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
    this.pos = start;
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  /** Unsigned varint for 0..2^32-1 (and lengths below 2^32). */
  varint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  /** Unsigned varint for 0..2^53-1 (at most 8 bytes). */
  varint53(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  string(s: string): void {
    const len = Buffer.byteLength(s);
    this.varint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('log record payload is shorter than its contents');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new Error('bad varint in log record');
  }
  varint53(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      mul *= 128;
    }
    throw new Error('bad varint53 in log record');
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  string(): string {
    return this.bytes(this.varint()).toString('utf8');
  }
}

/** Starts a record: the caller fills key table and ops, then calls finishRecord. */
function recordWriter(keys: readonly string[], opCount: number, capacity: number): Writer {
  const w = new Writer(RECORD_HEADER + 16 + capacity, RECORD_HEADER);
  w.u8(RECORD_VERSION);
  w.varint(keys.length);
  for (const k of keys) w.string(k);
  w.varint(opCount);
  return w;
}

function finishRecord(w: Writer): Buffer {
  const buf = w.buf.subarray(0, w.pos);
  const length = w.pos - RECORD_HEADER;
  buf.writeUInt32LE(length, 0);
  buf.writeUInt32LE(recordCrc(buf, 0, length), 4);
  return buf;
}

/** End of the valid record starting at `at`, or -1 when there is none there. */
function validRecordEnd(buf: Buffer, at: number): number {
  if (at + RECORD_HEADER > buf.length) return -1;
  const length = buf.readUInt32LE(at);
  if (length < 1 || at + RECORD_HEADER + length > buf.length) return -1;
  if (buf[at + RECORD_HEADER] !== RECORD_VERSION) return -1;
  if (recordCrc(buf, at, length) !== buf.readUInt32LE(at + 4)) return -1;
  return at + RECORD_HEADER + length;
}

// ---------------------------------------------------------------------------------------------
// Files.

const pad = (seq: number): string => String(seq).padStart(10, '0');
const logName = (seq: number): string => `log-${pad(seq)}.wal`;
const snapshotName = (seq: number): string => `snapshot-${pad(seq)}.bin`;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

function parseSnapshot(buf: Buffer, file: string): Store {
  if (buf.length < SNAPSHOT_MAGIC.length + 8 || !buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new Error(`${file}: not a snapshot (bad magic or too short)`);
  }
  const body = buf.length - 4;
  if (crc32(buf.subarray(0, body)) !== buf.readUInt32LE(body)) throw new Error(`${file}: snapshot CRC mismatch`);
  const map = new Map<string, Bitmap>();
  let pos = SNAPSHOT_MAGIC.length;
  const count = buf.readUInt32LE(pos);
  pos += 4;
  for (let i = 0; i < count; i++) {
    const kl = buf.readUInt32LE(pos);
    const key = buf.toString('utf8', pos + 4, pos + 4 + kl);
    pos += 4 + kl;
    const bl = buf.readUInt32LE(pos);
    const bm = RoaringBitmap32.deserialize(buf.subarray(pos + 4, pos + 4 + bl), 'portable');
    pos += 4 + bl;
    if (!bm.isEmpty) map.set(key, bm);
  }
  const counters: Counters = new Map();
  if (pos < body && buf.subarray(pos, pos + COUNTER_SECTION.length).equals(COUNTER_SECTION)) {
    pos += COUNTER_SECTION.length;
    const hashCount = buf.readUInt32LE(pos);
    pos += 4;
    for (let i = 0; i < hashCount; i++) {
      const kl = buf.readUInt32LE(pos);
      const key = buf.toString('utf8', pos + 4, pos + 4 + kl);
      pos += 4 + kl;
      const fieldCount = buf.readUInt32LE(pos);
      pos += 4;
      const hash = new Map<string, number>();
      for (let j = 0; j < fieldCount; j++) {
        const fl = buf.readUInt32LE(pos);
        const field = buf.toString('utf8', pos + 4, pos + 4 + fl);
        pos += 4 + fl;
        const value = buf.readDoubleLE(pos);
        pos += 8;
        if (!Number.isSafeInteger(value)) throw new Error(`${file}: counter ${key} ${field} is not a safe integer`);
        hash.set(field, value);
      }
      if (hash.size && !map.has(key)) counters.set(key, hash);
    }
  }
  const ids = emptyIds();
  if (pos < body && buf.subarray(pos, pos + ID_SECTION.length).equals(ID_SECTION)) {
    pos += ID_SECTION.length;
    const count = buf.readUInt32LE(pos);
    pos += 4;
    for (let i = 0; i < count; i++) {
      const el = buf.readUInt32LE(pos);
      const external = buf.toString('utf8', pos + 4, pos + 4 + el);
      pos += 4 + el;
      assignId(ids, external, buf.readUInt32LE(pos));
      pos += 4;
    }
  }
  if (pos !== body) throw new Error(`${file}: snapshot length does not match its contents`);
  return { bitmaps: map, counters, ids };
}

// ---------------------------------------------------------------------------------------------

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

/** The disk (or the user's quota) has no room: the write may succeed later, nothing is broken. */
function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const storageFull = (): BitmapError =>
  new BitmapError(
    'STORAGE_FULL',
    'storage is full: the disk of the data folder has no space left, so this write was not stored; reads still work, ' +
      'and writes resume by themselves once space is freed',
  );

function checkOffset(offset: unknown): void {
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new RangeError(`bit offset is not an integer or out of range: ${String(offset)}`);
  }
}

/** A record that the state check refused (wrong key type, counter overflow); it changed nothing. */
class RejectedRecord extends Error {}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

function wrongType(key: string, holds: 'a counter hash' | 'a bitmap'): Error {
  return new Error(`${WRONGTYPE}: ${JSON.stringify(key)} holds ${holds}`);
}

export class EmbeddedEngine implements Engine {
  readonly kind = 'embedded' as const;
  private readonly bitmaps: Map<string, Bitmap>;
  private readonly counters: Counters;
  private readonly store: Store;
  private readonly dir: string;
  private readonly mode: EmbeddedOptions['fsync'];
  private readonly intervalMs: number;
  private readonly compactAfter: number;
  private readonly onStep: EmbeddedOptions['onCompactionStep'];

  private log: FileHandle;
  private logSeq: number;
  private logBytes: number;
  /** Bytes of the current log known durable: what a write the disk has no room for is cut back to. */
  private durableBytes: number;
  /** HELD-DATA exists in the folder. */
  private heldData: boolean;
  /** Size of the last batch the disk had no room for (what acceptsWrites asks room for). */
  private refusedBytes = 0;
  /** What opening the folder recovered and dropped. */
  readonly recovery: RecoveryReport;

  private queue: Pending[] = [];
  private unsynced: Pending[] = [];
  /** Taken off the queue by the log writer and not yet settled. */
  private inflight: Pending[] = [];
  private pumping: Promise<void> | null = null;
  private syncDue = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private compacting: Promise<void> | null = null;
  private nextCompactAt: number;
  private closing = false;
  private closed = false;
  private readonly unlock: () => Promise<void>;
  private failed: Error | null = null;
  /** Records of id assignments not yet durable (all awaited before an id is handed out). */
  private readonly assigning = new Set<Promise<number>>();
  /** The last background snapshot failure, if any (the data stays recoverable from the logs). */
  lastCompactionError: Error | null = null;

  /** Use openEmbeddedEngine. */
  constructor(state: {
    options: EmbeddedOptions;
    store: Store;
    log: FileHandle;
    logSeq: number;
    logBytes: number;
    unlock: () => Promise<void>;
    heldData: boolean;
    recovery: RecoveryReport;
  }) {
    const o = state.options;
    this.unlock = state.unlock;
    this.dir = o.dir;
    this.mode = o.fsync;
    this.intervalMs = o.fsyncIntervalMs ?? 50;
    this.compactAfter = o.compactAfterBytes ?? 64 * 1024 * 1024;
    this.onStep = o.onCompactionStep;
    this.bitmaps = state.store.bitmaps;
    this.counters = state.store.counters;
    this.store = state.store;
    this.log = state.log;
    this.logSeq = state.logSeq;
    this.logBytes = state.logBytes;
    this.durableBytes = state.logBytes;
    this.heldData = state.heldData;
    this.recovery = state.recovery;
    this.nextCompactAt = this.compactAfter;
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
    return !this.closed && !this.closing && !this.failed;
  }

  /**
   * Asks the file system (nothing is written) whether the last batch the disk had no room for
   * would fit now. A tiny probe record could fit in the log's last, partly used block and report
   * room that the next real batch does not find.
   */
  async acceptsWrites(): Promise<boolean> {
    this.checkOpen();
    const { bavail, bsize } = await statfs(this.dir);
    return bavail * bsize >= this.refusedBytes + bsize;
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
    const strings = new Map<string, number>();
    const intern = (s: string): void => {
      if (!strings.has(s)) strings.set(s, strings.size);
    };
    for (const w of writes) {
      if (typeof w.key !== 'string') throw new TypeError('bit write key must be a string');
      checkOffset(w.offset);
      if (w.bit !== 0 && w.bit !== 1) throw new RangeError(`bit must be 0 or 1: ${String(w.bit)}`);
      intern(w.key);
    }
    for (const c of increments) {
      if (typeof c.key !== 'string') throw new TypeError('counter key must be a string');
      if (typeof c.field !== 'string') throw new TypeError('counter field must be a string');
      if (typeof c.by !== 'number' || !Number.isSafeInteger(c.by)) {
        throw new Error(`counter increment is not a safe integer: ${String(c.by)}`);
      }
      intern(c.key);
      intern(c.field);
    }
    const ops = writes.length + increments.length;
    const rec = recordWriter([...strings.keys()], ops, ops * 8);
    for (const w of writes) {
      rec.u8(w.bit === 1 ? OP_SET : OP_CLEAR);
      rec.varint(strings.get(w.key)!);
      rec.varint(w.offset);
    }
    for (const c of increments) {
      rec.u8(OP_INCREMENT);
      rec.varint(strings.get(c.key)!);
      rec.varint(strings.get(c.field)!);
      rec.u8(c.by < 0 ? 1 : 0);
      rec.varint53(Math.abs(c.by));
    }
    await this.enqueue(finishRecord(rec));
  }

  async increment(increments: readonly CounterIncrement[]): Promise<void> {
    return this.write([], increments);
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
    if (fresh.length) this.trackAssigning(this.enqueue(assignRecord(fresh), () => unassignIds(ids, fresh)));
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
    const stored = this.enqueue(assignRecord(pairs), () => unassignIds(ids, added));
    this.trackAssigning(stored);
    await stored;
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.checkOpen();
    const unique = [...new Set(keys)];
    if (unique.length === 0) return 0;
    const rec = recordWriter(unique, unique.length, unique.length * 4);
    unique.forEach((_, i) => {
      rec.u8(OP_DELETE);
      rec.varint(i);
    });
    return this.enqueue(finishRecord(rec));
  }

  async restore(key: string, bytes: Buffer): Promise<void> {
    this.checkOpen();
    const portable = bitmapFromRedisBytes(bytes).serialize('portable');
    const rec = recordWriter([key], 1, portable.length + 8);
    rec.u8(OP_RESTORE);
    rec.varint(0);
    rec.varint(portable.length);
    rec.bytes(portable);
    await this.enqueue(finishRecord(rec));
  }

  /** Resolves once every queued write is acknowledged and no compaction is running. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.failed) throw this.failed;
      if (this.pumping) await this.pumping;
      else if (this.compacting) await this.compacting;
      else if (this.queue.length) this.kick();
      else if (this.unsynced.length) {
        this.syncDue = true;
        this.kick();
      } else return;
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
      if (this.syncTimer) clearTimeout(this.syncTimer);
      this.syncTimer = null;
      if (!this.failed) {
        await this.idle();
        await this.log.sync();
      } else if (this.compacting) {
        await this.compacting;
      }
    } finally {
      this.closed = true;
      if (this.syncTimer) clearTimeout(this.syncTimer);
      this.syncTimer = null;
      await this.log.close().catch(() => undefined);
      await this.unlock();
    }
  }

  // --- internals -------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.failed) throw this.failed;
    if (this.closed || this.closing) throw new Error('embedded engine is closed');
  }

  private enqueue(record: Buffer, undo?: () => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ record, result: 0, undo, resolve, reject });
      this.kick();
    });
  }

  private trackAssigning(stored: Promise<number>): void {
    this.assigning.add(stored);
    const done = (): void => void this.assigning.delete(stored);
    stored.then(done, done);
  }

  private kick(): void {
    if (this.pumping || this.failed) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // Work that arrived while the loop was finishing.
      if (!this.failed && (this.queue.length || (this.syncDue && this.unsynced.length))) this.kick();
    });
  }

  /** The single log writer: writes queued records as one group, fsyncs, applies them, acknowledges. */
  private async pump(): Promise<void> {
    try {
      for (;;) {
        if (this.syncDue && this.unsynced.length) {
          this.syncDue = false;
          await this.syncUnsynced();
          continue;
        }
        // Checked before the queue: under constant load the queue is never empty.
        if (!this.closing && !this.compacting && this.logBytes >= this.nextCompactAt) {
          await this.compact();
          continue;
        }
        if (this.queue.length) {
          const batch = this.queue;
          this.queue = [];
          this.inflight = batch;
          const buf = batch.length === 1 ? batch[0]!.record : Buffer.concat(batch.map((p) => p.record));
          const at = this.logBytes;
          try {
            await writeAll(this.log, buf, at);
            if (this.mode === 'always') await this.log.datasync();
          } catch (e) {
            await this.refuse(batch, e, at);
            continue;
          }
          this.logBytes = at + buf.length;
          if (this.mode === 'interval') {
            this.inflight = [];
            for (const p of batch) this.unsynced.push(p);
            this.armSyncTimer();
          } else {
            this.durableBytes = this.logBytes;
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

  /** fsyncs the records written since the last fsync, then commits them; false when the disk had no room. */
  private async syncUnsynced(): Promise<boolean> {
    const batch = this.unsynced;
    this.unsynced = [];
    this.inflight = batch;
    const upTo = this.logBytes;
    try {
      await this.log.datasync();
    } catch (e) {
      await this.refuse(batch, e, this.durableBytes);
      return false;
    }
    this.durableBytes = upTo;
    await this.commit(batch);
    return true;
  }

  /** Applies durable records to memory in log order, then acknowledges them. */
  private async commit(batch: readonly Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        p.result = this.applyPayload(p.record.subarray(RECORD_HEADER));
      } catch (e) {
        if (!(e instanceof RejectedRecord)) throw e;
        p.error = e;
      }
    }
    // Before the first acknowledgement: once a write is acknowledged, the folder says it held data.
    if (!this.heldData && batch.length) this.heldData = await markHeldData(this.dir);
    this.inflight = [];
    settle(batch);
  }

  /**
   * A batch the disk had no room for (any other failure is rethrown and stops the engine): the
   * log is cut back to `keep` bytes, durably, so a crash cannot bring back a record whose caller
   * was told it failed; memory never saw it; the next write simply tries again.
   */
  private async refuse(batch: readonly Pending[], e: unknown, keep: number): Promise<void> {
    if (!isNoSpace(e)) throw e;
    this.refusedBytes = batch.reduce((n, p) => n + p.record.length, 0);
    await this.log.truncate(keep);
    await this.log.datasync();
    this.logBytes = keep;
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
    }, this.intervalMs);
  }

  private fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.failed = new Error(`embedded engine failed, restart to recover from the log: ${error.message}`, {
      cause: error,
    });
    const all = [...this.inflight, ...this.unsynced, ...this.queue];
    this.inflight = [];
    this.unsynced = [];
    this.queue = [];
    for (const p of all) p.reject(this.failed);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }

  /** Applies one record payload to memory; returns how many deleted keys existed. */
  private applyPayload(payload: Buffer): number {
    return applyPayload(this.store, payload);
  }

  /**
   * Runs inside the log writer, so memory equals the current log: switch to a new log, then
   * write the snapshot in the background while writes continue into the new log.
   */
  private async compact(): Promise<void> {
    // Retried after another full log's worth of writes when it fails; the logs keep everything meanwhile.
    const postpone = (e: unknown): void => {
      this.lastCompactionError = e instanceof Error ? e : new Error(String(e));
      this.nextCompactAt = this.logBytes + this.compactAfter;
    };
    // Everything in the old log must be durable (and in memory) before a newer log may exist.
    if (!(await this.syncUnsynced())) return postpone(storageFull());
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
    const old = this.log;
    this.log = fh;
    this.logSeq = seq;
    this.logBytes = 0;
    this.durableBytes = 0;
    this.nextCompactAt = this.compactAfter;
    await old.close();
    await this.onStep?.('log-switched');
    const pieces = serializeAll(this.store);
    this.compacting = this.writeSnapshot(seq, pieces)
      .catch(postpone)
      .finally(() => {
        this.compacting = null;
        this.kick();
      });
  }

  private async writeSnapshot(seq: number, pieces: Buffer[]): Promise<void> {
    const final = join(this.dir, snapshotName(seq));
    const tmp = `${final}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      let pos = 0;
      let crc = 0;
      let group: Buffer[] = [];
      let groupBytes = 0;
      const flush = async (): Promise<void> => {
        if (!group.length) return;
        const buf = group.length === 1 ? group[0]! : Buffer.concat(group, groupBytes);
        crc = crc32(buf, crc);
        await writeAll(fh, buf, pos);
        pos += buf.length;
        group = [];
        groupBytes = 0;
      };
      for (const p of pieces) {
        group.push(p);
        groupBytes += p.length;
        if (groupBytes >= 4 * 1024 * 1024) await flush();
      }
      await flush();
      const trailer = Buffer.alloc(4);
      trailer.writeUInt32LE(crc, 0);
      await writeAll(fh, trailer, pos);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined); // a partial snapshot would hold on to the space
      throw e;
    }
    await fh.close();
    await this.onStep?.('snapshot-written');
    await rename(tmp, final);
    await fsyncDir(this.dir);
    await this.onStep?.('snapshot-renamed');
    for (const name of await readdir(this.dir)) {
      const f = parseName(name);
      if (f && f.kind !== 'tmp' && f.seq < seq) await unlink(join(this.dir, name)).catch(() => undefined);
    }
    await this.onStep?.('cleaned');
  }
}

function settle(done: readonly Pending[]): void {
  for (const p of done) {
    if (p.error) p.reject(p.error);
    else p.resolve(p.result);
  }
}

interface RecordHeader {
  readonly strings: string[];
  readonly opCount: number;
  /** Where the ops start in the payload. */
  readonly opsAt: number;
}

function readHeader(payload: Buffer): RecordHeader {
  const r = new Reader(payload);
  if (r.u8() !== RECORD_VERSION) throw new Error('unknown log record version');
  const count = r.varint();
  const strings: string[] = [];
  for (let i = 0; i < count; i++) strings.push(r.string());
  const opCount = r.varint();
  return { strings, opCount, opsAt: r.pos };
}

function stringAt(strings: readonly string[], index: number): string {
  const s = strings[index];
  if (s === undefined) throw new Error('log record refers to a missing string');
  return s;
}

/**
 * Walks a record's ops against the state without changing it: throws RejectedRecord when an op
 * meets a key of the other type or an increment leaves the safe integer range, and a plain
 * Error when the record cannot be decoded. Every op is decoded, so pass 2 cannot fail midway.
 */
function checkRecord(store: Store, payload: Buffer, h: RecordHeader): void {
  const { bitmaps, counters } = store;
  const r = new Reader(payload);
  r.pos = h.opsAt;
  // Key type as the ops before this one leave it: b(itmap), h(ash) or n(one).
  const types = new Array<'b' | 'h' | 'n' | undefined>(h.strings.length);
  const typeOf = (ki: number, key: string): 'b' | 'h' | 'n' =>
    types[ki] ?? (bitmaps.has(key) ? 'b' : counters.has(key) ? 'h' : 'n');
  let sums: Map<string, number> | null = null;
  for (let i = 0; i < h.opCount; i++) {
    const code = r.u8();
    const ki = r.varint();
    const key = stringAt(h.strings, ki);
    switch (code) {
      case OP_SET:
      case OP_CLEAR: {
        const offset = r.varint();
        if (offset > MAX_OFFSET) throw new Error('bit offset out of range in log record');
        if (types[ki] !== 'b') {
          if (typeOf(ki, key) === 'h') throw new RejectedRecord(wrongType(key, 'a counter hash').message);
          types[ki] = 'b';
        }
        break;
      }
      case OP_DELETE:
        types[ki] = 'n';
        sums?.forEach((_, k) => {
          if (k.startsWith(`${ki}:`)) sums!.delete(k);
        });
        break;
      case OP_RESTORE:
        r.bytes(r.varint());
        types[ki] = 'b';
        break;
      case OP_INCREMENT: {
        const fi = r.varint();
        const field = stringAt(h.strings, fi);
        const sign = r.u8();
        if (sign > 1) throw new Error('bad counter sign in log record');
        const magnitude = r.varint53();
        const type = typeOf(ki, key);
        if (type === 'b') throw new RejectedRecord(wrongType(key, 'a bitmap').message);
        types[ki] = 'h';
        sums ??= new Map();
        const slot = `${ki}:${fi}`;
        const before = sums.get(slot) ?? (type === 'h' ? (counters.get(key)?.get(field) ?? 0) : 0);
        const after = sign ? before - magnitude : before + magnitude;
        if (!Number.isSafeInteger(after)) {
          throw new RejectedRecord(`counter ${JSON.stringify(key)} ${JSON.stringify(field)} would leave the safe integer range`);
        }
        sums.set(slot, after);
        break;
      }
      case OP_ASSIGN: {
        const id = r.varint();
        if (id > MAX_OFFSET) throw new Error('id out of range in log record');
        const had = store.ids.idOf.get(key);
        const holder = store.ids.externalOf.get(id);
        if ((had !== undefined && had !== id) || (holder !== undefined && holder !== key)) {
          throw new RejectedRecord(`id assignment ${JSON.stringify(key)} → ${id} conflicts with an earlier one`);
        }
        break;
      }
      default:
        throw new Error(`unknown log op ${code}`);
    }
  }
  if (r.pos !== payload.length) throw new Error('log record has trailing bytes');
}

/** Applies one record payload to memory (all ops or, when rejected, none); returns how many deleted keys existed. */
function applyPayload(store: Store, payload: Buffer): number {
  const { bitmaps, counters } = store;
  const h = readHeader(payload);
  checkRecord(store, payload, h);
  const r = new Reader(payload);
  r.pos = h.opsAt;
  const keys = h.strings;
  let existed = 0;
  for (let i = 0; i < h.opCount; i++) {
    const code = r.u8();
    const key = keys[r.varint()]!;
    switch (code) {
      case OP_SET: {
        const offset = r.varint();
        let bm = bitmaps.get(key);
        if (!bm) bitmaps.set(key, (bm = new RoaringBitmap32()));
        bm.add(offset);
        break;
      }
      case OP_CLEAR: {
        const offset = r.varint();
        const bm = bitmaps.get(key);
        if (bm && bm.delete(offset) && bm.isEmpty) bitmaps.delete(key);
        break;
      }
      case OP_DELETE:
        if (bitmaps.delete(key) || counters.delete(key)) existed++;
        break;
      case OP_RESTORE: {
        const bm = RoaringBitmap32.deserialize(r.bytes(r.varint()), 'portable');
        counters.delete(key);
        if (bm.isEmpty) bitmaps.delete(key);
        else bitmaps.set(key, bm);
        break;
      }
      case OP_INCREMENT: {
        const field = keys[r.varint()]!;
        const sign = r.u8();
        const magnitude = r.varint53();
        let hash = counters.get(key);
        if (!hash) counters.set(key, (hash = new Map()));
        const before = hash.get(field) ?? 0;
        hash.set(field, sign ? before - magnitude : before + magnitude);
        break;
      }
      case OP_ASSIGN:
        assignId(store.ids, key, r.varint());
        break;
    }
  }
  return existed;
}

function serializeAll(store: Store): Buffer[] {
  const head = Buffer.alloc(SNAPSHOT_MAGIC.length + 4);
  SNAPSHOT_MAGIC.copy(head, 0);
  const pieces: Buffer[] = [head];
  let count = 0;
  for (const [key, bm] of store.bitmaps) {
    if (bm.isEmpty) continue;
    bm.runOptimize();
    const k = Buffer.from(key, 'utf8');
    const serialized = bm.serialize('portable');
    const body = Buffer.from(serialized.buffer, serialized.byteOffset, serialized.byteLength);
    const meta = Buffer.alloc(4);
    meta.writeUInt32LE(k.length, 0);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length, 0);
    pieces.push(meta, k, len, body);
    count++;
  }
  head.writeUInt32LE(count, SNAPSHOT_MAGIC.length);
  if (store.counters.size) pieces.push(serializeCounters(store.counters));
  if (store.ids.idOf.size) pieces.push(serializeIds(store.ids));
  return pieces;
}

/** The snapshot's id section, copied out now. */
function serializeIds(ids: IdMap): Buffer {
  let size = ID_SECTION.length + 4;
  for (const external of ids.idOf.keys()) size += 8 + Buffer.byteLength(external);
  const buf = Buffer.alloc(size);
  let pos = ID_SECTION.copy(buf, 0);
  pos = buf.writeUInt32LE(ids.idOf.size, pos);
  for (const [external, id] of ids.idOf) {
    const el = buf.write(external, pos + 4, 'utf8');
    buf.writeUInt32LE(el, pos);
    pos = buf.writeUInt32LE(id, pos + 4 + el);
  }
  if (pos !== size) throw new Error('id section size mismatch');
  return buf;
}

/** A log record of id assignments. */
function assignRecord(pairs: ReadonlyArray<readonly [string, number]>): Buffer {
  const rec = recordWriter(
    pairs.map(([external]) => external),
    pairs.length,
    pairs.length * 6,
  );
  pairs.forEach(([, id], i) => {
    rec.u8(OP_ASSIGN);
    rec.varint(i);
    rec.varint(id);
  });
  return finishRecord(rec);
}

function assignId(ids: IdMap, external: string, id: number): void {
  ids.idOf.set(external, id);
  ids.externalOf.set(id, external);
  if (id >= ids.next) ids.next = id + 1;
}

/** Takes back assignments whose record was not stored (`next` stays: a gap is harmless, a reuse would not be). */
function unassignIds(ids: IdMap, pairs: ReadonlyArray<readonly [string, number]>): void {
  for (const [external, id] of pairs) {
    if (ids.idOf.get(external) !== id) continue;
    ids.idOf.delete(external);
    ids.externalOf.delete(id);
  }
}

/** The snapshot's counter section, copied out now (memory keeps changing while it is written). */
function serializeCounters(counters: Counters): Buffer {
  let size = COUNTER_SECTION.length + 4;
  for (const [key, hash] of counters) {
    size += 8 + Buffer.byteLength(key);
    for (const field of hash.keys()) size += 12 + Buffer.byteLength(field);
  }
  const buf = Buffer.alloc(size);
  let pos = COUNTER_SECTION.copy(buf, 0);
  pos = buf.writeUInt32LE(counters.size, pos);
  for (const [key, hash] of counters) {
    const kl = buf.write(key, pos + 4, 'utf8');
    buf.writeUInt32LE(kl, pos);
    pos = buf.writeUInt32LE(hash.size, pos + 4 + kl);
    for (const [field, value] of hash) {
      const fl = buf.write(field, pos + 4, 'utf8');
      buf.writeUInt32LE(fl, pos);
      pos = buf.writeDoubleLE(value, pos + 4 + fl);
    }
  }
  if (pos !== size) throw new Error('counter section size mismatch');
  return buf;
}

type FileName = { kind: 'log' | 'snapshot' | 'tmp'; seq: number };

function parseName(name: string): FileName | null {
  if (name.endsWith('.tmp')) return { kind: 'tmp', seq: -1 };
  const m = /^(log|snapshot)-(\d+)\.(wal|bin)$/.exec(name);
  if (!m || (m[1] === 'log') !== (m[3] === 'wal')) return null;
  return { kind: m[1] as 'log' | 'snapshot', seq: Number(m[2]) };
}

/** Replays one log; returns the length of its valid prefix and its records. Throws on a bad record that is not a torn tail. */
function replayLog(store: Store, buf: Buffer, file: string, last: boolean): { end: number; records: number } {
  let pos = 0;
  let records = 0;
  while (pos < buf.length) {
    const end = validRecordEnd(buf, pos);
    if (end < 0) break;
    records++;
    try {
      applyPayload(store, buf.subarray(pos + RECORD_HEADER, end));
    } catch (e) {
      // Rejected when it was first applied too: it changed nothing then, nor now.
      if (e instanceof RejectedRecord) {
        pos = end;
        continue;
      }
      throw new Error(`${file}: record at byte ${pos} has a valid CRC but cannot be decoded: ${String(e)}`, {
        cause: e,
      });
    }
    pos = end;
  }
  if (pos === buf.length) return { end: pos, records };
  if (!last) {
    throw new Error(
      `${file}: corrupt record at byte ${pos} of ${buf.length} in a log that is followed by newer logs; refusing to open`,
    );
  }
  for (let q = pos + 1; q + RECORD_HEADER < buf.length; q++) {
    if (validRecordEnd(buf, q) >= 0) {
      throw new Error(
        `${file}: corrupt record at byte ${pos} is followed by a valid record at byte ${q}; ` +
          'refusing to open rather than drop acknowledged data',
      );
    }
  }
  return { end: pos, records };
}

/** Records that start in a dropped tail, following each header's length; a bad length ends the walk. */
function tailRecords(buf: Buffer, at: number): number {
  let n = 0;
  while (at < buf.length) {
    n++;
    if (at + RECORD_HEADER > buf.length) break;
    const length = buf.readUInt32LE(at);
    if (length < 1) break;
    at += RECORD_HEADER + length;
  }
  return n;
}

const HELD_DATA_TEXT =
  'This data folder has held data. bitmapql refuses to open it when its snapshot and logs hold\n' +
  'nothing (a log truncated to 0 bytes, files replaced), rather than start an empty store.\n' +
  'Delete this file to start with an empty store on purpose.\n';

/** Creates HELD-DATA unless it exists; true when it exists afterwards (a failure is retried later). */
async function markHeldData(dir: string): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(join(dir, HELD_DATA_FILE), 'wx');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EEXIST';
  }
  try {
    await fh.writeFile(HELD_DATA_TEXT); // its existence is what counts; the text is for people
    await fh.sync();
  } catch {
    // an empty file marks the folder just as well
  } finally {
    await fh.close().catch(() => undefined);
  }
  await fsyncDir(dir).catch(() => undefined);
  return true;
}

function stderrLog(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

export async function openEmbeddedEngine(options: EmbeddedOptions): Promise<EmbeddedEngine> {
  if (!['always', 'interval', 'os'].includes(options.fsync)) throw new Error(`bad fsync mode: ${options.fsync}`);
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  const unlock = await lockFolder(dir);
  try {
    return await openLocked(options, unlock);
  } catch (e) {
    await unlock();
    throw e;
  }
}

/** Another live process holds the data folder's LOCK (main.ts names it and says what to do). */
export class FolderLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(`the data folder ${dir} is in use by process ${pid} (remove ${lockFile} if that is wrong)`);
  }
}

/** Takes the folder's LOCK file, or fails naming the live process that holds it. */
async function lockFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(path).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new FolderLockedError(dir, holder, path);
      }
      await unlink(path).catch(() => undefined); // left behind by a process that is gone
    }
  }
  throw new Error(`could not lock the data folder ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function openLocked(options: EmbeddedOptions, unlock: () => Promise<void>): Promise<EmbeddedEngine> {
  const dir = options.dir;
  const names = await readdir(dir);
  const logs = new Set<number>();
  const snapshots: number[] = [];
  for (const name of names) {
    const f = parseName(name);
    if (!f) continue;
    if (f.kind === 'tmp') await unlink(join(dir, name)).catch(() => undefined);
    else if (f.kind === 'log') logs.add(f.seq);
    else snapshots.push(f.seq);
  }
  const maxLog = logs.size ? Math.max(...logs) : -1;
  snapshots.sort((a, b) => b - a);
  // Base candidates, newest first; with no snapshot-0 the empty state at seq 0 is the last resort.
  const candidates = snapshots.includes(0) ? snapshots : [...snapshots, 0];
  const problems: string[] = [];
  let base = -1;
  let store: Store | null = null;
  for (const seq of candidates) {
    const missing: number[] = [];
    for (let s = seq; s <= maxLog; s++) if (!logs.has(s)) missing.push(s);
    if (missing.length) {
      problems.push(`base ${seq}: missing ${missing.map(logName).join(', ')}`);
      continue;
    }
    if (snapshots.includes(seq)) {
      try {
        store = parseSnapshot(await readFile(join(dir, snapshotName(seq))), snapshotName(seq));
      } catch (e) {
        problems.push(String(e instanceof Error ? e.message : e));
        continue;
      }
    } else store = { bitmaps: new Map(), counters: new Map(), ids: emptyIds() };
    base = seq;
    break;
  }
  if (!store || base < 0) throw new Error(`embedded engine: no recoverable state in ${dir}: ${problems.join('; ')}`);

  let replayed = 0;
  let torn: { path: string; file: string; offset: number; bytes: number; records: number } | undefined;
  const sizes: string[] = [];
  for (let s = base; s <= maxLog; s++) {
    const path = join(dir, logName(s));
    const buf = await readFile(path);
    const { end, records } = replayLog(store, buf, logName(s), s === maxLog);
    replayed += records;
    sizes.push(`${logName(s)}: ${buf.length} bytes`);
    if (end < buf.length) torn = { path, file: logName(s), offset: end, bytes: buf.length - end, records: tailRecords(buf, end) };
  }
  // Checked before anything is repaired: a refused folder is left as it was found.
  let heldData = names.includes(HELD_DATA_FILE);
  const fromSnapshot = snapshots.includes(base);
  if (heldData && !fromSnapshot && replayed === 0) {
    throw new Error(
      `embedded engine: ${dir} has held data (it contains ${HELD_DATA_FILE}), but it has no snapshot and its logs hold no ` +
        `record (${sizes.join(', ') || 'no log files'})${torn ? `; the last ${torn.bytes} bytes of ${torn.file} are not a valid record` : ''}: ` +
        'a log may have been truncated or the files replaced, and opening it would start an empty store. Restore the folder ' +
        `from a backup; to start with an empty store on purpose, delete ${join(dir, HELD_DATA_FILE)}.`,
    );
  }
  if (torn) {
    await truncate(torn.path, torn.offset);
    const fh = await open(torn.path, 'r+');
    await fh.sync();
    await fh.close();
    // A torn tail is what a crash mid-write leaves (a write never acknowledged); say so anyway.
    (options.log ?? stderrLog)({
      level: 'warn',
      msg: 'embedded engine: dropped a torn or corrupt tail of the last log',
      dir,
      file: torn.file,
      offset: torn.offset,
      bytes: torn.bytes,
      records: torn.records,
    });
  }
  if (!heldData && (fromSnapshot || replayed > 0)) heldData = await markHeldData(dir);
  const recovery: RecoveryReport = {
    replayedRecords: replayed,
    droppedRecords: torn?.records ?? 0,
    droppedBytes: torn?.bytes ?? 0,
    ...(torn ? { droppedAt: { file: torn.file, offset: torn.offset } } : {}),
  };
  for (const name of names) {
    const f = parseName(name);
    if (f && f.kind !== 'tmp' && f.seq < base) await unlink(join(dir, name)).catch(() => undefined);
  }
  const logSeq = Math.max(base, maxLog);
  const path = join(dir, logName(logSeq));
  let log: FileHandle;
  let logBytes = 0;
  if (maxLog >= base) {
    log = await open(path, 'r+');
    logBytes = (await stat(path)).size;
  } else {
    log = await open(path, 'wx');
    await fsyncDir(dir);
  }
  return new EmbeddedEngine({ options, store, log, logSeq, logBytes, unlock, heldData, recovery });
}

