// The data folder's files: names parsed back, whole writes despite short ones, full-disk codes, the HELD-DATA marker made once.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HELD_DATA_FILE,
  isNoSpace,
  logName,
  markHeldData,
  parseName,
  snapshotName,
  writeAll,
} from '../../../src/bitmap/engines/embedded/files.ts';
import type { WritableFile } from '../../../src/bitmap/engines/embedded/files.ts';
import { tempDir } from './helpers.ts';

/** A file that takes at most `chunk` bytes a call, into `data`. */
function shortWriter(chunk: number, data: number[]): WritableFile {
  return {
    write: (async (buf: Buffer, offset: number, length: number, position: number) => {
      const n = Math.min(chunk, length);
      for (let i = 0; i < n; i++) data[position + i] = buf[offset + i]!;
      return { bytesWritten: n, buffer: buf };
    }) as WritableFile['write'],
  };
}

describe('data folder files', () => {
  it('names: zero-padded sequence numbers, parsed back; anything else is not ours', () => {
    expect(logName(3)).toBe('log-0000000003.wal');
    expect(snapshotName(12)).toBe('snapshot-0000000012.bin');
    expect(parseName(logName(3))).toEqual({ kind: 'log', seq: 3 });
    expect(parseName(snapshotName(12))).toEqual({ kind: 'snapshot', seq: 12 });
    expect(parseName('snapshot-0000000012.bin.tmp')).toEqual({ kind: 'tmp', seq: -1 });
    for (const other of ['LOCK', HELD_DATA_FILE, 'log-0000000001.bin', 'snapshot-0000000001.wal', 'log-x.wal']) {
      expect(parseName(other)).toBeNull();
    }
  });

  it('writeAll keeps writing after short writes, at the right positions', async () => {
    const data: number[] = [];
    const buf = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    await writeAll(shortWriter(7, data), buf, 10);
    expect(data.slice(10)).toEqual([...buf]);
  });

  it('writeAll fails rather than spin when a write makes no progress', async () => {
    await expect(writeAll(shortWriter(0, []), Buffer.from('abc'), 0)).rejects.toThrow('write made no progress');
  });

  it('isNoSpace: a full disk or quota, nothing else', () => {
    expect(isNoSpace(Object.assign(new Error(), { code: 'ENOSPC' }))).toBe(true);
    expect(isNoSpace(Object.assign(new Error(), { code: 'EDQUOT' }))).toBe(true);
    expect(isNoSpace(Object.assign(new Error(), { code: 'EIO' }))).toBe(false);
    expect(isNoSpace(null)).toBe(false);
  });

  it('markHeldData creates HELD-DATA once, with a note for people, and keeps an existing one', async () => {
    const dir = tempDir();
    expect(await markHeldData(dir)).toBe(true);
    expect(readFileSync(join(dir, HELD_DATA_FILE), 'utf8')).toMatch(/Delete this file to start with an empty store/);
    writeFileSync(join(dir, HELD_DATA_FILE), 'kept');
    expect(await markHeldData(dir)).toBe(true);
    expect(readFileSync(join(dir, HELD_DATA_FILE), 'utf8')).toBe('kept');
    expect(await markHeldData(join(dir, 'missing'))).toBe(false);
  });
});
