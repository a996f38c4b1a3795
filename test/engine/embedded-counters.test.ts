// Embedded engine: counter hashes (increment, hget/hgetall/hsum), their log records and snapshots.
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CounterIncrement } from '../../src/bitmap/engines/engine.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { EmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { CounterEntries, Instruction } from '../../src/bitmap/program.ts';
import { rng } from '../rng.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bitmapql-embedded-ctr-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});


const KEYS = ['ctr_a', 'ctr_b', 'ctr_c', 'ctr_ü'];
const FIELDS = ['f0', 'f1', 'f2', 'f3', 'f4', '', 'ünï', 'with space'];

/** The reference: HINCRBY semantics on plain Maps (a field reaching 0 stays). */
class Model {
  readonly hashes = new Map<string, Map<string, number>>();
  apply(increments: readonly CounterIncrement[]): void {
    for (const c of increments) {
      let h = this.hashes.get(c.key);
      if (!h) this.hashes.set(c.key, (h = new Map()));
      h.set(c.field, (h.get(c.field) ?? 0) + c.by);
    }
  }
  state(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const key of [...this.hashes.keys()].sort()) out[key] = Object.fromEntries([...this.hashes.get(key)!].sort());
    return out;
  }
}

function randomBatch(rand: () => number, size: number): CounterIncrement[] {
  return Array.from({ length: size }, (): CounterIncrement => {
    const roll = rand();
    // small values around 0 (including 0 itself), now and then a large one
    const by = roll < 0.1 ? 0 : roll < 0.15 ? Math.floor((rand() - 0.5) * 2 ** 40) : Math.floor(rand() * 11) - 5;
    return { key: KEYS[Math.floor(rand() * KEYS.length)]!, field: FIELDS[Math.floor(rand() * FIELDS.length)]!, by };
  });
}

