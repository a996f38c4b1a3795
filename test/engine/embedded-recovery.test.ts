// Embedded engine recovery is never silent: a dropped log tail is logged (file, offset, bytes,
// records) and shown as a metric, and a folder that held data but now holds none is refused.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { HELD_DATA_FILE, openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { EmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import { rng } from '../rng.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bitmapql-recovery-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Line = Record<string, unknown>;

async function open(dir: string, lines: Line[] = []): Promise<EmbeddedEngine> {
  return openEmbeddedEngine({ dir, fsync: 'always', log: (fields) => lines.push(fields) });
}

async function members(engine: EmbeddedEngine, key: string): Promise<number[]> {
  const [page] = await engine.run({ registers: 0, instructions: [{ op: 'scan', src: { key }, after: -1, limit: 1e9 }] });
  return (page as { ids: number[] }).ids;
}

const sorted = (s: Iterable<number>): number[] => [...new Set(s)].sort((a, b) => a - b);
const logPath = (dir: string): string => join(dir, readdirSync(dir).filter((f) => f.endsWith('.wal')).sort().at(-1)!);

/** Three small acknowledged batches, then one 10,000-mark batch (one log record); returns where that record starts. */
async function seed(dir: string): Promise<{ small: number[]; big: number[]; bigAt: number; size: number }> {
  const random = rng(42);
  const small = [1, 2, 3];
  const big = Array.from({ length: 10_000 }, () => 10 + Math.floor(random() * 1e9));
  const engine = await open(dir);
  for (const id of small) await engine.write([{ key: 'small', offset: id, bit: 1 }]);
  const bigAt = statSync(logPath(dir)).size;
  await engine.write(big.map((offset): BitWrite => ({ key: 'big', offset, bit: 1 })));
  await engine.close();
  return { small, big: sorted(big), bigAt, size: statSync(logPath(dir)).size };
}

async function metrics(engine: EmbeddedEngine): Promise<string> {
  const gateway = await createGateway(loadConfig({}, { dataDir: 'unused' }), { engine });
  return (await gateway.yoga.fetch('http://yoga/metrics')).text();
}

