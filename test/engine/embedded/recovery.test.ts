// Recovery of a data folder on its own: snapshot + logs replayed, a torn tail dropped and reported, a corrupt middle refused, HELD-DATA.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../src/bitmap/engines/embedded/codec.ts';
import { HELD_DATA_FILE } from '../../../src/bitmap/engines/embedded/files.ts';
import { RECORD_HEADER, deleteRecord, writeRecord } from '../../../src/bitmap/engines/embedded/records.ts';
import { recoverFolder, tailRecords } from '../../../src/bitmap/engines/embedded/recovery.ts';
import type { Recovered } from '../../../src/bitmap/engines/embedded/recovery.ts';
import { serializeAll } from '../../../src/bitmap/engines/embedded/snapshot.ts';
import { emptyStore } from '../../../src/bitmap/engines/embedded/store.ts';
import { RoaringBitmap32 } from '../../../src/bitmap/engines/roaring.ts';
import { plain, tempDir } from './helpers.ts';

const set = (key: string, ...offsets: number[]): Buffer =>
  writeRecord(
    offsets.map((offset) => ({ key, offset, bit: 1 })),
    [],
  );

type Line = Record<string, unknown>;

/** Recovers `dir`, closing the log it opens; returns what it found and the lines it logged. */
async function recover(dir: string): Promise<{ found: Omit<Recovered, 'log'>; lines: Line[] }> {
  const lines: Line[] = [];
  const { log, ...found } = await recoverFolder(dir, (l) => lines.push(l));
  await log.close();
  return { found, lines };
}

function snapshotFile(bitmaps: Record<string, number[]>): Buffer {
  const store = emptyStore();
  for (const [k, members] of Object.entries(bitmaps)) store.bitmaps.set(k, new RoaringBitmap32(members));
  const body = Buffer.concat(serializeAll(store));
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(body), 0);
  return Buffer.concat([body, trailer]);
}

const LOG0 = 'log-0000000000.wal';

