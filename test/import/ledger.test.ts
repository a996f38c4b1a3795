// The import ledger: which templates are one, what is done with each template of a file given
// its entries (and an entry of an earlier version that names no templates), the increments its
// batches add, and all of it read back from a real Redis and the embedded engine.

import { describe, expect, it } from 'vitest';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { EMPTY_ENTRY, FileProgress, ledgerTemplates, planFile, readLedger } from '../../src/import/ledger.ts';
import type { FileLedger, LedgerEntry, LedgerTemplate, WriteSettings } from '../../src/import/ledger.ts';
import type { ImportSpec } from '../../src/import/spec.ts';
import { ENGINES } from '../helpers.ts';
import { openStore } from './store.ts';

const SHA = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const layout = bitmapistLayout('lt_');
const SETTINGS: WriteSettings = { timeZone: 'UTC', hourly: false, unique: false };
const SPEC: ImportSpec = {
  timestamp: 'timestamp',
  id: 'spec',
  numericIds: false,
  marks: ['launch', 'launch:provider:{provider}'],
  counts: { launches: '{provider}' },
  where: {},
  maps: { fed: new Map([['a', 'A']]) },
};
const TEMPLATES = ledgerTemplates(SPEC, SETTINGS);
const [LAUNCH, BY_PROVIDER, COUNT] = TEMPLATES as [LedgerTemplate, LedgerTemplate, LedgerTemplate];

const ledger = (templates: LedgerEntry[], legacy: LedgerEntry = EMPTY_ENTRY): FileLedger => ({ legacy, templates });
const none = (): LedgerEntry[] => TEMPLATES.map(() => EMPTY_ENTRY);
const at = (committed: number, done = 0): LedgerEntry => ({ committed, done });

describe('ledgerTemplates', () => {
  const id = (spec: Partial<ImportSpec>, settings: Partial<WriteSettings> = {}, t = 0) =>
    ledgerTemplates({ ...SPEC, ...spec }, { ...SETTINGS, ...settings })[t]!.id;

  it('labels each template as given; one id for templates that read the same', () => {
    expect(TEMPLATES.map((t) => [t.kind, t.label])).toEqual([
      ['mark', '--mark launch'],
      ['mark', '--mark launch:provider:{provider}'],
      ['count', '--count launches={provider}'],
    ]);
    for (const t of TEMPLATES) expect(t.id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(TEMPLATES.map((t) => t.id)).size).toBe(3);
    expect(id({ marks: ['launch:provider:{ provider }'] })).toBe(BY_PROVIDER.id);
    expect(id({ marks: ['launch:provider:{provider}'], counts: {} })).toBe(BY_PROVIDER.id);
  });

  it('a mark is another template when anything that decides its bits differs; a counter only by its name and key', () => {
    const mark = BY_PROVIDER.id;
    const markOf = (spec: Partial<ImportSpec>, settings: Partial<WriteSettings> = {}) => id({ marks: ['launch:provider:{provider}'], ...spec }, settings);
    expect(markOf({ where: { status: 'success' } })).not.toBe(mark);
    expect(markOf({ id: 'repo' })).not.toBe(mark);
    expect(markOf({ timestamp: 'at' })).not.toBe(mark);
    expect(markOf({ numericIds: true })).not.toBe(mark);
    expect(markOf({}, { hourly: true })).not.toBe(mark);
    expect(markOf({}, { unique: true })).not.toBe(mark);
    expect(markOf({}, { timeZone: 'Europe/Berlin' })).not.toBe(mark);
    const mapped = markOf({ marks: ['launch:{provider|fed}'] });
    expect(markOf({ marks: ['launch:{provider|fed}'], maps: { fed: new Map([['a', 'B']]) } })).not.toBe(mapped);
    // An unused map changes nothing.
    expect(markOf({ maps: { other: new Map() } })).toBe(mark);

    const count = COUNT.id;
    const countOf = (spec: Partial<ImportSpec>, settings: Partial<WriteSettings> = {}) => id({ marks: [], ...spec }, settings, 0);
    expect(countOf({})).toBe(count);
    expect(countOf({ where: { status: 'success' }, id: 'repo', timestamp: 'at', numericIds: true }, { hourly: true, timeZone: 'Asia/Kolkata' })).toBe(count);
    expect(countOf({ counts: { launches: '{ provider }' } })).toBe(count);
    expect(countOf({ counts: { launches: '{origin}' } })).not.toBe(count);
    expect(countOf({ counts: { other: '{provider}' } })).not.toBe(count);
    const mappedCount = countOf({ counts: { launches: '{provider|fed}' } });
    expect(mappedCount).not.toBe(count);
    expect(countOf({ counts: { launches: '{provider|fed}' }, maps: { fed: new Map([['a', 'Z']]) } })).toBe(mappedCount);
  });
});

