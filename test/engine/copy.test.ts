// Copy between engines: Redis → embedded data folder → another Redis database, identical bitmaps, counters, ledger and string ids.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { DEMO_IMPORT_SPEC } from '../../src/demo/generate.ts';
import { writeDemoArchive } from '../../src/demo/write.ts';
import { importFiles } from '../../src/import/importer.ts';
import { redisUrl, rng } from '../helpers.ts';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: new URL('../../', import.meta.url).pathname });

describe('bitmapql copy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-copy-'));
  const source = new Redis(`${redisUrl()}/3`);
  const target = new Redis(`${redisUrl()}/4`);
  const prefix = `copy${Date.now()}_`;
  afterAll(async () => {
    for (const r of [source, target]) {
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips every key and bit, skipping temporary keys, with a summary', async () => {
    const random = rng(7);
    const expected = new Map<string, number[]>();
    for (let k = 0; k < 40; k++) {
      const key = `${prefix}event${k % 5}_2026-11-${1 + (k % 28)}`;
      const ids = expected.get(key) ?? [];
      for (let i = 0; i < 50; i++) ids.push(Math.floor(random() * 200_000));
      expected.set(key, ids);
    }
    const tx = source.multi();
    for (const [key, ids] of expected) for (const id of ids) tx.setbit(key, id, 1);
    tx.set(`${prefix}bitop_leftover`, 'x');
    await tx.exec();

    const first = await cli('copy', `${redisUrl()}/3`, dir, '--prefix', prefix);
    expect(first.stderr).toMatch(new RegExp(`${expected.size} keys, .* copied, 1 temporary keys skipped`));

    // The folder now holds the same bitmaps.
    const embedded = await openEmbeddedEngine({ dir, fsync: 'os' });
    for (const key of expected.keys()) expect((await embedded.dump(key))?.equals((await source.getBuffer(key))!)).toBe(true);
    await embedded.close();

    await cli('copy', dir, `${redisUrl()}/4`, '--prefix', prefix);
    const copied = (await target.keys(`${prefix}*`)).sort();
    expect(copied).toEqual([...expected.keys()].sort());
    for (const key of copied) {
      const [a, b] = await Promise.all([source.getBuffer(key), target.getBuffer(key)]);
      expect(b!.equals(a!), key).toBe(true);
    }
  });
});

describe('bitmapql copy of an imported dataset (counters, ledger, string ids)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-copy-set-'));
  const source = new Redis(`${redisUrl()}/5`);
  const target = new Redis(`${redisUrl()}/6`);
  const prefix = `cset${Date.now()}_`;
  const layout = bitmapistLayout(prefix);
  const meta = `${prefix.slice(0, -1)}:`;
  const everything = async (r: Redis): Promise<string[]> => [...(await r.keys(`${prefix}*`)), ...(await r.keys(`${meta}*`))].sort();
  afterAll(async () => {
    for (const r of [source, target]) {
      const keys = await everything(r);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries bitmaps, counter hashes, the import ledger and the id mapping through a data folder, unchanged', async () => {
    const archive = await writeDemoArchive({ out: join(dir, 'demo'), days: 4, end: '2026-10-05', linesPerDay: 150, seed: 3, badLines: 0 });
    const engine = await new RedisEngine({ url: `${redisUrl()}/5`, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect();
    const imported = await importFiles(engine, layout, new TimeZone('UTC'), archive.files, DEMO_IMPORT_SPEC);
    await engine.close();
    expect(imported.newIds).toBeGreaterThan(10);

    const folder = join(dir, 'data');
    const first = await cli('copy', `${redisUrl()}/5`, folder, '--prefix', prefix);
    expect(first.stderr).toMatch(new RegExp(`; \\d+ counter and ledger hashes, ${imported.newIds} string ids`));
    await cli('copy', folder, `${redisUrl()}/6`, '--prefix', prefix);

    const keys = await everything(source);
    expect(await everything(target)).toEqual(keys);
    expect(keys).toContain(layout.idKeys.forward);
    expect(keys).toContain(layout.importsKey);
    expect(keys.some((k) => k.startsWith(layout.counterPrefix))).toBe(true);
    for (const key of keys) {
      const type = await source.type(key);
      if (type === 'hash') expect(await target.hgetall(key), key).toEqual(await source.hgetall(key));
      else if (key === layout.idKeys.next) expect(await target.get(key)).toBe(await source.get(key));
      else expect((await target.getBuffer(key))!.equals((await source.getBuffer(key))!), key).toBe(true);
    }

    // The copy knows the files are imported, and hands out new ids after the copied ones.
    const copied = await new RedisEngine({ url: `${redisUrl()}/6`, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect();
    try {
      const again = await importFiles(copied, layout, new TimeZone('UTC'), archive.files, DEMO_IMPORT_SPEC);
      expect(again.files.map((f) => f.status)).toEqual(archive.files.map(() => 'already imported'));
      expect(await copied.resolveIds(['a brand new repository'], true)).toEqual([imported.newIds]);
    } finally {
      await copied.close();
    }
  });

  it('refuses a target whose id mapping contradicts the source, before changing its bitmaps', async () => {
    const other = join(dir, 'other');
    const engine = await openEmbeddedEngine({ dir: other, fsync: 'os' });
    await engine.resolveIds(['someone else'], true); // takes id 0, which the source gave to another repository
    await engine.close();
    await expect(cli('copy', `${redisUrl()}/5`, other, '--prefix', prefix)).rejects.toThrow(/contradicts the stored mapping/);
    const after = await openEmbeddedEngine({ dir: other, fsync: 'os' });
    expect(after.keyCount()).toBe(0);
    expect(await after.resolveIds(['someone else'], false)).toEqual([0]);
    await after.close();
  });
});
