// Opening a data folder: the newest loadable snapshot plus its logs replayed, a torn tail dropped and reported, HELD-DATA checked.
//
// State = newest loadable snapshot S (or the empty set when there is none and the logs start
// at 0), then log-S, log-S+1, ... replayed in order. On open, a torn or corrupt tail of the last
// log (short header, short payload, bad CRC) is dropped and the file truncated to its last good
// record; the drop is logged (file, offset, bytes, records) and returned as a RecoveryReport. A
// bad record followed anywhere by a valid one (or a bad record in a log that is not the last)
// throws instead of losing data. Once a write has been durable the folder holds a HELD-DATA
// file; a folder with that file but no snapshot and no record in its logs (a log truncated to
// 0 bytes, files replaced) is refused rather than opened as an empty store: deleting HELD-DATA
// is how to start empty on purpose.

import { open, readdir, readFile, stat, truncate, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HELD_DATA_FILE, fsyncDir, logName, markHeldData, parseName, snapshotName } from './files.ts';
import { RECORD_HEADER, RejectedRecord, applyPayload, validRecordEnd } from './records.ts';
import { parseSnapshot } from './snapshot.ts';
import { emptyStore } from './store.ts';
import type { Store } from './store.ts';

/** What opening the folder found: a torn or corrupt log tail is dropped, never silently. */
export interface RecoveryReport {
  /** Records replayed from the logs (after the snapshot, when there is one). */
  readonly replayedRecords: number;
  /** Records dropped from the torn or corrupt tail of the last log (0: nothing was dropped). */
  readonly droppedRecords: number;
  readonly droppedBytes: number;
  /** Where the dropped tail started: the log file and its byte offset. */
  readonly droppedAt?: { readonly file: string; readonly offset: number };
}

/** A recovered folder: its state, and its newest log open for appending. */
export interface Recovered {
  readonly store: Store;
  readonly log: FileHandle;
  readonly logSeq: number;
  readonly logBytes: number;
  /** HELD-DATA exists in the folder. */
  readonly heldData: boolean;
  readonly recovery: RecoveryReport;
}

/** Replays one log; returns the length of its valid prefix and its records. Throws on a bad record that is not a torn tail. */
export function replayLog(store: Store, buf: Buffer, file: string, last: boolean): { end: number; records: number } {
  let pos = 0;
  let records = 0;
  while (pos < buf.length) {
    const end = validRecordEnd(buf, pos);
    if (end < 0) break;
    records++;
    try {
      applyPayload(store, buf.subarray(pos + RECORD_HEADER, end));
    } catch (e) {
      // Rejected when it was first applied too: it changed nothing then, nor now.
      if (e instanceof RejectedRecord) {
        pos = end;
        continue;
      }
      throw new Error(`${file}: record at byte ${pos} has a valid CRC but cannot be decoded: ${String(e)}`, {
        cause: e,
      });
    }
    pos = end;
  }
  if (pos === buf.length) return { end: pos, records };
  if (!last) {
    throw new Error(
      `${file}: corrupt record at byte ${pos} of ${buf.length} in a log that is followed by newer logs; refusing to open`,
    );
  }
  for (let q = pos + 1; q + RECORD_HEADER < buf.length; q++) {
    if (validRecordEnd(buf, q) >= 0) {
      throw new Error(
        `${file}: corrupt record at byte ${pos} is followed by a valid record at byte ${q}; ` +
          'refusing to open rather than drop acknowledged data',
      );
    }
  }
  return { end: pos, records };
}

/** Records that start in a dropped tail, following each header's length; a bad length ends the walk. */
export function tailRecords(buf: Buffer, at: number): number {
  let n = 0;
  while (at < buf.length) {
    n++;
    if (at + RECORD_HEADER > buf.length) break;
    const length = buf.readUInt32LE(at);
    if (length < 1) break;
    at += RECORD_HEADER + length;
  }
  return n;
}

