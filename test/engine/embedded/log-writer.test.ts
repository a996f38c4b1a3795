// The log writer on a real file: group commit, what each fsync mode waits for, a full disk cut back, any other failure stopping it.

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogWriter } from '../../../src/bitmap/engines/embedded/log-writer.ts';
import type { FsyncMode, LogFile, LogWriterOptions } from '../../../src/bitmap/engines/embedded/log-writer.ts';
import { RECORD_HEADER, RejectedRecord, writeRecord } from '../../../src/bitmap/engines/embedded/records.ts';
import { tempDir } from './helpers.ts';

const record = (n: number): Buffer => writeRecord([{ key: `k${n}`, offset: n, bit: 1 }], []);

/** What happened to the file, in order: each write's length and each datasync. */
type Event = { write: number } | 'datasync' | { truncate: number } | { applied: number };

/**
 * The real log file, watched. `gate` holds the next write until released; `failWrite` makes
 * the next write store its first half and then fail with that code, as a disk that fills up
 * midway does; `failSync` makes the next datasync fail.
 */
class WatchedFile implements LogFile {
  readonly events: Event[] = [];
  gate: Promise<void> | null = null;
  failWrite: string | null = null;
  failSync: string | null = null;
  constructor(readonly fh: FileHandle) {}
  write: FileHandle['write'] = (async (buf: Buffer, offset: number, length: number, position: number) => {
    const gate = this.gate;
    this.gate = null;
    if (gate) await gate;
    this.events.push({ write: length });
    if (this.failWrite) {
      const code = this.failWrite;
      this.failWrite = null;
      await this.fh.write(buf, offset, length >> 1, position);
      throw Object.assign(new Error(`${code}: simulated`), { code });
    }
    return this.fh.write(buf, offset, length, position);
  }) as FileHandle['write'];
  datasync = async (): Promise<void> => {
    this.events.push('datasync');
    if (this.failSync) {
      const code = this.failSync;
      this.failSync = null;
      throw Object.assign(new Error(`${code}: simulated`), { code });
    }
    await this.fh.datasync();
  };
  sync = (): Promise<void> => this.fh.sync();
  truncate = async (len?: number): Promise<void> => {
    this.events.push({ truncate: len ?? 0 });
    await this.fh.truncate(len);
  };
  close = (): Promise<void> => this.fh.close();
}

const writers: LogWriter[] = [];
afterEach(async () => {
  for (const w of writers.splice(0)) await w.close();
});

async function setup(
  mode: FsyncMode,
  extra: Partial<LogWriterOptions> = {},
): Promise<{ writer: LogWriter; file: WatchedFile; path: string; applied: number[] }> {
  const path = join(tempDir(), 'log-0000000000.wal');
  const file = new WatchedFile(await open(path, 'w+'));
  const applied: number[] = [];
  const writer = new LogWriter({
    file,
    bytes: 0,
    mode,
    intervalMs: 10,
    apply: (payload) => {
      // the key of record(n) is `k${n}`: payload = version, 1 string, its length, then the key
      const n = Number(payload.subarray(4, 3 + payload[2]!).toString());
      applied.push(n);
      file.events.push({ applied: n });
      return n * 10;
    },
    ...extra,
  });
  writers.push(writer);
  return { writer, file, path, applied };
}

const writes = (events: Event[]): number[] => events.flatMap((e) => (typeof e === 'object' && 'write' in e ? [e.write] : []));

