// One process per data folder: a LOCK file holding the owner's pid, taken over when that process is gone.

import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Another live process holds the data folder's LOCK (main.ts names it and says what to do). */
export class FolderLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(`the data folder ${dir} is in use by process ${pid} (remove ${lockFile} if that is wrong)`);
  }
}

/** Takes the folder's LOCK file (exclusive create), or fails naming the live process that holds it; returns the unlock. */
export async function lockFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(path).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new FolderLockedError(dir, holder, path);
      }
      await unlink(path).catch(() => undefined); // left behind by a process that is gone
    }
  }
  throw new Error(`could not lock the data folder ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