export function stderrLog(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** Recovers the (locked) folder `dir`; `log` gets one structured line when a tail is dropped. */
export async function recoverFolder(dir: string, log: (fields: Record<string, unknown>) => void = stderrLog): Promise<Recovered> {
  const names = await readdir(dir);
  const logs = new Set<number>();
  const snapshots: number[] = [];
  for (const name of names) {
    const f = parseName(name);
    if (!f) continue;
    if (f.kind === 'tmp') await unlink(join(dir, name)).catch(() => undefined);
    else if (f.kind === 'log') logs.add(f.seq);
    else snapshots.push(f.seq);
  }
  const maxLog = logs.size ? Math.max(...logs) : -1;
  snapshots.sort((a, b) => b - a);
  // Base candidates, newest first; with no snapshot-0 the empty state at seq 0 is the last resort.
  const candidates = snapshots.includes(0) ? snapshots : [...snapshots, 0];
  const problems: string[] = [];
  let base = -1;
  let store: Store | null = null;
  for (const seq of candidates) {
    const missing: number[] = [];
    for (let s = seq; s <= maxLog; s++) if (!logs.has(s)) missing.push(s);
    if (missing.length) {
      problems.push(`base ${seq}: missing ${missing.map(logName).join(', ')}`);
      continue;
    }
    if (snapshots.includes(seq)) {
      try {
        store = parseSnapshot(await readFile(join(dir, snapshotName(seq))), snapshotName(seq));
      } catch (e) {
        problems.push(String(e instanceof Error ? e.message : e));
        continue;
      }
    } else store = emptyStore();
    base = seq;
    break;
  }
  if (!store || base < 0) throw new Error(`embedded engine: no recoverable state in ${dir}: ${problems.join('; ')}`);

  let replayed = 0;
  let torn: { path: string; file: string; offset: number; bytes: number; records: number } | undefined;
  const sizes: string[] = [];
  for (let s = base; s <= maxLog; s++) {
    const path = join(dir, logName(s));
    const buf = await readFile(path);
    const { end, records } = replayLog(store, buf, logName(s), s === maxLog);
    replayed += records;
    sizes.push(`${logName(s)}: ${buf.length} bytes`);
    if (end < buf.length) torn = { path, file: logName(s), offset: end, bytes: buf.length - end, records: tailRecords(buf, end) };
  }
  // Checked before anything is repaired: a refused folder is left as it was found.
  let heldData = names.includes(HELD_DATA_FILE);
  const fromSnapshot = snapshots.includes(base);
  if (heldData && !fromSnapshot && replayed === 0) {
    throw new Error(
      `embedded engine: ${dir} has held data (it contains ${HELD_DATA_FILE}), but it has no snapshot and its logs hold no ` +
        `record (${sizes.join(', ') || 'no log files'})${torn ? `; the last ${torn.bytes} bytes of ${torn.file} are not a valid record` : ''}: ` +
        'a log may have been truncated or the files replaced, and opening it would start an empty store. Restore the folder ' +
        `from a backup; to start with an empty store on purpose, delete ${join(dir, HELD_DATA_FILE)}.`,
    );
  }
  if (torn) {
    await truncate(torn.path, torn.offset);
    const fh = await open(torn.path, 'r+');
    await fh.sync();
    await fh.close();
    // A torn tail is what a crash mid-write leaves (a write never acknowledged); say so anyway.
    log({
      level: 'warn',
      msg: 'embedded engine: dropped a torn or corrupt tail of the last log',
      dir,
      file: torn.file,
      offset: torn.offset,
      bytes: torn.bytes,
      records: torn.records,
    });
  }
  if (!heldData && (fromSnapshot || replayed > 0)) heldData = await markHeldData(dir);
  const recovery: RecoveryReport = {
    replayedRecords: replayed,
    droppedRecords: torn?.records ?? 0,
    droppedBytes: torn?.bytes ?? 0,
    ...(torn ? { droppedAt: { file: torn.file, offset: torn.offset } } : {}),
  };
  for (const name of names) {
    const f = parseName(name);
    if (f && f.kind !== 'tmp' && f.seq < base) await unlink(join(dir, name)).catch(() => undefined);
  }
  const logSeq = Math.max(base, maxLog);
  const path = join(dir, logName(logSeq));
  let file: FileHandle;
  let logBytes = 0;
  if (maxLog >= base) {
    file = await open(path, 'r+');
    logBytes = (await stat(path)).size;
  } else {
    file = await open(path, 'wx');
    await fsyncDir(dir);
  }
  return { store, log: file, logSeq, logBytes, heldData, recovery };
}
