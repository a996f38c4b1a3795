// Snapshots: the bytes of an existing data folder's snapshot read back and written again identically; round trips; crash-safe writing.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../src/bitmap/engines/embedded/codec.ts';
import { openEmbeddedEngine } from '../../../src/bitmap/engines/embedded/index.ts';
import { parseSnapshot, serializeAll, writeSnapshot } from '../../../src/bitmap/engines/embedded/snapshot.ts';
import type { CompactionStep } from '../../../src/bitmap/engines/embedded/snapshot.ts';
import { assignId, emptyStore } from '../../../src/bitmap/engines/embedded/store.ts';
import type { Store } from '../../../src/bitmap/engines/embedded/store.ts';
import { RoaringBitmap32 } from '../../../src/bitmap/engines/roaring.ts';
import { rng } from '../../rng.ts';
import { plain, sorted, tempDir } from './helpers.ts';

/**
 * Written by embedded.ts before the split (commit a3e9775), whose snapshot code read and wrote
 * its length-prefixed strings by hand: four bitmaps, two counter hashes, three string ids.
 */
const V1 = Buffer.from(readFileSync(new URL('./fixtures/snapshot-v1.hex', import.meta.url), 'utf8').trim(), 'hex');

/** What the writer of the fixture put in it, worked out by hand. */
const V1_CONTENTS = {
  bitmaps: {
    'trackist_active_2024-01': [3, 70_000, 2 ** 32 - 1],
    'trackist_ünïcode_W2024-5': [0],
    'trackist_run_2024-01-02': Array.from({ length: 100 }, (_, i) => 100 + i),
    trackist_after: [1],
  },
  counters: {
    bitmapist_counts_x: { a: 5, ß: -Number.MAX_SAFE_INTEGER },
    bitmapist_counts_y: { z: 0 },
  },
  ids: { alice: 0, bob: 1, 日本: 2 },
};

/** A whole snapshot file's bytes, as writeSnapshot writes them. */
function snapshotBytes(store: Store, now?: number): Buffer {
  const body = Buffer.concat(serializeAll(store, now));
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(body), 0);
  return Buffer.concat([body, trailer]);
}