describe('log writer', () => {
  it('group commit: appends that arrive while a write is in flight share the next write and fsync', async () => {
    const { writer, file, path, applied } = await setup('always');
    let release!: () => void;
    file.gate = new Promise((r) => (release = r));
    const records = Array.from({ length: 10 }, (_, i) => record(i));
    const results = records.map((r) => writer.append(r));
    release();
    expect(await Promise.all(results)).toEqual(records.map((_, i) => i * 10));
    // the first record went alone (the writer started at once); the nine queued behind it, as one write
    expect(writes(file.events)).toEqual([records[0]!.length, records.slice(1).reduce((n, r) => n + r.length, 0)]);
    expect(file.events.filter((e) => e === 'datasync')).toHaveLength(2);
    expect(applied).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(readFileSync(path).equals(Buffer.concat(records))).toBe(true);
    expect(writer.size).toBe(readFileSync(path).length);
  });

  it("'always' applies a batch after its datasync; 'os' after the write, with no datasync at all", async () => {
    const always = await setup('always');
    await always.writer.append(record(1));
    expect(always.file.events).toEqual([{ write: record(1).length }, 'datasync', { applied: 1 }]);

    const os = await setup('os');
    await Promise.all([os.writer.append(record(1)), os.writer.append(record(2))]);
    expect(os.file.events.includes('datasync')).toBe(false);
    expect(os.applied).toEqual([1, 2]);
  });

  it("'interval' acknowledges only after the timer's datasync, one for everything written meanwhile", async () => {
    const { writer, file } = await setup('interval');
    let acknowledged = 0;
    const all = [1, 2, 3].map((n) => writer.append(record(n)).then(() => acknowledged++));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(acknowledged).toBe(0);
    await Promise.all(all);
    const syncAt = file.events.indexOf('datasync');
    expect(syncAt).toBeGreaterThan(0);
    expect(file.events.filter((e) => e === 'datasync')).toHaveLength(1);
    // nothing applied before the datasync
    expect(file.events.findIndex((e) => typeof e === 'object' && 'applied' in e)).toBeGreaterThan(syncAt);
  });

  it('a full disk mid-write: the log is cut back to its last durable byte, the batch fails with STORAGE_FULL, the next append goes through', async () => {
    const { writer, file, path, applied } = await setup('always');
    await writer.append(record(1));
    const durable = statSync(path).size;
    file.failWrite = 'ENOSPC';
    let undone = 0;
    const refused = writer.append(record(2), () => undone++);
    await expect(refused).rejects.toMatchObject({ code: 'STORAGE_FULL' });
    expect(undone).toBe(1);
    expect(file.events).toContainEqual({ truncate: durable });
    expect(statSync(path).size).toBe(durable);
    expect(writer.refusedBytes).toBe(record(2).length);
    expect(writer.failed).toBeNull();
    await writer.append(record(3));
    expect(applied).toEqual([1, 3]);
    expect(readFileSync(path).equals(Buffer.concat([record(1), record(3)]))).toBe(true);
  });

  it("'interval': a datasync the disk refuses cuts back everything written since the last durable one", async () => {
    const { writer, file, path, applied } = await setup('interval');
    await writer.append(record(1));
    const durable = statSync(path).size;
    file.failSync = 'EDQUOT';
    const results = await Promise.allSettled([writer.append(record(2)), writer.append(record(3))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(statSync(path).size).toBe(durable);
    expect(applied).toEqual([1]);
    await writer.append(record(4));
    expect(readFileSync(path).equals(Buffer.concat([record(1), record(4)]))).toBe(true);
  });

  it('any other failure stops the writer: every pending append fails, and so does any later one', async () => {
    const { writer, file } = await setup('always');
    await writer.append(record(1));
    file.failWrite = 'EIO';
    const pending = [writer.append(record(2)), writer.append(record(3))];
    for (const p of pending) await expect(p).rejects.toThrow(/embedded engine failed, restart to recover from the log: EIO/);
    expect(writer.failed).toBeInstanceOf(Error);
    await expect(writer.append(record(4))).rejects.toBe(writer.failed);
    await expect(writer.idle()).rejects.toBe(writer.failed);
  });

  it('a rejected record fails only its caller; the batch around it is applied and acknowledged', async () => {
    const { writer } = await setup('os', {
      apply: (payload) => {
        if (payload.includes(Buffer.from('k2'))) throw new RejectedRecord('no');
        return 1;
      },
    });
    const results = await Promise.allSettled([1, 2, 3].map((n) => writer.append(record(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('beforeAcknowledge runs before a batch is acknowledged; maintenance runs between batches and may switch files', async () => {
    const order: string[] = [];
    let due = false;
    const second = join(tempDir(), 'log-0000000001.wal');
    const { writer, path } = await setup('always', {
      beforeAcknowledge: () => {
        order.push('before-ack');
        return undefined;
      },
      maintenanceDue: () => due,
      maintain: async () => {
        due = false;
        order.push('maintain');
        expect(await writer.syncUnsynced()).toBe(true);
        await writer.switchTo(await open(second, 'w+')).close();
      },
    });
    await writer.append(record(1)).then(() => order.push('ack 1'));
    due = true;
    await writer.append(record(2)).then(() => order.push('ack 2'));
    await writer.idle();
    expect(order).toEqual(['before-ack', 'ack 1', 'maintain', 'before-ack', 'ack 2']);
    expect(readFileSync(path).equals(record(1))).toBe(true);
    expect(readFileSync(second).equals(record(2))).toBe(true);
    expect(writer.size).toBe(record(2).length);
  });

  it('idle() waits for queued and unsynced records', async () => {
    const { writer, applied } = await setup('interval', { intervalMs: 60_000 });
    void writer.append(record(1));
    void writer.append(record(2));
    await writer.idle(); // without idle() the 60 s timer would be the only fsync
    expect(applied).toEqual([1, 2]);
  });

  it('apply gets the payload without the record header', async () => {
    let seen: Buffer | undefined;
    const { writer } = await setup('os', {
      apply: (p) => {
        seen = Buffer.from(p);
        return 0;
      },
    });
    await writer.append(record(5));
    expect(seen!.equals(record(5).subarray(RECORD_HEADER))).toBe(true);
  });
});