describe('planFile', () => {
  const plan = (entries: LedgerEntry[], force = false, legacy?: LedgerEntry) => planFile('day.jsonl.gz', SHA, ledger(entries, legacy), TEMPLATES, force);
  const starts = (p: ReturnType<typeof plan>) => p.templates.map((t) => [t.start, t.fromLine]);

  it('imports a new file from line 1', () => {
    const p = plan(none());
    expect(p).toMatchObject({ status: 'imported', message: 'day.jsonl.gz: importing', fromLine: 1, legacyTakeBack: 0 });
    expect(starts(p)).toEqual([
      ['new', 1],
      ['new', 1],
      ['new', 1],
    ]);
    expect(plan(none(), true).status).toBe('imported');
  });

  it('resumes every template after its committed lines', () => {
    const p = plan([at(1500), at(1500), at(1500)]);
    expect(p).toMatchObject({ status: 'resumed', message: 'day.jsonl.gz: 1,500 lines already imported, resuming at line 1,501', fromLine: 1501 });
    expect(starts(p)).toEqual([
      ['resumed', 1501],
      ['resumed', 1501],
      ['resumed', 1501],
    ]);
  });

  it('skips a file whose templates are all done; a template not given before is imported on its own', () => {
    const done = plan([at(300, 1), at(300, 1), at(300, 1)]);
    expect(done).toMatchObject({ status: 'already imported', fromLine: Infinity });
    expect(done.message).toBe(
      `day.jsonl.gz: already imported (sha256 ${'ab'.repeat(6)}…), skipped; a --mark or --count not given before is imported on its own, --force writes the marks again`,
    );
    const added = plan([at(300, 1), EMPTY_ENTRY, at(300, 1)]);
    expect(added).toMatchObject({ status: 'added', fromLine: 1 });
    expect(starts(added)).toEqual([
      ['done', Infinity],
      ['new', 1],
      ['done', Infinity],
    ]);
    expect(added.message).toBe('day.jsonl.gz: already imported for --mark launch, --count launches={provider}; importing --mark launch:provider:{provider}');
    // A new template and an interrupted one, each from its own line.
    expect(starts(plan([at(120), EMPTY_ENTRY, at(300, 1)]))).toEqual([
      ['resumed', 121],
      ['new', 1],
      ['done', Infinity],
    ]);
  });

  it('--force writes marks again from line 1, and never counts a counter again', () => {
    const forced = plan([at(300, 1), at(300, 1), at(300, 1)], true);
    expect(forced).toMatchObject({ status: 'forced', fromLine: 1 });
    expect(starts(forced)).toEqual([
      ['forced', 1],
      ['forced', 1],
      ['done', Infinity],
    ]);
    expect(forced.templates[0]!.stored).toEqual(at(300, 1));
    expect(forced.message).toMatch(/writing --mark launch, --mark launch:provider:\{provider\} again from line 1 \(--force\); counters are never counted twice \(--count launches=\{provider\} already counted\)/);
    // An interrupted counter resumes, forced or not.
    expect(starts(plan([at(40), at(40), at(40)], true))).toEqual([
      ['forced', 1],
      ['forced', 1],
      ['resumed', 41],
    ]);
    // Only counters, all done: nothing to do.
    const counters = planFile('f', SHA, ledger([at(3, 1)]), [COUNT], true);
    expect(counters.status).toBe('already imported');
    expect(counters.message).toMatch(/counters are never counted twice/);
  });

  it('an entry of an earlier version (no templates): done covers every template given now; partial is taken over where it stopped', () => {
    const earlier = plan(none(), false, at(2000, 1));
    expect(earlier.status).toBe('already imported');
    expect(starts(earlier).map(([s]) => s)).toEqual(['done earlier', 'done earlier', 'done earlier']);
    expect(earlier.message).toMatch(/already imported by an earlier version .*; --force writes the marks given again/);
    const forced = plan(none(), true, at(2000, 1));
    expect(starts(forced)).toEqual([
      ['forced', 1],
      ['forced', 1],
      ['done earlier', Infinity],
    ]);
    expect(forced.legacyTakeBack).toBe(0);
    // A template with its own entry follows it.
    expect(starts(plan([EMPTY_ENTRY, at(50, 1), EMPTY_ENTRY], false, at(2000, 1))).map(([s]) => s)).toEqual(['done earlier', 'done', 'done earlier']);

    const partial = plan(none(), false, at(700));
    expect(partial).toMatchObject({ status: 'resumed', fromLine: 701, legacyTakeBack: 700 });
    expect(partial.templates.map((t) => t.adopts)).toEqual([700, 700, 700]);
    // Forced, marks start over; the counter still takes the earlier lines over.
    const partialForced = plan(none(), true, at(700));
    expect(starts(partialForced)).toEqual([
      ['forced', 1],
      ['forced', 1],
      ['resumed', 701],
    ]);
    expect(partialForced.legacyTakeBack).toBe(700);
  });
});