const sortEntries = (e: CounterEntries): Array<[string, number]> =>
  e.map(([f, v]): [string, number] => [f, v]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/** Every counter hash, read back through hgetall (keys found by scan). */
async function counters(engine: EmbeddedEngine): Promise<Record<string, Record<string, number>>> {
  const keys: string[] = [];
  for await (const batch of engine.scan('ctr_')) keys.push(...batch);
  keys.sort();
  const out: Record<string, Record<string, number>> = {};
  if (!keys.length) return out;
  const results = await engine.run({ registers: 0, instructions: keys.map((key): Instruction => ({ op: 'hgetall', key })) });
  keys.forEach((key, i) => (out[key] = Object.fromEntries(sortEntries(results[i] as CounterEntries))));
  return out;
}

const logFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
const snapshotFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();

describe('embedded engine: counters', () => {
  it('matches a reference model on seeded random increments (hget, hgetall, hsum)', async () => {
    const engine = await openEmbeddedEngine({ dir: tempDir(), fsync: 'os' });
    const model = new Model();
    const rand = rng(20261101);
    for (let round = 0; round < 60; round++) {
      const batch = randomBatch(rand, 1 + Math.floor(rand() * 30));
      model.apply(batch);
      await engine.increment(batch);
      if (round % 10 !== 9) continue;
      const instructions: Instruction[] = [];
      const expected: unknown[] = [];
      for (const key of [...KEYS, 'ctr_missing']) {
        const h = model.hashes.get(key);
        for (const field of [...FIELDS, 'absent']) {
          instructions.push({ op: 'hget', key, field });
          expected.push(h?.get(field) ?? 0);
        }
        instructions.push({ op: 'hsum', key });
        expected.push([...(h?.values() ?? [])].reduce((a, b) => a + b, 0));
        instructions.push({ op: 'hgetall', key });
        expected.push(sortEntries([...(h ?? [])]));
      }
      const got = await engine.run({ registers: 0, instructions });
      expect(got.map((v, i) => (instructions[i]!.op === 'hgetall' ? sortEntries(v as CounterEntries) : v))).toEqual(expected);
    }
    expect(await counters(engine)).toEqual(model.state());
    await engine.close();
  });

  it('keeps a field that reaches 0, and a field created by a 0 increment, as Redis does', async () => {
    const engine = await openEmbeddedEngine({ dir: tempDir(), fsync: 'always' });
    await engine.increment([
      { key: 'ctr_z', field: 'up', by: 3 },
      { key: 'ctr_z', field: 'up', by: -3 },
      { key: 'ctr_z', field: 'zero', by: 0 },
      { key: 'ctr_z', field: 'neg', by: -7 },
    ]);
    const [all, sum, up] = await engine.run({
      registers: 0,
      instructions: [
        { op: 'hgetall', key: 'ctr_z' },
        { op: 'hsum', key: 'ctr_z' },
        { op: 'hget', key: 'ctr_z', field: 'up' },
      ],
    });
    expect(sortEntries(all as CounterEntries)).toEqual([
      ['neg', -7],
      ['up', 0],
      ['zero', 0],
    ]);
    expect(sum).toBe(-7);
    expect(up).toBe(0);
    await engine.close();
  });

  it('keeps counter outputs in instruction order among bitmap outputs', async () => {
    const engine = await openEmbeddedEngine({ dir: tempDir(), fsync: 'always' });
    await engine.write([
      { key: 'bm', offset: 3, bit: 1 },
      { key: 'bm', offset: 9, bit: 1 },
    ]);
    await engine.increment([{ key: 'ctr_o', field: 'x', by: 5 }]);
    const got = await engine.run({
      registers: 1,
      instructions: [
        { op: 'hget', key: 'ctr_o', field: 'x' },
        { op: 'count', src: { key: 'bm' } },
        { op: 'hgetall', key: 'ctr_none' },
        { op: 'or', dest: 0, args: [{ key: 'bm' }, { key: 'bm_missing' }] },
        { op: 'getbit', src: { reg: 0 }, offset: 9 },
        { op: 'hsum', key: 'ctr_none' },
        { op: 'any', src: { key: 'bm' } },
        { op: 'hsum', key: 'ctr_o' },
      ],
    });
    expect(got).toEqual([5, 2, [], 1, 0, true, 5]);
    await engine.close();
  });

  it('rejects a non-integer increment before logging anything', async () => {
    const dir = tempDir();
    const engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    await engine.increment([{ key: 'ctr_v', field: 'f', by: 1 }]);
    const log = join(dir, logFiles(dir)[0]!);
    const size = statSync(log).size;
    for (const by of [1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, '1' as unknown as number]) {
      await expect(engine.increment([{ key: 'ctr_v', field: 'f', by: 2 }, { key: 'ctr_v', field: 'g', by }])).rejects.toThrow(
        /not a safe integer/,
      );
    }
    expect(statSync(log).size).toBe(size);
    expect(await counters(engine)).toEqual({ ctr_v: { f: 1 } });
    await engine.increment([]);
    expect(statSync(log).size).toBe(size);
    await engine.close();
  });

  it('survives close and reopen (all fsync modes), replaying the log', async () => {
    for (const fsync of ['always', 'interval', 'os'] as const) {
      const dir = tempDir();
      const model = new Model();
      const rand = rng(7);
      let engine = await openEmbeddedEngine({ dir, fsync, fsyncIntervalMs: 5 });
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        const batch = randomBatch(rand, 12);
        model.apply(batch);
        pending.push(engine.increment(batch));
      }
      await Promise.all(pending);
      expect(await counters(engine)).toEqual(model.state());
      await engine.close();
      expect(snapshotFiles(dir)).toEqual([]);
      engine = await openEmbeddedEngine({ dir, fsync });
      expect(await counters(engine)).toEqual(model.state());
      await engine.close();
    }
  });

  it('survives compaction: counters are in snapshots, alongside bitmaps', async () => {
    const dir = tempDir();
    const model = new Model();
    const rand = rng(99);
    let engine = await openEmbeddedEngine({ dir, fsync: 'always', compactAfterBytes: 1024 });
    for (let i = 0; i < 80; i++) {
      const batch = randomBatch(rand, 10);
      model.apply(batch);
      await engine.increment(batch);
      await engine.write([{ key: `bm_${i % 3}`, offset: i, bit: 1 }]);
    }
    await engine.idle();
    expect(engine.lastCompactionError).toBeNull();
    expect(snapshotFiles(dir).length).toBe(1);
    expect(snapshotFiles(dir)[0]).not.toBe('snapshot-0000000000.bin');
    const bitmapsBefore = await engine.run({
      registers: 0,
      instructions: [0, 1, 2].map((k): Instruction => ({ op: 'count', src: { key: `bm_${k}` } })),
    });
    expect(await counters(engine)).toEqual(model.state());
    expect(engine.memoryBytes()).toBeGreaterThan(0);
    await engine.close();

    engine = await openEmbeddedEngine({ dir, fsync: 'always', compactAfterBytes: 1024 });
    expect(await counters(engine)).toEqual(model.state());
    expect(await engine.run({ registers: 0, instructions: [0, 1, 2].map((k): Instruction => ({ op: 'count', src: { key: `bm_${k}` } })) })).toEqual(
      bitmapsBefore,
    );
    await engine.close();
  });

  it('a snapshot taken after a hash is deleted does not bring it back', async () => {
    const dir = tempDir();
    let engine = await openEmbeddedEngine({ dir, fsync: 'always', compactAfterBytes: 256 });
    await engine.increment([
      { key: 'ctr_gone', field: 'f', by: 1 },
      { key: 'ctr_kept', field: 'f', by: 2 },
    ]);
    expect(await engine.delete(['ctr_gone'])).toBe(1);
    for (let i = 0; i < 40; i++) await engine.increment([{ key: 'ctr_kept', field: `g${i}`, by: i }]);
    await engine.idle();
    expect(snapshotFiles(dir).length).toBe(1);
    await engine.close();
    engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    const state = await counters(engine);
    expect(Object.keys(state)).toEqual(['ctr_kept']);
    expect(state.ctr_kept!.f).toBe(2);
    expect(state.ctr_kept!.g39).toBe(39);
    await engine.close();
  });

  it('drops a torn last batch as a whole, wherever the file is cut inside it', async () => {
    const base = tempDir();
    const a: CounterIncrement[] = [{ key: 'ctr_t', field: 'x', by: 1 }];
    const b: CounterIncrement[] = [
      { key: 'ctr_t', field: 'x', by: 10 },
      { key: 'ctr_u', field: 'y', by: -4 },
    ];
    const c: CounterIncrement[] = [
      { key: 'ctr_t', field: 'x', by: 100 },
      { key: 'ctr_t', field: 'new', by: 5 },
      { key: 'ctr_u', field: 'y', by: 4 },
      { key: 'ctr_v', field: 'z', by: -1 },
    ];
    let engine = await openEmbeddedEngine({ dir: base, fsync: 'always' });
    await engine.increment(a);
    await engine.increment(b);
    const log = logFiles(base)[0]!;
    const lengthAB = statSync(join(base, log)).size;
    await engine.increment(c);
    await engine.close();
    const full = statSync(join(base, log)).size;
    expect(full - lengthAB).toBeGreaterThan(20);

    const expected = { ctr_t: { x: 11 }, ctr_u: { y: -4 } };
    for (const cut of [lengthAB + 3, lengthAB + 8, lengthAB + 12, Math.floor((lengthAB + full) / 2), full - 1]) {
      // a fresh copy of the folder for each cut
      const dir = tempDir();
      cpSync(base, dir, { recursive: true });
      truncateSync(join(dir, log), cut);
      engine = await openEmbeddedEngine({ dir, fsync: 'always' });
      expect(await counters(engine)).toEqual(expected);
      expect(statSync(join(dir, log)).size).toBe(lengthAB);
      // the repaired log takes new records
      await engine.increment([{ key: 'ctr_t', field: 'x', by: -11 }]);
      await engine.close();
      engine = await openEmbeddedEngine({ dir, fsync: 'always' });
      expect(await counters(engine)).toEqual({ ctr_t: { x: 0 }, ctr_u: { y: -4 } });
      await engine.close();
    }
    // uncut, c is there in full
    engine = await openEmbeddedEngine({ dir: base, fsync: 'always' });
    expect(await counters(engine)).toEqual({ ctr_t: { x: 111, new: 5 }, ctr_u: { y: 0 }, ctr_v: { z: -1 } });
    await engine.close();
  });

  it('scan lists hash keys, delete deletes and counts them, dump refuses them', async () => {
    const engine = await openEmbeddedEngine({ dir: tempDir(), fsync: 'always' });
    await engine.write([{ key: 'ctr_bitmap', offset: 1, bit: 1 }]);
    await engine.increment([
      { key: 'ctr_h1', field: 'f', by: 1 },
      { key: 'ctr_h2', field: 'f', by: 0 },
      { key: 'other_h', field: 'f', by: 1 },
    ]);
    const scanned: string[] = [];
    for await (const batch of engine.scan('ctr_')) scanned.push(...batch);
    expect(scanned.sort()).toEqual(['ctr_bitmap', 'ctr_h1', 'ctr_h2']);
    await expect(engine.dump('ctr_h1')).rejects.toThrow(/counter hash/);
    expect(await engine.dump('ctr_bitmap')).toEqual(Buffer.from([0x40]));
    expect(await engine.delete(['ctr_h1', 'ctr_h2', 'ctr_bitmap', 'ctr_none', 'ctr_h1'])).toBe(3);
    const after: string[] = [];
    for await (const batch of engine.scan('')) after.push(...batch);
    expect(after).toEqual(['other_h']);
    expect(await engine.run({ registers: 0, instructions: [{ op: 'hget', key: 'ctr_h1', field: 'f' }] })).toEqual([0]);
    expect(await engine.dump('ctr_h1')).toBeNull();
    await engine.close();
  });

  it('keeps bitmaps and hashes apart like Redis (WRONGTYPE), also after replay', async () => {
    const dir = tempDir();
    let engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    await engine.write([{ key: 'k_bitmap', offset: 5, bit: 1 }]);
    await engine.increment([{ key: 'k_hash', field: 'f', by: 2 }]);
    // the whole batch is refused, including its valid part
    await expect(
      engine.increment([
        { key: 'k_hash', field: 'f', by: 1 },
        { key: 'k_bitmap', field: 'f', by: 1 },
      ]),
    ).rejects.toThrow(/WRONGTYPE/);
    await expect(
      engine.write([
        { key: 'k_bitmap', offset: 6, bit: 1 },
        { key: 'k_hash', offset: 1, bit: 1 },
      ]),
    ).rejects.toThrow(/WRONGTYPE/);
    await expect(engine.run({ registers: 0, instructions: [{ op: 'count', src: { key: 'k_hash' } }] })).rejects.toThrow(/WRONGTYPE/);
    await expect(engine.run({ registers: 0, instructions: [{ op: 'hsum', key: 'k_bitmap' }] })).rejects.toThrow(/WRONGTYPE/);
    // an increment past the safe integer range is refused whole too
    await expect(
      engine.increment([
        { key: 'k_hash', field: 'g', by: 1 },
        { key: 'k_hash', field: 'f', by: Number.MAX_SAFE_INTEGER },
      ]),
    ).rejects.toThrow(/safe integer range/);
    // restore replaces a hash (SET semantics), and a deleted bitmap key may become a hash
    await engine.delete(['k_bitmap']);
    await engine.increment([{ key: 'k_bitmap', field: 'now', by: 1 }]);
    await engine.increment([{ key: 'k_restored', field: 'f', by: 1 }]);
    await engine.restore('k_restored', Buffer.from([0x80]));
    const check = async (): Promise<void> => {
      expect(
        await engine.run({
          registers: 0,
          instructions: [
            { op: 'hgetall', key: 'k_hash' },
            { op: 'hgetall', key: 'k_bitmap' },
            { op: 'count', src: { key: 'k_restored' } },
          ],
        }),
      ).toEqual([[['f', 2]], [['now', 1]], 1]);
      const keys: string[] = [];
      for await (const batch of engine.scan('k_')) keys.push(...batch);
      expect(keys.sort()).toEqual(['k_bitmap', 'k_hash', 'k_restored']);
    };
    await check();
    await engine.close();
    engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    await check();
    await engine.close();
  });

  it('acknowledges concurrent increment and write batches together (group commit) and keeps them all', async () => {
    const dir = tempDir();
    const model = new Model();
    const rand = rng(3);
    let engine = await openEmbeddedEngine({ dir, fsync: 'interval', fsyncIntervalMs: 5, compactAfterBytes: 4096 });
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const batch = randomBatch(rand, 5);
      model.apply(batch);
      all.push(engine.increment(batch));
      all.push(engine.write([{ key: 'bm', offset: i, bit: 1 }]));
    }
    await Promise.all(all);
    expect(await counters(engine)).toEqual(model.state());
    await engine.close();
    engine = await openEmbeddedEngine({ dir, fsync: 'interval' });
    expect(await counters(engine)).toEqual(model.state());
    expect(await engine.run({ registers: 0, instructions: [{ op: 'count', src: { key: 'bm' } }] })).toEqual([300]);
    await engine.close();
  });
});
