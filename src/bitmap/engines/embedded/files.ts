// The data folder's files: their names, whole writes, folder fsync and the HELD-DATA marker.
//
// Data folder layout (<seq> is a zero-padded decimal, e.g. 0000000003):
//
//   snapshot-<seq>.bin   every bitmap as of the start of log-<seq>.wal (absent for seq 0 = empty)
//   log-<seq>.wal        records appended after that snapshot
//   *.tmp                a snapshot being written; ignored and removed on open
//   LOCK                 the pid of the process that has the folder open
//   HELD-DATA            present once a write has been durable here

import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Present in a data folder once a write has been durable there (see the refusal in recovery). */
export const HELD_DATA_FILE = 'HELD-DATA';

const pad = (seq: number): string => String(seq).padStart(10, '0');
export const logName = (seq: number): string => `log-${pad(seq)}.wal`;
export const snapshotName = (seq: number): string => `snapshot-${pad(seq)}.bin`;

export type FileName = { kind: 'log' | 'snapshot' | 'tmp'; seq: number };

export function parseName(name: string): FileName | null {
  if (name.endsWith('.tmp')) return { kind: 'tmp', seq: -1 };
  const m = /^(log|snapshot)-(\d+)\.(wal|bin)$/.exec(name);
  if (!m || (m[1] === 'log') !== (m[3] === 'wal')) return null;
  return { kind: m[1] as 'log' | 'snapshot', seq: Number(m[2]) };
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The part of FileHandle that writeAll needs. */
export type WritableFile = Pick<FileHandle, 'write'>;

export async function writeAll(fh: WritableFile, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/** The disk (or the user's quota) has no room: the write may succeed later, nothing is broken. */
export function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const HELD_DATA_TEXT =
  'This data folder has held data. bitmapql refuses to open it when its snapshot and logs hold\n' +
  'nothing (a log truncated to 0 bytes, files replaced), rather than start an empty store.\n' +
  'Delete this file to start with an empty store on purpose.\n';

/** Creates HELD-DATA unless it exists; true when it exists afterwards (a failure is retried later). */
export async function markHeldData(dir: string): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(join(dir, HELD_DATA_FILE), 'wx');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EEXIST';
  }
  try {
    await fh.writeFile(HELD_DATA_TEXT); // its existence is what counts; the text is for people
    await fh.sync();
  } catch {
    // an empty file marks the folder just as well
  } finally {
    await fh.close().catch(() => undefined);
  }
  await fsyncDir(dir).catch(() => undefined);
  return true;
}