describe('snapshot', () => {
  it('reads a snapshot written before the shared codec, and writes the same bytes back', () => {
    const store = parseSnapshot(V1, 'snapshot-v1.bin');
    expect(plain(store)).toEqual(V1_CONTENTS);
    expect(store.ids.next).toBe(3);
    expect(snapshotBytes(store).equals(V1)).toBe(true);
  });

  it('a data folder holding that snapshot opens with its contents', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'snapshot-0000000002.bin'), V1);
    writeFileSync(join(dir, 'log-0000000002.wal'), Buffer.alloc(0));
    const engine = await openEmbeddedEngine({ dir, fsync: 'os', log: () => undefined });
    try {
      for (const [key, members] of Object.entries(V1_CONTENTS.bitmaps)) {
        // a scan, not dump(): dump of a bitmap holding 2^32-1 is 512 MiB
        const [page] = await engine.run({ registers: 0, instructions: [{ op: 'scan', src: { key }, after: -1, limit: 1e9 }] });
        expect((page as { ids: number[] }).ids).toEqual(members);
      }
      expect(await engine.externalIds([0, 1, 2, 3])).toEqual(['alice', 'bob', '日本', null]);
      expect(await engine.resolveIds(['carol'], true)).toEqual([3]);
      expect(engine.recovery.replayedRecords).toBe(0);
    } finally {
      await engine.close();
    }
  });

  it('round trip: random bitmaps, counters and ids come back as plain Sets and Maps say', () => {
    const random = rng(11);
    const store = emptyStore();
    const want: ReturnType<typeof plain> = { bitmaps: {}, counters: {}, ids: {} };
    for (let k = 0; k < 30; k++) {
      const members = Array.from({ length: 1 + Math.floor(random() * 500) }, () =>
        random() < 0.5 ? Math.floor(random() * 1000) : Math.floor(random() * 2 ** 32),
      );
      const key = `bm:${k}:${'é'.repeat(k)}`;
      store.bitmaps.set(key, new RoaringBitmap32(members));
      want.bitmaps[key] = sorted(members);
    }
    store.bitmaps.set('empty', new RoaringBitmap32()); // left out: an empty bitmap is no key
    for (let h = 0; h < 5; h++) {
      const hash = new Map<string, number>();
      for (let f = 0; f < 4; f++) hash.set(`f${f}`, Math.floor((random() - 0.5) * 2 ** 53));
      store.counters.set(`h${h}`, hash);
      want.counters[`h${h}`] = Object.fromEntries(hash);
    }
    for (let i = 0; i < 50; i++) {
      const id = Math.floor(random() * 2 ** 32);
      assignId(store.ids, `user-${i}-${id}`, id);
      want.ids[`user-${i}-${id}`] = id;
    }
    const back = parseSnapshot(snapshotBytes(store), 'x');
    expect(plain(back)).toEqual(want);
    expect(back.ids.next).toBe(store.ids.next);
  });

  it('keeps the idempotency keys unexpired when the snapshot is taken, and only those', () => {
    const store: Store = {
      ...emptyStore(),
      once: new Map([
        ['live', { digest: 'd-live', expires: 2_000 }],
        ['gone', { digest: 'd-gone', expires: 1_000 }],
        ['édge', { digest: 'd-edge', expires: 1_001 }],
      ]),
    };
    const back = parseSnapshot(snapshotBytes(store, 1_000), 'x');
    expect([...(back.once ?? [])]).toEqual([
      ['live', { digest: 'd-live', expires: 2_000 }],
      ['édge', { digest: 'd-edge', expires: 1_001 }],
    ]);
    // None left: no section, the same bytes as a store that never had one.
    expect(snapshotBytes(store, 2_000)).toEqual(snapshotBytes(emptyStore()));
  });

  it('an empty store: magic, a zero count and the CRC, and no sections', () => {
    const bytes = snapshotBytes(emptyStore());
    expect(bytes.length).toBe(16);
    expect(plain(parseSnapshot(bytes, 'x'))).toEqual(plain(emptyStore()));
  });

  it('refuses a bad magic, a bad CRC, and contents that do not fill the file, naming the file', () => {
    expect(() => parseSnapshot(Buffer.from('NOTASNAPSHOT1234'), 'f.bin')).toThrow('f.bin: not a snapshot');
    const flipped = Buffer.from(V1);
    flipped[40]! ^= 4;
    expect(() => parseSnapshot(flipped, 'f.bin')).toThrow('f.bin: snapshot CRC mismatch');
    // a count one too high, with a CRC that matches: the contents run out
    const body = Buffer.from(V1.subarray(0, V1.length - 4));
    body.writeUInt32LE(body.readUInt32LE(8) + 1, 8);
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(crc32(body), 0);
    expect(() => parseSnapshot(Buffer.concat([body, trailer]), 'f.bin')).toThrow(/^f\.bin: /);
    // bytes after the last section
    const extra = Buffer.concat([V1.subarray(0, V1.length - 4), Buffer.from([0])]);
    const extraCrc = Buffer.alloc(4);
    extraCrc.writeUInt32LE(crc32(extra), 0);
    expect(() => parseSnapshot(Buffer.concat([extra, extraCrc]), 'f.bin')).toThrow(
      'f.bin: snapshot length does not match its contents',
    );
  });

  it('writeSnapshot: through a .tmp file, renamed, then older files removed, each step reported', async () => {
    const dir = tempDir();
    for (const name of ['snapshot-0000000001.bin', 'log-0000000001.wal', 'log-0000000002.wal', 'LOCK']) {
      writeFileSync(join(dir, name), 'x');
    }
    const steps: Array<[CompactionStep, string[]]> = [];
    const store = parseSnapshot(V1, 'v1');
    await writeSnapshot(dir, 2, serializeAll(store), (step) => void steps.push([step, readdirSync(dir).sort()]));
    expect(steps).toEqual([
      ['snapshot-written', ['LOCK', 'log-0000000001.wal', 'log-0000000002.wal', 'snapshot-0000000001.bin', 'snapshot-0000000002.bin.tmp']],
      ['snapshot-renamed', ['LOCK', 'log-0000000001.wal', 'log-0000000002.wal', 'snapshot-0000000001.bin', 'snapshot-0000000002.bin']],
      ['cleaned', ['LOCK', 'log-0000000002.wal', 'snapshot-0000000002.bin']],
    ]);
    expect(readFileSync(join(dir, 'snapshot-0000000002.bin')).equals(V1)).toBe(true);
  });

  it('writeSnapshot: a failed write leaves no .tmp file behind', async () => {
    const dir = tempDir();
    // a piece that is not a Buffer makes the write throw midway
    const pieces = [...serializeAll(parseSnapshot(V1, 'v1')), 'not a buffer' as unknown as Buffer];
    await expect(writeSnapshot(dir, 3, pieces)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'snapshot-0000000003.bin'))).toBe(false);
  });
});
