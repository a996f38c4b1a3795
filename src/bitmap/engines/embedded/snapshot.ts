// Snapshots: every bitmap, counter hash and string id of a Store in one CRC-checked file, written crash-safely.
//
// Snapshot:     "BMQLSNP1" | u32le count | count × (u32le keyLength, key, u32le length,
//               roaring portable bytes) | [counter section] | [id section] | u32le crc32 of everything before it
// Counter section (present only when a counter hash exists; snapshots without one read as
// before): "CNT1" | u32le hashCount | hashCount × (u32le keyLength, key, u32le fieldCount,
//               fieldCount × (u32le fieldLength, field, f64le value))
// Id section (present only when a string id was assigned): "IDS1" | u32le count | count ×
//               (u32le externalLength, external id, u32le id)
// Idempotency section (present only when an idempotency key has not expired): "ONC1" |
//               u32le count | count × (u32le keyLength, key, u32le digestLength, digest,
//               f64le expiry in ms since the epoch)

import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RoaringBitmap32 } from '../roaring.ts';
import type { Bitmap } from '../roaring.ts';
import { Reader, Writer, crc32 } from './codec.ts';
import { fsyncDir, parseName, snapshotName, writeAll } from './files.ts';
import { assignId, emptyIds } from './store.ts';
import type { Counters, IdMap, Store } from './store.ts';

export type CompactionStep = 'log-switched' | 'snapshot-written' | 'snapshot-renamed' | 'cleaned';

const SNAPSHOT_MAGIC = Buffer.from('BMQLSNP1', 'latin1');
const COUNTER_SECTION = Buffer.from('CNT1', 'latin1');
const ID_SECTION = Buffer.from('IDS1', 'latin1');
const ONCE_SECTION = Buffer.from('ONC1', 'latin1');

export function parseSnapshot(buf: Buffer, file: string): Store {
  if (buf.length < SNAPSHOT_MAGIC.length + 8 || !buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new Error(`${file}: not a snapshot (bad magic or too short)`);
  }
  const body = buf.length - 4;
  if (crc32(buf.subarray(0, body)) !== buf.readUInt32LE(body)) throw new Error(`${file}: snapshot CRC mismatch`);
  try {
    return readBody(new Reader(buf.subarray(SNAPSHOT_MAGIC.length, body), 'snapshot'));
  } catch (e) {
    // Its CRC matches, so it was written that way: say which file, and keep the cause.
    throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Everything between the magic and the CRC trailer. */
function readBody(r: Reader): Store {
  const bitmaps = new Map<string, Bitmap>();
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const key = r.string32();
    const bm = RoaringBitmap32.deserialize(r.bytes(r.u32()), 'portable');
    if (!bm.isEmpty) bitmaps.set(key, bm);
  }
  const counters: Counters = new Map();
  if (r.at(COUNTER_SECTION)) {
    r.pos += COUNTER_SECTION.length;
    const hashCount = r.u32();
    for (let i = 0; i < hashCount; i++) {
      const key = r.string32();
      const fieldCount = r.u32();
      const hash = new Map<string, number>();
      for (let j = 0; j < fieldCount; j++) {
        const field = r.string32();
        const value = r.f64();
        if (!Number.isSafeInteger(value)) throw new Error(`counter ${key} ${field} is not a safe integer`);
        hash.set(field, value);
      }
      if (hash.size && !bitmaps.has(key)) counters.set(key, hash);
    }
  }
  const ids = emptyIds();
  if (r.at(ID_SECTION)) {
    r.pos += ID_SECTION.length;
    const idCount = r.u32();
    for (let i = 0; i < idCount; i++) {
      const external = r.string32();
      assignId(ids, external, r.u32());
    }
  }
  let once: Store['once'];
  if (r.at(ONCE_SECTION)) {
    r.pos += ONCE_SECTION.length;
    once = new Map();
    const onceCount = r.u32();
    for (let i = 0; i < onceCount; i++) {
      const key = r.string32();
      const digest = r.string32();
      once.set(key, { digest, expires: r.f64() });
    }
  }
  if (r.remaining !== 0) throw new Error('snapshot length does not match its contents');
  return once ? { bitmaps, counters, ids, once } : { bitmaps, counters, ids };
}

/**
 * The snapshot of `store` without its CRC trailer, as pieces: bitmaps are serialized now and
 * counters, ids and idempotency keys unexpired at `now` copied out now (memory keeps changing
 * while the pieces are written). A bitmap's bytes stay a piece of their own, so a large one is
 * not copied again.
 */
export function serializeAll(store: Store, now = Date.now()): Buffer[] {
  const head = new Writer(SNAPSHOT_MAGIC.length + 4);
  head.bytes(SNAPSHOT_MAGIC);
  head.u32(0); // the count, once known
  const pieces: Buffer[] = [head.done()];
  let count = 0;
  for (const [key, bm] of store.bitmaps) {
    if (bm.isEmpty) continue;
    bm.runOptimize();
    const serialized = bm.serialize('portable');
    const body = Buffer.from(serialized.buffer, serialized.byteOffset, serialized.byteLength);
    const meta = new Writer(8 + Buffer.byteLength(key));
    meta.string32(key);
    meta.u32(body.length);
    pieces.push(meta.done(), body);
    count++;
  }
  pieces[0]!.writeUInt32LE(count, SNAPSHOT_MAGIC.length);
  if (store.counters.size) pieces.push(serializeCounters(store.counters));
  if (store.ids.idOf.size) pieces.push(serializeIds(store.ids));
  const once = [...(store.once ?? [])].filter(([, v]) => v.expires > now);
  if (once.length) pieces.push(serializeOnce(once));
  return pieces;
}

/** The snapshot's idempotency section: a retry after a restart is recognised however old the log. */
function serializeOnce(once: ReadonlyArray<readonly [string, { digest: string; expires: number }]>): Buffer {
  const w = new Writer(64 * once.length);
  w.bytes(ONCE_SECTION);
  w.u32(once.length);
  for (const [key, { digest, expires }] of once) {
    w.string32(key);
    w.string32(digest);
    w.f64(expires);
  }
  return w.done();
}

/** The snapshot's counter section. */
function serializeCounters(counters: Counters): Buffer {
  const w = new Writer(64 * counters.size);
  w.bytes(COUNTER_SECTION);
  w.u32(counters.size);
  for (const [key, hash] of counters) {
    w.string32(key);
    w.u32(hash.size);
    for (const [field, value] of hash) {
      w.string32(field);
      w.f64(value);
    }
  }
  return w.done();
}

/** The snapshot's id section. */
function serializeIds(ids: IdMap): Buffer {
  const w = new Writer(32 * ids.idOf.size);
  w.bytes(ID_SECTION);
  w.u32(ids.idOf.size);
  for (const [external, id] of ids.idOf) {
    w.string32(external);
    w.u32(id);
  }
  return w.done();
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
