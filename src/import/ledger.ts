// The import ledger: which files are in, so an interrupted import resumes and a finished one is
// not counted twice.
//
// A counter hash at layout.importsKey: field `<sha256 of the file>` = lines of that file
// committed, `<sha256>:done` = 1 once its last batch is in. Each batch's write carries its
// ledger increments, so a batch and its entry land together or not at all. A file already done
// is skipped (unless forced); a file with N lines committed resumes at line N+1. A forced import
// resets the file's entry in its first batch (adds minus what was there), so an interrupted
// forced import resumes like any other.

import type { CounterIncrement, Engine } from '../bitmap/engines/engine.ts';
import type { KeyLayout } from '../bitmap/keys.ts';

export interface LedgerEntry {
  /** Lines of the file committed. */
  readonly committed: number;
  /** 1 once its last batch is in. */
  readonly done: number;
}

export const EMPTY_ENTRY: LedgerEntry = { committed: 0, done: 0 };

/** Reads both ledger fields of a file: lines committed and whether it is done. */
export async function readLedger(engine: Engine, layout: KeyLayout, sha256: string): Promise<LedgerEntry> {
  const [committed, done] = await engine.run({
    registers: 0,
    instructions: [
      { op: 'hget', key: layout.importsKey, field: sha256 },
      { op: 'hget', key: layout.importsKey, field: `${sha256}:done` },
    ],
  });
  return { committed: Number(committed), done: Number(done) };
}

/** What an import does with a file, given its entry. */
export type FileStart = 'imported' | 'resumed' | 'forced' | 'already imported';

export interface FilePlan {
  readonly status: FileStart;
  /** For the user: what is done with the file and why. */
  readonly message: string;
  /** Line the import starts at. */
  readonly fromLine: number;
  /** Taken off the entry by the first batch (forced: what an earlier import left there). */
  readonly undo: LedgerEntry;
}

export function planFile(path: string, sha256: string, entry: LedgerEntry, force: boolean): FilePlan {
  const { committed, done } = entry;
  let status: FileStart;
  let message: string;
  if (done > 0 && !force) {
    status = 'already imported';
    message = `${path}: already imported (sha256 ${sha256.slice(0, 12)}…), skipped; --force imports it again`;
  } else if (force && (done > 0 || committed > 0)) {
    status = 'forced';
    message = `${path}: ${done > 0 ? 'already imported' : `${committed} lines already imported`}, importing it again from line 1 (--force: its marks and counts are added again)`;
  } else if (committed > 0) {
    status = 'resumed';
    message = `${path}: ${committed.toLocaleString('en-US')} lines already imported, resuming at line ${(committed + 1).toLocaleString('en-US')}`;
  } else {
    status = 'imported';
    message = `${path}: importing`;
  }
  return {
    status,
    message,
    fromLine: status === 'resumed' ? committed + 1 : 1,
    undo: status === 'forced' ? { committed, done } : EMPTY_ENTRY,
  };
}

/** The increments that add a batch of `lines` lines (the file's last or not) to the file's entry, less `undo`. */
export function ledgerIncrements(layout: KeyLayout, sha256: string, lines: number, last: boolean, undo: LedgerEntry = EMPTY_ENTRY): CounterIncrement[] {
  const out: CounterIncrement[] = [];
  const byLines = lines - undo.committed;
  const byDone = (last ? 1 : 0) - undo.done;
  if (byLines !== 0) out.push({ key: layout.importsKey, field: sha256, by: byLines });
  if (byDone !== 0) out.push({ key: layout.importsKey, field: `${sha256}:done`, by: byDone });
  return out;
}