describe('FileProgress', () => {
  const field = (t: LedgerTemplate, by: number) => ({ key: 'lt:imports', field: `${SHA}:${t.id}`, by });
  const done = (t: LedgerTemplate, by: number) => ({ key: 'lt:imports', field: `${SHA}:${t.id}:done`, by });
  const progress = (entries: LedgerEntry[], force = false, legacy?: LedgerEntry) =>
    new FileProgress(layout, SHA, TEMPLATES, planFile('f', SHA, ledger(entries, legacy), TEMPLATES, force));
  const all = () => true;

  it('moves a template once it has written a line, and records it done with the last batch', () => {
    expect(layout.importsKey).toBe('lt:imports');
    const p = progress(none());
    // Batch 1: no line had a provider; only `launch` wrote.
    expect(p.increments(100, [90, 0, 0], false, all)).toEqual([field(LAUNCH, 100)]);
    expect(p.increments(200, [95, 3, 3], false, all)).toEqual([field(LAUNCH, 100), field(BY_PROVIDER, 200), field(COUNT, 200)]);
    expect(p.increments(250, [50, 50, 50], true, all)).toEqual([
      field(LAUNCH, 50),
      done(LAUNCH, 1),
      field(BY_PROVIDER, 50),
      done(BY_PROVIDER, 1),
      field(COUNT, 50),
      done(COUNT, 1),
    ]);
    expect(p.written(0)).toBe(235);
  });

  it('a template that wrote nothing is not recorded; one that reads nothing to import is recorded at the end', () => {
    const p = progress(none());
    expect(p.increments(100, [100, 0, 0], false, all)).toEqual([field(LAUNCH, 100)]);
    // The last batch: the provider template has a problem, the counter read lines that hold nothing for it.
    expect(p.increments(150, [50, 0, 0], true, (t) => t !== 1)).toEqual([field(LAUNCH, 50), done(LAUNCH, 1), field(COUNT, 150), done(COUNT, 1)]);
  });

  it('takes nothing but its own entry: a done template is left alone, a forced one starts over', () => {
    const p = progress([at(300, 1), at(300, 1), at(300, 1)], true);
    expect(p.writes(0, 1)).toBe(true);
    expect(p.writes(2, 1)).toBe(false);
    expect(p.hadWritten(0)).toBe(true);
    expect(p.increments(100, [100, 100, 0], false, all)).toEqual([field(LAUNCH, -200), done(LAUNCH, -1), field(BY_PROVIDER, -200), done(BY_PROVIDER, -1)]);
    expect(p.increments(300, [200, 200, 0], true, all)).toEqual([field(LAUNCH, 200), done(LAUNCH, 1), field(BY_PROVIDER, 200), done(BY_PROVIDER, 1)]);
  });

  it("an earlier version's partial entry is taken over in the first write, by every template it resumes", () => {
    const p = progress(none(), false, at(700));
    expect(p.writes(0, 700)).toBe(false);
    expect(p.writes(0, 701)).toBe(true);
    expect(p.increments(800, [0, 0, 0], false, all)).toEqual([
      { key: 'lt:imports', field: SHA, by: -700 },
      field(LAUNCH, 800),
      field(BY_PROVIDER, 800),
      field(COUNT, 800),
    ]);
    expect(p.increments(900, [100, 100, 100], true, all)).toEqual([
      field(LAUNCH, 100),
      done(LAUNCH, 1),
      field(BY_PROVIDER, 100),
      done(BY_PROVIDER, 1),
      field(COUNT, 100),
      done(COUNT, 1),
    ]);
  });
});

