// Copy between engines: Redis → embedded data folder → another Redis database, identical keys and bits.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded.ts';
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
