// Snapshots: every bitmap, counter hash and string id of a Store in one CRC-checked file, written crash-safely.
//
// Snapshot:     "BMQLSNP1" | u32le count | count × (u32le keyLength, key, u32le length,
//               roaring portable bytes) | [counter section] | [id section] | u32le crc32 of everything before it
// Counter section (present only when a counter hash exists; snapshots without one read as
// before): "CNT1" | u32le hashCount | hashCount × (u32le keyLength, key, u32le fieldCount,
//               fieldCount × (u32le fieldLength, field, f64le value))
// Id section (present only when a string id was assigned): "IDS1" | u32le count | count ×
//               (u32le externalLength, external id, u32le id)

import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RoaringBitmap32 } from '../roaring.ts';
import type { Bitmap } from '../roaring.ts';
import { crc32 } from './codec.ts';
import { fsyncDir, parseName, snapshotName, writeAll } from './files.ts';
import { assignId, emptyIds } from './store.ts';
import type { Counters, IdMap, Store } from './store.ts';

export type CompactionStep = 'log-switched' | 'snapshot-written' | 'snapshot-renamed' | 'cleaned';

const SNAPSHOT_MAGIC = Buffer.from('BMQLSNP1', 'latin1');
const COUNTER_SECTION = Buffer.from('CNT1', 'latin1');
const ID_SECTION = Buffer.from('IDS1', 'latin1');

export function parseSnapshot(buf: Buffer, file: string): Store {
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

/**
 * The snapshot of `store` without its CRC trailer, as pieces: bitmaps are serialized now and
 * counters and ids copied out now (memory keeps changing while the pieces are written).
 */
export function serializeAll(store: Store): Buffer[] {
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

/**
 * Writes snapshot-<seq>.bin from serializeAll's pieces: into a .tmp file, fsynced, renamed, the
 * folder fsynced, and only then are files with a lower seq deleted. A crash at any step leaves
 * either the older snapshot with its logs or the new one, both complete.
 */
export async function writeSnapshot(
  dir: string,
  seq: number,
  pieces: Buffer[],
  onStep?: (step: CompactionStep) => void | Promise<void>,
): Promise<void> {
  const final = join(dir, snapshotName(seq));
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
  await onStep?.('snapshot-written');
  await rename(tmp, final);
  await fsyncDir(dir);
  await onStep?.('snapshot-renamed');
  for (const name of await readdir(dir)) {
    const f = parseName(name);
    if (f && f.kind !== 'tmp' && f.seq < seq) await unlink(join(dir, name)).catch(() => undefined);
  }
  await onStep?.('cleaned');
}
