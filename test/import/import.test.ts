// importFiles on a generated demo archive, against a reference computed independently from the
// same lines: keys and members, counters, skipped lines and templates, re-import, --force (marks
// again, counters never), resume, filters.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBits } from '../../src/bitmap/engines/engine.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { DEMO_IMPORT_SPEC, generateDemo } from '../../src/demo/generate.ts';
import type { DemoOptions } from '../../src/demo/generate.ts';
import { writeDemoArchive } from '../../src/demo/write.ts';
import { ImportFailed, importFiles, ledgerTemplates, readLedger } from '../../src/import/importer.ts';
import type { LedgerEntry } from '../../src/import/ledger.ts';
import type { ImportOptions, ImportSummary } from '../../src/import/importer.ts';
import type { ImportSpec } from '../../src/import/spec.ts';
import { formatSummary } from '../../src/import/summary.ts';
import { ENGINES } from '../helpers.ts';
import { plain, reference, stored } from './reference.ts';
import { openStore } from './store.ts';
import type { Store } from './store.ts';

const UTC = new TimeZone('UTC');
// 10 days across a month and ISO week boundaries, with broken lines.
const DEMO: DemoOptions = { days: 10, end: '2026-10-05', linesPerDay: 220, seed: 7, badLines: 0.03 };
const SPEC: ImportSpec = DEMO_IMPORT_SPEC;

const dirs: string[] = [];
let archive: string[] = [];
/** File name → its lines, as generated. */
const linesOf = new Map<string, string[]>();
const refFiles = (files: readonly string[]) => files.map((name) => ({ name, lines: linesOf.get(name)! }));

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-import-'));
  dirs.push(dir);
  const result = await writeDemoArchive({ ...DEMO, out: dir });
  archive = result.files;
  for (const day of generateDemo(DEMO)) linesOf.set(join(dir, `${day.date}.jsonl.gz`), day.lines);
  // The same content as plain text: one file under a .jsonl name, and a gzip file without .gz.
  const plainFile = join(dir, 'plain.jsonl');
  writeFileSync(plainFile, execFileSync('gunzip', ['-c', archive[0]!]));
  linesOf.set(plainFile, linesOf.get(archive[0]!)!);
  const gzNoExt = join(dir, 'gzip-without-extension.data');
  copyFileSync(archive[1]!, gzNoExt);
  linesOf.set(gzNoExt, linesOf.get(archive[1]!)!);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const run = (s: Store, files: readonly string[], options: ImportOptions = {}, spec: ImportSpec = SPEC): Promise<ImportSummary> =>
  importFiles(s.engine, s.layout, UTC, files, spec, options);

function expectSkips(summary: ImportSummary, expected: Map<string, string[]>, missed: Map<string, string[]> = new Map()): void {
  const got = (of: ImportSummary['skipped']) => Object.fromEntries(Object.entries(of).map(([r, k]) => [r, { count: k.count, first: k.first }]));
  const want = (of: Map<string, string[]>) => Object.fromEntries([...of].map(([r, where]) => [r, { count: where.length, first: where.slice(0, 5) }]));
  expect(got(summary.skipped)).toEqual(want(expected));
  expect(got(summary.missed)).toEqual(want(missed));
}

/** The entries of each template of SPEC for a file. */
async function entries(s: Store, sha256: string, spec: ImportSpec = SPEC): Promise<LedgerEntry[]> {
  const ids = ledgerTemplates(spec, { timeZone: 'UTC', hourly: false, unique: false }).map((t) => t.id);
  const ledger = await readLedger(s.engine, s.layout, sha256, ids);
  expect(ledger.legacy).toEqual({ committed: 0, done: 0 });
  return ledger.templates;
}
const each = (entry: LedgerEntry, spec: ImportSpec = SPEC): LedgerEntry[] => [...spec.marks, ...Object.keys(spec.counts)].map(() => entry);