describe('embedded engine recovery', () => {
  it('a log whose last 7 bytes are cut: the 10,000-mark record is dropped, and the drop is logged and counted', async () => {
    const dir = tempDir();
    const { small, bigAt, size } = await seed(dir);
    truncateSync(logPath(dir), size - 7);
    const lines: Line[] = [];
    const engine = await open(dir, lines);
    try {
      expect(await members(engine, 'small')).toEqual(small);
      expect(await members(engine, 'big')).toEqual([]);
      const dropped = { file: 'log-0000000000.wal', offset: bigAt, bytes: size - 7 - bigAt, records: 1 };
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', dir, ...dropped })]);
      expect(engine.recovery).toEqual({
        replayedRecords: 3,
        droppedRecords: 1,
        droppedBytes: dropped.bytes,
        droppedAt: { file: dropped.file, offset: bigAt },
      });
      const text = await metrics(engine);
      expect(text).toMatch(/^bitmapql_recovery_dropped_records 1$/m);
      expect(text).toMatch(new RegExp(`^bitmapql_recovery_dropped_bytes ${dropped.bytes}$`, 'm'));
    } finally {
      await engine.close();
    }
    // repaired: the next open finds nothing to drop
    const again: Line[] = [];
    const reopened = await open(dir, again);
    expect(again).toEqual([]);
    expect(reopened.recovery.droppedRecords).toBe(0);
    expect(await metrics(reopened)).toMatch(/^bitmapql_recovery_dropped_records 0$/m);
    await reopened.close();
  });

  it('a corrupt last record (one byte flipped): dropped whole, logged with its offset and length', async () => {
    const dir = tempDir();
    const { small, bigAt, size } = await seed(dir);
    const buf = readFileSync(logPath(dir));
    buf[bigAt + Math.floor((size - bigAt) / 2)]! ^= 0x40;
    writeFileSync(logPath(dir), buf);
    const lines: Line[] = [];
    const engine = await open(dir, lines);
    expect(await members(engine, 'small')).toEqual(small);
    expect(await members(engine, 'big')).toEqual([]);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', file: 'log-0000000000.wal', offset: bigAt, bytes: size - bigAt, records: 1 })]);
    expect(engine.recovery.droppedBytes).toBe(size - bigAt);
    await engine.close();
  });

  it('an intact log opens without a word', async () => {
    const dir = tempDir();
    const { small, big } = await seed(dir);
    const lines: Line[] = [];
    const engine = await open(dir, lines);
    expect(await members(engine, 'small')).toEqual(small);
    expect(await members(engine, 'big')).toEqual(big);
    expect(lines).toEqual([]);
    expect(engine.recovery).toEqual({ replayedRecords: 4, droppedRecords: 0, droppedBytes: 0 });
    await engine.close();
  });

  it('a log truncated to 0 bytes in a folder that held data: refused, the folder left as found; deleting HELD-DATA starts empty on purpose', async () => {
    const dir = tempDir();
    await seed(dir);
    expect(existsSync(join(dir, HELD_DATA_FILE))).toBe(true);
    truncateSync(logPath(dir), 0);
    const error = await open(dir).then(
      (e) => e.close().then(() => null),
      (e: Error) => e,
    );
    expect(error?.message).toContain(dir);
    expect(error?.message).toMatch(/has held data/);
    expect(error?.message).toContain('log-0000000000.wal: 0 bytes');
    expect(error?.message).toContain(`delete ${join(dir, HELD_DATA_FILE)}`);
    expect(statSync(logPath(dir)).size).toBe(0);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false); // the refusal released the folder

    unlinkSync(join(dir, HELD_DATA_FILE));
    const engine = await open(dir);
    expect(await members(engine, 'small')).toEqual([]);
    await engine.write([{ key: 'fresh', offset: 5, bit: 1 }]);
    expect(existsSync(join(dir, HELD_DATA_FILE))).toBe(true);
    await engine.close();
  });

  it('a log whose only record is torn, in a folder that held data: refused rather than opened empty', async () => {
    const dir = tempDir();
    const engine = await open(dir);
    await engine.write(Array.from({ length: 100 }, (_, i): BitWrite => ({ key: 'only', offset: i, bit: 1 })));
    await engine.close();
    truncateSync(logPath(dir), statSync(logPath(dir)).size - 7);
    await expect(open(dir)).rejects.toThrow(/has held data.*the last \d+ bytes of log-0000000000\.wal are not a valid record/);
  });

  it('every log and snapshot gone, HELD-DATA left: refused', async () => {
    const dir = tempDir();
    await seed(dir);
    for (const f of readdirSync(dir)) if (f !== HELD_DATA_FILE) unlinkSync(join(dir, f));
    await expect(open(dir)).rejects.toThrow(/has held data.*no log files/);
  });

  it('a store emptied by deletes (before and after a snapshot) and a fresh folder open normally', async () => {
    const dir = tempDir();
    let engine = await openEmbeddedEngine({ dir, fsync: 'always', compactAfterBytes: 1 });
    await engine.close();
    expect(existsSync(join(dir, HELD_DATA_FILE))).toBe(false); // opened, never written: nothing held
    engine = await open(dir);
    await engine.write([{ key: 'gone', offset: 1, bit: 1 }]);
    expect(await engine.delete(['gone'])).toBe(1);
    await engine.close();
    engine = await open(dir);
    expect(await members(engine, 'gone')).toEqual([]);
    await engine.close();
    // a snapshot of the empty store, then logs that start after it
    engine = await openEmbeddedEngine({ dir, fsync: 'always', compactAfterBytes: 1 });
    await engine.write([{ key: 'tmp', offset: 1, bit: 1 }]);
    await engine.delete(['tmp']);
    await engine.idle();
    await engine.close();
    expect(readdirSync(dir).some((f) => f.startsWith('snapshot-'))).toBe(true);
    engine = await open(dir);
    expect(await members(engine, 'tmp')).toEqual([]);
    await engine.close();
  });

  it('a folder written before HELD-DATA existed gets it when opened with data, so a later truncation is caught', async () => {
    const dir = tempDir();
    await seed(dir);
    unlinkSync(join(dir, HELD_DATA_FILE));
    const engine = await open(dir);
    await engine.close();
    expect(existsSync(join(dir, HELD_DATA_FILE))).toBe(true);
    truncateSync(logPath(dir), 0);
    await expect(open(dir)).rejects.toThrow(/has held data/);
  });
});