describe('recovery', () => {
  it('an empty folder: an empty store, a new log-0, and no HELD-DATA', async () => {
    const dir = tempDir();
    const { found, lines } = await recover(dir);
    expect(plain(found.store)).toEqual(plain(emptyStore()));
    expect(found).toMatchObject({ logSeq: 0, logBytes: 0, heldData: false });
    expect(found.recovery).toEqual({ replayedRecords: 0, droppedRecords: 0, droppedBytes: 0 });
    expect(readdirSync(dir)).toEqual([LOG0]);
    expect(lines).toEqual([]);
  });

  it('replays every record of the logs over the newest snapshot; older files and .tmp files go', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'snapshot-0000000001.bin'), snapshotFile({ old: [1] }));
    writeFileSync(join(dir, 'snapshot-0000000002.bin'), snapshotFile({ a: [1, 2], gone: [5] }));
    writeFileSync(join(dir, 'log-0000000001.wal'), set('never-read', 9));
    writeFileSync(join(dir, 'log-0000000002.wal'), Buffer.concat([set('a', 3), deleteRecord(['gone'])]));
    writeFileSync(join(dir, 'log-0000000003.wal'), set('b', 4));
    writeFileSync(join(dir, 'snapshot-0000000003.bin.tmp'), 'half');
    const { found } = await recover(dir);
    expect(plain(found.store).bitmaps).toEqual({ a: [1, 2, 3], b: [4] });
    expect(found.recovery.replayedRecords).toBe(3);
    expect(found).toMatchObject({ logSeq: 3, logBytes: set('b', 4).length, heldData: true });
    expect(readdirSync(dir).sort()).toEqual([HELD_DATA_FILE, 'log-0000000002.wal', 'log-0000000003.wal', 'snapshot-0000000002.bin']);
  });

  it('a snapshot that fails its CRC: the older snapshot and its logs are used instead', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'snapshot-0000000001.bin'), snapshotFile({ a: [1] }));
    const bad = snapshotFile({ a: [1, 2] });
    bad[12]! ^= 1;
    writeFileSync(join(dir, 'snapshot-0000000002.bin'), bad);
    writeFileSync(join(dir, 'log-0000000001.wal'), set('a', 2));
    writeFileSync(join(dir, 'log-0000000002.wal'), set('a', 3));
    const { found } = await recover(dir);
    expect(plain(found.store).bitmaps).toEqual({ a: [1, 2, 3] });
  });

  it('a torn tail of the last log is dropped, the file cut to its last good record, the drop logged and reported', async () => {
    const dir = tempDir();
    const good = [set('a', 1), set('a', 2), set('b', 3)];
    const torn = set('c', 4, 5, 6);
    const goodBytes = Buffer.concat(good).length;
    writeFileSync(join(dir, LOG0), Buffer.concat([...good, torn.subarray(0, torn.length - 3)]));
    const { found, lines } = await recover(dir);
    expect(plain(found.store).bitmaps).toEqual({ a: [1, 2], b: [3] });
    expect(found.recovery).toEqual({
      replayedRecords: 3,
      droppedRecords: 1,
      droppedBytes: torn.length - 3,
      droppedAt: { file: LOG0, offset: goodBytes },
    });
    expect(found.logBytes).toBe(goodBytes);
    expect(statSync(join(dir, LOG0)).size).toBe(goodBytes);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', dir, file: LOG0, offset: goodBytes, bytes: torn.length - 3, records: 1 }),
    ]);
  });

  it('tailRecords follows the headers of a dropped tail: whole records, then a cut one', () => {
    const tail = Buffer.concat([set('x', 1), set('y', 2), set('z', 3).subarray(0, 5)]);
    expect(tailRecords(tail, 0)).toBe(3);
    expect(tailRecords(Buffer.alloc(RECORD_HEADER + 4), 0)).toBe(1); // a zero length ends the walk
  });

  it('a corrupt record followed by a valid one is refused, and the folder is left as it was', async () => {
    const dir = tempDir();
    const records = [set('a', 1), set('a', 2), set('a', 3)];
    const bytes = Buffer.concat(records);
    bytes[records[0]!.length + RECORD_HEADER + 3]! ^= 0x10; // inside the second record's payload
    writeFileSync(join(dir, LOG0), bytes);
    writeFileSync(join(dir, HELD_DATA_FILE), '');
    await expect(recover(dir)).rejects.toThrow(
      `${LOG0}: corrupt record at byte ${records[0]!.length} is followed by a valid record at byte ${records[0]!.length + records[1]!.length}`,
    );
    expect(readFileSync(join(dir, LOG0)).equals(bytes)).toBe(true);
  });

  it('a corrupt record in a log that newer logs follow is refused', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOG0), set('a', 1).subarray(0, 10));
    writeFileSync(join(dir, 'log-0000000001.wal'), set('a', 2));
    await expect(recover(dir)).rejects.toThrow(/corrupt record at byte 0 of 10 in a log that is followed by newer logs/);
  });

  it('a missing log between the snapshot and the newest log is refused', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOG0), set('a', 1));
    writeFileSync(join(dir, 'log-0000000002.wal'), set('a', 2));
    await expect(recover(dir)).rejects.toThrow(/no recoverable state .*missing log-0000000001\.wal/);
  });

  it('HELD-DATA with no snapshot and no record is refused (a log cut to 0 bytes), untouched; without HELD-DATA it opens empty', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOG0), set('a', 1).subarray(0, 6));
    writeFileSync(join(dir, HELD_DATA_FILE), 'x');
    await expect(recover(dir)).rejects.toThrow(/has held data \(it contains HELD-DATA\).*the last 6 bytes of log-0000000000\.wal are not a valid record/);
    expect(statSync(join(dir, LOG0)).size).toBe(6); // nothing repaired
    const empty = tempDir();
    writeFileSync(join(empty, LOG0), '');
    const { found } = await recover(empty);
    expect(found.heldData).toBe(false);
    expect(existsSync(join(empty, HELD_DATA_FILE))).toBe(false);
  });

  it('a folder with data but no HELD-DATA (written before the marker existed) gets one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOG0), set('a', 1));
    const { found } = await recover(dir);
    expect(found.heldData).toBe(true);
    expect(existsSync(join(dir, HELD_DATA_FILE))).toBe(true);
  });

  it('a record the state check rejects is skipped on replay, as it was when first written', async () => {
    const dir = tempDir();
    const intoHash = writeRecord([{ key: 'h', offset: 7, bit: 1 }, { key: 'a', offset: 9, bit: 1 }], []);
    writeFileSync(join(dir, LOG0), Buffer.concat([writeRecord([], [{ key: 'h', field: 'f', by: 2 }]), intoHash, set('a', 1)]));
    const { found } = await recover(dir);
    expect(plain(found.store)).toMatchObject({ bitmaps: { a: [1] }, counters: { h: { f: 2 } } });
    expect(found.recovery.replayedRecords).toBe(3);
  });
});
