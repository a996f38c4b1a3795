// Embedded engine: reopen, torn and corrupt logs, compaction (including crash images of each step).
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { CompactionStep, EmbeddedOptions } from '../../src/bitmap/engines/embedded/index.ts';
import { Model, contents } from './embedded-model.ts';
import type { State } from './embedded-model.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bitmapql-embedded-dur-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const batch = (n: number, size = 20): BitWrite[] =>
  Array.from({ length: size }, (_, j): BitWrite => ({
    key: `k${n % 5}`,
    offset: (n * 7919 + j * 104729) % 5_000_000,
    bit: j % 4 === 3 ? 0 : 1,
  }));

const logFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
const snapshotFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();

describe('embedded engine: durability', () => {
  it('reopens with the same data (all fsync modes)', async () => {
    for (const fsync of ['always', 'interval', 'os'] as const) {
      const dir = tempDir();
      const model = new Model();
      let engine = await openEmbeddedEngine({ dir, fsync, fsyncIntervalMs: 5 });
      for (let i = 0; i < 30; i++) {
        model.apply(batch(i));
        await engine.write(batch(i));
      }
      await engine.restore('restored', Buffer.from([0xff, 0x00, 0x01]));
      model.apply([...Array(8).keys()].map((o): BitWrite => ({ key: 'restored', offset: o, bit: 1 })));
      model.apply([{ key: 'restored', offset: 23, bit: 1 }]);
      expect(await engine.delete(['k4', 'nope'])).toBe(1);
      model.sets.delete('k4');
      const before = await contents(engine);
      expect(before).toEqual(model.state());
      await engine.close();
      expect(await engine.ready()).toBe(false);
      await expect(engine.write(batch(0))).rejects.toThrow(/closed/);
      engine = await openEmbeddedEngine({ dir, fsync });
      expect(await contents(engine)).toEqual(before);
      await engine.close();
    }
  });

  it('acknowledges concurrent writers in every mode and keeps them all', async () => {
    for (const fsync of ['always', 'interval', 'os'] as const) {
      const dir = tempDir();
      const model = new Model();
      let engine = await openEmbeddedEngine({ dir, fsync, fsyncIntervalMs: 5, compactAfterBytes: 8 * 1024 });
      const all: Promise<void>[] = [];
      for (let i = 0; i < 400; i++) {
        model.apply(batch(i, 10));
        all.push(engine.write(batch(i, 10)));
      }
      await Promise.all(all);
      expect(await contents(engine)).toEqual(model.state());
      await engine.close();
      engine = await openEmbeddedEngine({ dir, fsync });
      expect(await contents(engine)).toEqual(model.state());
      expect(snapshotFiles(dir).length).toBeLessThanOrEqual(1);
      await engine.close();
    }
  });

  it('drops a torn last record and keeps the earlier ones', async () => {
    const dir = tempDir();
    const a: BitWrite[] = [{ key: 'a', offset: 1, bit: 1 }];
    const b: BitWrite[] = [{ key: 'b', offset: 2, bit: 1 }, { key: 'a', offset: 3, bit: 1 }];
    const c: BitWrite[] = [
      { key: 'c', offset: 4, bit: 1 },
      { key: 'a', offset: 5, bit: 1 },
      { key: 'a', offset: 1, bit: 0 },
    ];
    let engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    await engine.write(a);
    await engine.write(b);
    const [log] = logFiles(dir);
    const lengthAB = statSync(join(dir, log!)).size;
    await engine.write(c);
    await engine.close();

    truncateSync(join(dir, log!), statSync(join(dir, log!)).size - 3);
    engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    // c is gone as a whole: a's bit 1 is not cleared, nothing of c is set
    expect(await contents(engine)).toEqual({ a: [1, 3], b: [2] });
    expect(statSync(join(dir, log!)).size).toBe(lengthAB);
    // the repaired log takes new records
    await engine.write([{ key: 'd', offset: 9, bit: 1 }]);
    await engine.close();
    engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    expect(await contents(engine)).toEqual({ a: [1, 3], b: [2], d: [9] });
    await engine.close();
  });

  it('drops garbage appended after the last record (random bytes, zeros, a short header)', async () => {
    const dir = tempDir();
    let engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    for (let i = 0; i < 10; i++) await engine.write(batch(i));
    const expected = await contents(engine);
    await engine.close();
    const log = join(dir, logFiles(dir)[0]!);
    const good = statSync(log).size;
    let seed = 12345;
    const random = Buffer.from(Array.from({ length: 300 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    for (const garbage of [random, Buffer.alloc(4096), Buffer.from([0x10, 0x00, 0x00])]) {
      appendFileSync(log, garbage);
      engine = await openEmbeddedEngine({ dir, fsync: 'always' });
      expect(await contents(engine)).toEqual(expected);
      expect(statSync(log).size).toBe(good);
      await engine.close();
    }
  });

  it('refuses to open when a corrupt record is followed by valid ones', async () => {
    const dir = tempDir();
    const engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    for (let i = 0; i < 5; i++) await engine.write(batch(i));
    await engine.close();
    const log = join(dir, logFiles(dir)[0]!);
    const bytes = readFileSync(log);
    const original = Buffer.from(bytes);
    bytes[20] = bytes[20]! ^ 0xff; // inside the first record's payload
    writeFileSync(log, bytes);
    await expect(openEmbeddedEngine({ dir, fsync: 'always' })).rejects.toThrow(/corrupt record at byte 0 .*followed by a valid record/);
    // the file is left untouched for inspection
    expect(readFileSync(log)).toEqual(bytes);

    // a bad tail in a log that is not the last one is corruption too
    writeFileSync(log, original.subarray(0, original.length - 2));
    writeFileSync(join(dir, 'log-0000000001.wal'), original);
    await expect(openEmbeddedEngine({ dir, fsync: 'always' })).rejects.toThrow(/followed by newer logs/);
  });

  it('fails every pending write when the log cannot be written, and recovers on reopen', async () => {
    const dir = tempDir();
    const engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    await engine.write(batch(1));
    const before = await contents(engine);
    // pull the file out from under the writer
    await (engine as unknown as { writer: { file: { close(): Promise<void> } } }).writer.file.close();
    const pending = [engine.write(batch(2)), engine.write(batch(3)), engine.delete(['k1'])];
    for (const p of pending) await expect(p).rejects.toThrow(/embedded engine failed/);
    expect(await engine.ready()).toBe(false);
    await expect(engine.write(batch(4))).rejects.toThrow(/embedded engine failed/);
    await engine.close();
    const reopened = await openEmbeddedEngine({ dir, fsync: 'always' });
    expect(await contents(reopened)).toEqual(before);
    await reopened.close();
  });

  it('refuses to open when a log in the chain is missing', async () => {
    const dir = tempDir();
    const engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    await engine.write(batch(1));
    await engine.close();
    cpSync(join(dir, 'log-0000000000.wal'), join(dir, 'log-0000000002.wal'));
    await expect(openEmbeddedEngine({ dir, fsync: 'always' })).rejects.toThrow(/missing log-0000000001.wal/);
  });

  it('compacts into a snapshot and keeps the data; every crash image of a compaction recovers', async () => {
    const dir = tempDir();
    const images: { dir: string; step: CompactionStep; expected: State }[] = [];
    const model = new Model();
    const options: EmbeddedOptions = {
      dir,
      fsync: 'always',
      compactAfterBytes: 2048,
      onCompactionStep: (step) => {
        if (images.filter((i) => i.step === step).length >= 3) return;
        const copy = tempDir();
        cpSync(dir, copy, { recursive: true });
        images.push({ dir: copy, step, expected: model.state() });
      },
    };
    const engine = await openEmbeddedEngine(options);
    for (let i = 0; i < 120; i++) {
      model.apply(batch(i));
      await engine.write(batch(i));
      if (i % 40 === 39) await engine.delete([`k${i % 5}`]).then(() => model.sets.delete(`k${i % 5}`));
      await engine.idle();
    }
    expect(engine.lastCompactionError).toBeNull();
    expect(new Set(images.map((i) => i.step))).toEqual(new Set(['log-switched', 'snapshot-written', 'snapshot-renamed', 'cleaned']));
    // old files are gone: one snapshot and its log
    expect(snapshotFiles(dir)).toHaveLength(1);
    expect(logFiles(dir)).toHaveLength(1);
    expect(snapshotFiles(dir)[0]!.slice(9, 19)).toBe(logFiles(dir)[0]!.slice(4, 14));
    const final = await contents(engine);
    expect(final).toEqual(model.state());
    await engine.close();

    const reopened = await openEmbeddedEngine({ dir, fsync: 'always' });
    expect(await contents(reopened)).toEqual(final);
    await reopened.close();

    for (const image of images) {
      const e = await openEmbeddedEngine({ dir: image.dir, fsync: 'always' });
      expect(await contents(e), image.step).toEqual(image.expected);
      expect(readdirSync(image.dir).some((f) => f.endsWith('.tmp'))).toBe(false);
      await e.close();
    }
  });

  it('falls back to the previous snapshot when the newest one is damaged', async () => {
    const dir = tempDir();
    const model = new Model();
    let keepImage: string | null = null;
    const engine = await openEmbeddedEngine({
      dir,
      fsync: 'always',
      compactAfterBytes: 1024,
      onCompactionStep: (step) => {
        // the moment after the new snapshot is renamed, before old files are deleted
        if (step === 'snapshot-renamed' && snapshotFiles(dir).length === 2 && !keepImage) {
          keepImage = tempDir();
          cpSync(dir, keepImage, { recursive: true });
        }
      },
    });
    for (let i = 0; i < 100 && !keepImage; i++) {
      model.apply(batch(i));
      await engine.write(batch(i));
      await engine.idle();
    }
    await engine.close();
    expect(keepImage).not.toBeNull();
    const image = keepImage!;
    const newest = snapshotFiles(image).pop()!;
    const bytes = readFileSync(join(image, newest));
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0x55;
    writeFileSync(join(image, newest), bytes);
    const e = await openEmbeddedEngine({ dir: image, fsync: 'always' });
    expect(await contents(e)).toEqual(model.state());
    await e.close();
  });
});
