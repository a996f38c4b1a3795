// One process per data folder: a second live opener is refused; a lock left by a dead process is taken over.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';

describe('embedded engine folder lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a folder held by another live process, and names it', async () => {
    const src = new URL('../../src/bitmap/engines/embedded/index.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `import(${JSON.stringify(src)}).then(async (m) => { await m.openEmbeddedEngine({ dir: ${JSON.stringify(dir)}, fsync: 'os' }); console.log('open'); setInterval(() => {}, 1000); })`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('open') && resolve());
        child.once('exit', () => reject(new Error('child exited')));
      });
      await expect(openEmbeddedEngine({ dir, fsync: 'os' })).rejects.toThrow(`in use by process ${child.pid}`);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    // The holder is gone (killed without closing): its lock is taken over.
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(child.pid));
    const engine = await openEmbeddedEngine({ dir, fsync: 'os' });
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await engine.close();
    expect(() => readFileSync(join(dir, 'LOCK'))).toThrow();
  });

  it('takes over a lock naming a process that no longer exists', async () => {
    writeFileSync(join(dir, 'LOCK'), '999999999');
    const engine = await openEmbeddedEngine({ dir, fsync: 'os' });
    await engine.close();
  });
});
