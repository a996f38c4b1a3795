// The log record format: op codes, header and CRC, building a record, finding valid ones, applying one to a Store.
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
//                                          | code 6 once: varint digestIndex, varint53 at (ms),
//                                            varint ttl (s) (keyIndex is the idempotency key)
// The string table holds keys and counter fields alike (keyIndex and fieldIndex point into it).
// varint is LEB128 of at most 5 bytes (values below 2^32); varint53 is the same with at most 8
// bytes (values below 2^53). Records written before counters existed (codes 0-3) read unchanged.
//
// A key holds either a bitmap or a counter hash, as in Redis. A record is checked against the
// state before it is applied: a set/clear on a counter hash, an increment of a bitmap or an
// increment past Number.MAX_SAFE_INTEGER rejects the whole record (its caller gets the error,
// memory is untouched). The check is deterministic, so replay skips the same records.

import { RoaringBitmap32 } from '../roaring.ts';
import type { BitWrite, CounterIncrement } from '../engine.ts';
import { Reader, Writer, crc32 } from './codec.ts';
import { assignId } from './store.ts';
import type { Store } from './store.ts';

export const MAX_OFFSET = 2 ** 32 - 1;
export const RECORD_HEADER = 8;
export const RECORD_VERSION = 1;
export const OP_CLEAR = 0;
export const OP_SET = 1;
export const OP_DELETE = 2;
export const OP_RESTORE = 3;
export const OP_INCREMENT = 4;
export const OP_ASSIGN = 5;
export const OP_ONCE = 6;

/** Idempotency keys forgotten once this many are held and expired (a sweep per record past it). */
const ONCE_SWEEP_AT = 10_000;

/** A record that the state check refused (wrong key type, counter overflow); it changed nothing. */
export class RejectedRecord extends Error {}

/** A record under an idempotency key already applied (and not expired at the record's time): it changed nothing. */
export class OnceApplied extends RejectedRecord {
  constructor(readonly sameDigest: boolean) {
    super(sameDigest ? 'idempotency key already applied' : 'idempotency key already applied to another batch');
  }
}

/** The idempotency key of a write record (Once, with the time it was written). */
export interface OnceRecord {
  readonly key: string;
  readonly digest: string;
  readonly at: number;
  readonly ttlSeconds: number;
}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

export function wrongType(key: string, holds: 'a counter hash' | 'a bitmap'): Error {
  return new Error(`${WRONGTYPE}: ${JSON.stringify(key)} holds ${holds}`);
}

export function checkOffset(offset: unknown): void {
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new RangeError(`bit offset is not an integer or out of range: ${String(offset)}`);
  }
}

function recordCrc(buf: Uint8Array, at: number, payloadLength: number): number {
  return crc32(buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + payloadLength), crc32(buf.subarray(at, at + 4)));
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

/** Bits and increments as one record (checks each write; throws before anything is built). */
export function writeRecord(writes: readonly BitWrite[], increments: readonly CounterIncrement[], once?: OnceRecord): Buffer {
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
  if (once) {
    intern(once.key);
    intern(once.digest);
  }
  const ops = writes.length + increments.length + (once ? 1 : 0);
  const rec = recordWriter([...strings.keys()], ops, ops * 8 + 16);
  // First: a record already applied under its key is refused before its other ops are checked.
  if (once) {
    rec.u8(OP_ONCE);
    rec.varint(strings.get(once.key)!);
    rec.varint(strings.get(once.digest)!);
    rec.varint53(once.at);
    rec.varint(once.ttlSeconds);
  }
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
  return finishRecord(rec);
}

/** Deletes the given keys (distinct). */
export function deleteRecord(keys: readonly string[]): Buffer {
  const rec = recordWriter(keys, keys.length, keys.length * 4);
  keys.forEach((_, i) => {
    rec.u8(OP_DELETE);
    rec.varint(i);
  });
  return finishRecord(rec);
}

/** Replaces `key` with a bitmap given as roaring portable bytes. */
export function restoreRecord(key: string, portable: Uint8Array): Buffer {
  const rec = recordWriter([key], 1, portable.length + 8);
  rec.u8(OP_RESTORE);
  rec.varint(0);
  rec.varint(portable.length);
  rec.bytes(portable);
  return finishRecord(rec);
}

/** A log record of id assignments. */
export function assignRecord(pairs: ReadonlyArray<readonly [string, number]>): Buffer {
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

/** End of the valid record starting at `at`, or -1 when there is none there. */
export function validRecordEnd(buf: Buffer, at: number): number {
  if (at + RECORD_HEADER > buf.length) return -1;
  const length = buf.readUInt32LE(at);
  if (length < 1 || at + RECORD_HEADER + length > buf.length) return -1;
  if (buf[at + RECORD_HEADER] !== RECORD_VERSION) return -1;
  if (recordCrc(buf, at, length) !== buf.readUInt32LE(at + 4)) return -1;
  return at + RECORD_HEADER + length;
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
      case OP_ONCE: {
        const digest = stringAt(h.strings, r.varint());
        const at = r.varint53();
        r.varint();
        const held = store.once?.get(key);
        if (held && held.expires > at) throw new OnceApplied(held.digest === digest);
        break;
      }
      default:
        throw new Error(`unknown log op ${code}`);
    }
  }
  if (r.pos !== payload.length) throw new Error('log record has trailing bytes');
}

/**
 * Applies one record payload (the record without its 8-byte header) to memory: all ops or, when
 * rejected (RejectedRecord), none. Returns how many deleted keys existed.
 */
export function applyPayload(store: Store, payload: Buffer): number {
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
      case OP_ONCE: {
        const digest = keys[r.varint()]!;
        const at = r.varint53();
        const expires = at + r.varint() * 1000;
        store.once ??= new Map();
        if (store.once.size >= ONCE_SWEEP_AT) {
          for (const [k, v] of store.once) if (v.expires <= at) store.once.delete(k);
        }
        store.once.set(key, { digest, expires });
        break;
      }
    }
  }
  return existed;
}