describe.each(ENGINES)('import into %s', (kind) => {
  it('writes exactly the reference keys, members and counters; skips bad lines with their locations; re-import changes nothing', async () => {
    const s = await openStore(kind);
    try {
      const files = [...archive.slice(2), join(dirs[0]!, 'plain.jsonl'), join(dirs[0]!, 'gzip-without-extension.data')];
      const ref = reference(refFiles(files), { prefix: s.prefix });
      const summary = await run(s, files, { batch: 128 });
      expect(summary.files.map((f) => f.status)).toEqual(files.map(() => 'imported'));
      expect(summary.linesRead).toBe(ref.lines);
      expect(summary.linesImported).toBe(ref.imported);
      expect(summary.marks).toBe(ref.marks);
      expect(summary.counterIncrements).toBe(ref.counts);
      expect(summary.newIds).toBe(ref.specs.size);
      expect(summary.interrupted).toBe(false);
      expect(ref.skipped.size).toBeGreaterThanOrEqual(3); // the archive has broken lines of several kinds
      expect(ref.missed.size).toBe(2); // and lines without a provider, which still mark `launch`
      expectSkips(summary, ref.skipped, ref.missed);
      expect(summary.files.every((f) => f.problems.length === 0)).toBe(true);

      const got = await stored(s.engine, s.prefix);
      // Known bitmapist names: 2026-10-05 is a Monday of ISO week 41, in month 10.
      for (const k of ['launch_2026-10-5', 'launch_W2026-41', 'launch_2026-10', 'launch_2026-9', 'launch_W2026-40', 'launch:provider:GitHub_2026-9-30']) {
        expect(got.bitmaps.has(`${s.prefix}${k}`), k).toBe(true);
      }
      expect(plain(got.bitmaps)).toEqual(plain(ref.bitmaps));
      expect(plain(got.counters)).toEqual(plain(ref.counters));
      expect(formatSummary(summary)).toMatch(/no spec +\d+ +first at .*:\d+/);
      expect(formatSummary(summary)).toMatch(/templates not written for a line .*\n(.*\n)* {2}--mark launch:provider:\{provider\}: no provider +\d+ +first at /);

      // Each file's ledger entries: every line committed, done, for each template.
      const sample = summary.files[0]!;
      expect(await entries(s, sample.sha256)).toEqual(each({ committed: linesOf.get(sample.file)!.length, done: 1 }));

      // Again: nothing is read or written.
      const again = await run(s, files, { batch: 128 });
      expect(again.files.map((f) => f.status)).toEqual(files.map(() => 'already imported'));
      expect(again.linesRead).toBe(0);
      expect(again.batches).toBe(0);
      expect(formatSummary(again)).toContain(`${files.length} already imported (skipped)`);
      const after = await stored(s.engine, s.prefix);
      expect(plain(after.counters)).toEqual(plain(ref.counters));
      expect(plain(after.bitmaps)).toEqual(plain(ref.bitmaps));
    } finally {
      await s.close();
    }
  });

  it('resumes an interrupted import where its ledger says, without counting a line twice', async () => {
    const s = await openStore(kind);
    try {
      const files = archive.slice(0, 3);
      const ref = reference(refFiles(files), { prefix: s.prefix });
      // Interrupted after 3 batches of 50 lines: the first file holds more than 150 lines.
      expect(linesOf.get(files[0]!)!.length).toBeGreaterThan(150);
      const controller = new AbortController();
      let batches = 0;
      const first = await run(s, files, {
        batch: 50,
        signal: controller.signal,
        onProgress: () => {
          if (++batches === 3) controller.abort();
        },
      });
      expect(first.interrupted).toBe(true);
      expect(first.batches).toBe(3);
      expect(first.linesRead).toBe(150);
      expect(first.files.map((f) => f.status)).toEqual(['interrupted']);
      expect(await entries(s, first.files[0]!.sha256)).toEqual(each({ committed: 150, done: 0 }));

      const events: string[] = [];
      const second = await run(s, files, { batch: 50, onFile: (e) => events.push(e.message) });
      expect(second.files.map((f) => [f.status, f.fromLine])).toEqual([
        ['resumed', 151],
        ['imported', 1],
        ['imported', 1],
      ]);
      expect(events[0]).toMatch(/150 lines already imported, resuming at line 151/);
      expect(second.linesAlreadyIn).toBe(150);
      expect(first.linesRead + second.linesRead).toBe(ref.lines);
      expect(first.linesImported + second.linesImported).toBe(ref.imported);
      expect(first.newIds + second.newIds).toBe(ref.specs.size);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.counters)).toEqual(plain(ref.counters));
      expect(plain(got.bitmaps)).toEqual(plain(ref.bitmaps));
      expect(formatSummary(second)).toMatch(/1 resumed \(.* at line 151\)/);
    } finally {
      await s.close();
    }
  });

  it('--force writes the marks again and never the counters: counters stay, bitmaps stay, one entry a template', async () => {
    const s = await openStore(kind);
    try {
      const files = archive.slice(3, 5);
      const ref = reference(refFiles(files), { prefix: s.prefix });
      await run(s, files);
      // Marks lost since (a key deleted by hand) come back; the counters are not added again.
      const lost = `${s.prefix}launch:provider:GitHub_2026-9-30`;
      expect(ref.bitmaps.has(lost)).toBe(true);
      await s.engine.delete([lost]);
      const events: string[] = [];
      const forced = await run(s, files, { force: true, onFile: (e) => events.push(e.message) });
      expect(forced.files.map((f) => f.status)).toEqual(['forced', 'forced']);
      expect(events[0]).toMatch(/writing --mark launch, --mark launch:provider:\{provider\} again from line 1 \(--force\); counters are never counted twice \(--count launches=\{provider\} already counted\)/);
      expect(forced.linesImported).toBe(ref.imported);
      expect(forced.marks).toBe(ref.marks);
      expect(forced.counterIncrements).toBe(0);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.counters)).toEqual(plain(ref.counters));
      expect(plain(got.bitmaps)).toEqual(plain(ref.bitmaps));
      for (const f of forced.files) {
        expect(await entries(s, f.sha256)).toEqual(each({ committed: linesOf.get(f.file)!.length, done: 1 }));
      }
      const again = await run(s, files);
      expect(again.files.map((f) => f.status)).toEqual(['already imported', 'already imported']);
    } finally {
      await s.close();
    }
  });

  it('a file that cannot be read fails the import, keeping what was committed', async () => {
    const s = await openStore(kind);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'bitmapql-import-corrupt-'));
      dirs.push(dir);
      const good = archive[7]!;
      const broken = join(dir, 'broken.jsonl.gz');
      const bytes = readFileSync(archive[8]!);
      writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length * 0.6))); // gzip cut short
      const error = await run(s, [good, broken], { batch: 40 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImportFailed);
      const failed = (error as ImportFailed).summary;
      expect((error as ImportFailed).message).toMatch(/broken\.jsonl\.gz: unexpected end of file/);
      expect(failed.files.map((f) => f.status)).toEqual(['imported', 'failed']);
      const committed = (await entries(s, failed.files[1]!.sha256))[0]!.committed;
      expect(committed).toBeGreaterThan(0);
      expect(failed.linesRead).toBe(linesOf.get(good)!.length + committed);
      expect(formatSummary(failed)).toContain('1 failed (');
    } finally {
      await s.close();
    }
  });

  it('after a failed write, a re-run resumes after the last committed batch with exact counters', async () => {
    const s = await openStore(kind);
    try {
      const files = [archive[9]!];
      const ref = reference(refFiles(files), { prefix: s.prefix });
      // Storage that fails on the third write (after two batches of 40 lines are in).
      let writes = 0;
      const flaky: Engine = Object.create(s.engine, {
        write: {
          value: (...args: Parameters<Engine['write']>) => (++writes === 3 ? Promise.reject(new Error('connection lost')) : s.engine.write(...args)),
        },
      }) as Engine;
      const error = await importFiles(flaky, s.layout, UTC, files, SPEC, { batch: 40 }).catch((e: unknown) => e);
      expect((error as ImportFailed).message).toMatch(/connection lost/);
      expect((error as ImportFailed).summary.linesRead).toBe(80);
      expect(await entries(s, (error as ImportFailed).summary.files[0]!.sha256)).toEqual(each({ committed: 80, done: 0 }));

      const again = await run(s, files, { batch: 40 });
      expect(again.files.map((f) => [f.status, f.fromLine])).toEqual([['resumed', 81]]);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.counters)).toEqual(plain(ref.counters));
      expect(plain(got.bitmaps)).toEqual(plain(ref.bitmaps));
    } finally {
      await s.close();
    }
  });

  it('--where keeps only matching lines; the others are skipped as filtered', async () => {
    const s = await openStore(kind);
    try {
      const files = archive.slice(5, 7);
      const ref = reference(refFiles(files), { prefix: s.prefix, status: 'failure' });
      expect(ref.skipped.get('filtered')!.length).toBeGreaterThan(ref.imported);
      expect(ref.imported).toBeGreaterThan(0);
      const summary = await run(s, files, {}, { ...SPEC, where: { status: 'failure' } });
      expectSkips(summary, ref.skipped, ref.missed);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.bitmaps)).toEqual(plain(ref.bitmaps));
      expect(plain(got.counters)).toEqual(plain(ref.counters));
    } finally {
      await s.close();
    }
  });

  it('numeric ids are used as they are; epoch-ms timestamps; bad ids and stamps are skipped', async () => {
    const s = await openStore(kind);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'bitmapql-import-numeric-'));
      dirs.push(dir);
      const file = join(dir, 'numeric.jsonl');
      const t0 = Date.UTC(2026, 0, 4, 23, 30); // Sunday 2026-01-04, ISO week 2026-1
      const rows = [
        { at: t0, user: 5, ev: 'signup', n: { plan: 'pro' } },
        { at: t0 + 3_600_000, user: '1000000', ev: 'signup', n: { plan: 'free' } }, // Monday, week 2
        { at: t0, user: 5, ev: 'login', n: { plan: 'pro' } },
        { at: '2026-01-04T10:00:00+02:00', user: 7, ev: 'login', n: { plan: 'pro' } },
        { at: t0, user: -1, ev: 'login' },
        { at: t0, user: 2 ** 32, ev: 'login' },
        { at: t0, user: 1.5, ev: 'login' },
        { at: t0, user: 'abc', ev: 'login' },
        { at: 'yesterday', user: 1, ev: 'login' },
        { at: t0, user: 1, ev: 'bad name' },
        { at: t0, user: 1 },
      ];
      writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\r\n')}\r\n\n[1]`);
      const spec: ImportSpec = { timestamp: 'at', id: 'user', numericIds: true, marks: ['{ev}', '{ev}:{n.plan}'], counts: {}, where: {} };
      const summary = await run(s, [file], { hourly: true, unique: true }, spec);
      expect(Object.fromEntries(Object.entries(summary.skipped).map(([r, k]) => [r, k.first]))).toEqual({
        'bad id': [`${file}:5`, `${file}:6`, `${file}:7`, `${file}:8`],
        'bad timestamp': [`${file}:9`],
        'bad event name': [`${file}:10`],
        'no ev': [`${file}:11`],
        'empty line': [`${file}:12`],
        'not a JSON object': [`${file}:13`],
      });
      expect(summary.linesImported).toBe(4);
      expect(summary.newIds).toBe(0);
      const members = async (key: string): Promise<number[]> =>
        decodeBits((await s.engine.dump(`${s.prefix}${key}`)) ?? Buffer.alloc(0), 0, 0, 100).ids;
      expect(await members('signup_2026-1')).toEqual([5, 1000000]);
      expect(await members('signup_W2026-1')).toEqual([5]);
      expect(await members('signup_W2026-2')).toEqual([1000000]);
      expect(await members('signup_2026-1-4-23')).toEqual([5]);
      expect(await members('signup_2026-1-5-0')).toEqual([1000000]);
      expect(await members('signup_u')).toEqual([5, 1000000]);
      expect(await members('signup:pro_2026-1-4')).toEqual([5]);
      expect(await members('login_2026-1-4')).toEqual([5, 7]);
      expect(await members('login_2026-1-4-8')).toEqual([7]);
      expect(await members('login:pro_u')).toEqual([5, 7]);
      // No string id mapping was touched.
      const meta: string[] = [];
      for await (const b of s.engine.scan(`${s.prefix.replace(/_$/, '')}:ids`)) meta.push(...b);
      expect(meta).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