describe.each(ENGINES)('the ledger in %s', (kind) => {
  it('reads back what batches wrote: resume, done, a template added, a forced import that stops and resumes', async () => {
    const s = await openStore(kind);
    const ids = TEMPLATES.map((t) => t.id);
    const read = (sha = SHA) => readLedger(s.engine, s.layout, sha, ids);
    const plan = async (force = false) => planFile('f', SHA, await read(), TEMPLATES, force);
    /** Writes batches as the import does: each batch's ledger increments in its write. */
    const batches = async (p: FileProgress, ends: number[], wrote: number[], lastDone = true) => {
      for (const [i, end] of ends.entries()) await s.engine.write([], p.increments(end, wrote, i === ends.length - 1 && lastDone, all));
    };
    const all = () => true;
    const progress = async (force = false) => new FileProgress(s.layout, SHA, TEMPLATES, await plan(force));
    try {
      expect(await read()).toEqual({ legacy: EMPTY_ENTRY, templates: [EMPTY_ENTRY, EMPTY_ENTRY, EMPTY_ENTRY] });
      // Two batches of three, then stopped.
      const first = await progress();
      await batches(first, [100, 200], [10, 10, 10], false);
      expect((await read()).templates).toEqual([at(200), at(200), at(200)]);
      expect(await plan()).toMatchObject({ status: 'resumed', fromLine: 201 });
      await batches(await progress(), [250], [10, 10, 10]);
      expect((await read()).templates).toEqual([at(250, 1), at(250, 1), at(250, 1)]);
      expect((await plan()).status).toBe('already imported');

      // Forced: the marks' entries start over and, stopped after a batch, resume; the counter's stays.
      await batches(await progress(true), [100], [10, 10, 0], false);
      expect((await read()).templates).toEqual([at(100), at(100), at(250, 1)]);
      const resumed = await plan();
      expect(resumed.templates.map((t) => [t.start, t.fromLine])).toEqual([
        ['resumed', 101],
        ['resumed', 101],
        ['done', Infinity],
      ]);
      expect(resumed.status).toBe('added');
      await batches(await progress(), [200, 250], [10, 10, 0]);
      expect((await read()).templates).toEqual([at(250, 1), at(250, 1), at(250, 1)]);

      // Entries are per content, per template and per key prefix; only integers, so `copy` carries them.
      expect(await read(OTHER)).toEqual({ legacy: EMPTY_ENTRY, templates: [EMPTY_ENTRY, EMPTY_ENTRY, EMPTY_ENTRY] });
      expect((await readLedger(s.engine, bitmapistLayout(`x${s.prefix}`), SHA, ids)).templates[0]).toEqual(EMPTY_ENTRY);
      const [all2] = (await s.engine.run({ registers: 0, instructions: [{ op: 'hgetall', key: s.layout.importsKey }] })) as [Array<[string, number]>];
      expect(Object.fromEntries(all2)).toEqual(Object.fromEntries(ids.flatMap((id) => [[`${SHA}:${id}`, 250], [`${SHA}:${id}:done`, 1]])));

      // An earlier version's partial entry, taken over by a resumed run in its first write.
      await s.engine.write([], [{ key: s.layout.importsKey, field: OTHER, by: 700 }]);
      const legacy = new FileProgress(s.layout, OTHER, TEMPLATES, planFile('g', OTHER, await readLedger(s.engine, s.layout, OTHER, ids), TEMPLATES, false));
      await s.engine.write([], legacy.increments(800, [5, 5, 5], false, all));
      expect(await readLedger(s.engine, s.layout, OTHER, ids)).toEqual({ legacy: EMPTY_ENTRY, templates: [at(800), at(800), at(800)] });
    } finally {
      await s.close();
    }
  });
});
