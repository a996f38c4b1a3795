// The folder lock: held by a live process it is refused with that pid; left by a dead one it is taken over; unlock removes it.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderLockedError, lockFolder } from '../../../src/bitmap/engines/embedded/lock.ts';
import { tempDir } from './helpers.ts';

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

describe('folder lock', () => {
  it('takes LOCK with this process id and removes it on unlock', async () => {
    const dir = tempDir();
    const unlock = await lockFolder(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await unlock();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('refuses a folder whose LOCK names a live process, with its pid and the lock file, and leaves the lock alone', async () => {
    const dir = tempDir();
    const holder = process.ppid; // alive for as long as this test runs, and not this process
    writeFileSync(join(dir, 'LOCK'), `${holder}\n`);
    const error = await lockFolder(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FolderLockedError);
    expect(error).toMatchObject({ dir, pid: holder, lockFile: join(dir, 'LOCK') });
    expect(String(error)).toContain(`in use by process ${holder}`);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${holder}\n`);
  });

  it('takes over a LOCK left by a process that is gone, or one that holds no pid', async () => {
    for (const stale of [String(deadPid()), '', 'not a pid']) {
      const dir = tempDir();
      writeFileSync(join(dir, 'LOCK'), stale);
      const unlock = await lockFolder(dir);
      expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
      await unlock();
    }
  });

  it('a folder that cannot hold a LOCK file is an error, not a lock', async () => {
    await expect(lockFolder(join(tempDir(), 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
