// The import ledger: what is done with a file given its entry, the increments a batch adds, and
// both read back from a real Redis and the embedded engine.

import { describe, expect, it } from 'vitest';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { EMPTY_ENTRY, ledgerIncrements, planFile, readLedger } from '../../src/import/ledger.ts';
import type { LedgerEntry } from '../../src/import/ledger.ts';
import { ENGINES } from '../helpers.ts';
import { openStore } from './store.ts';

const SHA = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const layout = bitmapistLayout('lt_');

describe('planFile', () => {
  const plan = (entry: LedgerEntry, force = false) => planFile('day.jsonl.gz', SHA, entry, force);

  it('imports a new file from line 1', () => {
    expect(plan(EMPTY_ENTRY)).toEqual({ status: 'imported', message: 'day.jsonl.gz: importing', fromLine: 1, undo: EMPTY_ENTRY });
    expect(plan(EMPTY_ENTRY, true)).toMatchObject({ status: 'imported', fromLine: 1, undo: EMPTY_ENTRY });
  });

  it('resumes after the committed lines', () => {
    expect(plan({ committed: 1500, done: 0 })).toEqual({
      status: 'resumed',
      message: 'day.jsonl.gz: 1,500 lines already imported, resuming at line 1,501',
      fromLine: 1501,
      undo: EMPTY_ENTRY,
    });
  });

  it('skips a file that is done, unless forced; forced, the first batch takes the old entry back', () => {
    const done = plan({ committed: 300, done: 1 });
    expect(done).toMatchObject({ status: 'already imported', fromLine: 1 });
    expect(done.message).toBe(`day.jsonl.gz: already imported (sha256 ${'ab'.repeat(6)}…), skipped; --force imports it again`);
    const forced = plan({ committed: 300, done: 1 }, true);
    expect(forced).toMatchObject({ status: 'forced', fromLine: 1, undo: { committed: 300, done: 1 } });
    expect(forced.message).toMatch(/already imported, importing it again from line 1 \(--force/);
    const forcedPart = plan({ committed: 40, done: 0 }, true);
    expect(forcedPart).toMatchObject({ status: 'forced', fromLine: 1, undo: { committed: 40, done: 0 } });
    expect(forcedPart.message).toMatch(/: 40 lines already imported, importing it again from line 1/);
  });
});

describe('ledgerIncrements', () => {
  const field = (by: number) => ({ key: 'lt:imports', field: SHA, by });
  const done = (by: number) => ({ key: 'lt:imports', field: `${SHA}:done`, by });

  it('adds the batch lines, and done with the last batch', () => {
    expect(layout.importsKey).toBe('lt:imports');
    expect(ledgerIncrements(layout, SHA, 50, false)).toEqual([field(50)]);
    expect(ledgerIncrements(layout, SHA, 50, true)).toEqual([field(50), done(1)]);
    expect(ledgerIncrements(layout, SHA, 0, true)).toEqual([done(1)]);
    expect(ledgerIncrements(layout, SHA, 0, false)).toEqual([]);
  });

  it('less what it takes back', () => {
    expect(ledgerIncrements(layout, SHA, 50, false, { committed: 300, done: 1 })).toEqual([field(-250), done(-1)]);
    expect(ledgerIncrements(layout, SHA, 300, true, { committed: 300, done: 1 })).toEqual([]);
    expect(ledgerIncrements(layout, SHA, 10, true, { committed: 4, done: 0 })).toEqual([field(6), done(1)]);
  });
});

describe.each(ENGINES)('the ledger in %s', (kind) => {
  it('reads back what batches wrote: resume, done, and a forced import that stops and resumes', async () => {
    const s = await openStore(kind);
    const read = (sha = SHA) => readLedger(s.engine, s.layout, sha);
    /** Writes a batch as the import does: its ledger increments in the batch's write. */
    const batch = (lines: number, last: boolean, undo?: LedgerEntry) => s.engine.write([], ledgerIncrements(s.layout, SHA, lines, last, undo));
    try {
      expect(await read()).toEqual({ committed: 0, done: 0 });
      await batch(100, false);
      await batch(100, false);
      expect(await read()).toEqual({ committed: 200, done: 0 });
      expect(planFile('f', SHA, await read(), false)).toMatchObject({ status: 'resumed', fromLine: 201 });
      await batch(50, true);
      expect(await read()).toEqual({ committed: 250, done: 1 });
      expect(planFile('f', SHA, await read(), false).status).toBe('already imported');

      // Forced: the first batch leaves the entry at its own lines, not done; stopped there, it resumes.
      const forced = planFile('f', SHA, await read(), true);
      await batch(100, false, forced.undo);
      expect(await read()).toEqual({ committed: 100, done: 0 });
      expect(planFile('f', SHA, await read(), false)).toMatchObject({ status: 'resumed', fromLine: 101 });
      await batch(100, false);
      await batch(50, true);
      expect(await read()).toEqual({ committed: 250, done: 1 });

      // Entries are per content, and per key prefix.
      expect(await read(OTHER)).toEqual({ committed: 0, done: 0 });
      expect(await readLedger(s.engine, bitmapistLayout(`x${s.prefix}`), SHA)).toEqual({ committed: 0, done: 0 });
    } finally {
      await s.close();
    }
  });
});
