// The ledger per file and template, on a generated demo archive and against references worked
// out with Sets and Maps: a template added later is imported on its own (counters never twice),
// a template that writes nothing is not recorded and the summary says why, value maps, and
// entries written before templates had their own.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeZone } from '../../src/bitmap/period.ts';
import { DEMO_IMPORT_SPEC, generateDemo } from '../../src/demo/generate.ts';
import type { DemoOptions } from '../../src/demo/generate.ts';
import { writeDemoArchive } from '../../src/demo/write.ts';
import { importFiles, ledgerTemplates, readLedger } from '../../src/import/importer.ts';
import type { ImportOptions, ImportSummary } from '../../src/import/importer.ts';
import { sha256File } from '../../src/import/reader.ts';
import type { ImportSpec } from '../../src/import/spec.ts';
import { formatSummary } from '../../src/import/summary.ts';
import { ENGINES } from '../helpers.ts';
import { plain, reference, stored, suffixes } from './reference.ts';
import { openStore } from './store.ts';
import type { Store } from './store.ts';

const UTC = new TimeZone('UTC');
const DEMO: DemoOptions = { days: 3, end: '2026-10-05', linesPerDay: 160, seed: 21, badLines: 0.05 };
const SPEC: ImportSpec = DEMO_IMPORT_SPEC;
/** Two of the demo's three origins; gesis.mybinder.org is left out on purpose. */
const FEDERATION = new Map([
  ['gke.mybinder.org', 'GKE'],
  ['ovh.mybinder.org', 'OVH'],
]);
const WITH_FEDERATION: ImportSpec = {
  ...SPEC,
  marks: [...SPEC.marks, 'launch:federation:{origin|federation}'],
  counts: { ...SPEC.counts, federations: '{origin|federation}' },
  maps: { federation: FEDERATION },
};

let dir = '';
let files: string[] = [];
/** File → its lines, as generated. */
const linesOf = new Map<string, string[]>();
const all = () => files.map((name) => ({ name, lines: linesOf.get(name)! }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bitmapql-templates-'));
  files = (await writeDemoArchive({ ...DEMO, out: dir })).files;
  for (const day of generateDemo(DEMO)) linesOf.set(join(dir, `${day.date}.jsonl.gz`), day.lines);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (s: Store, spec: ImportSpec, options: ImportOptions = {}, which = files): Promise<ImportSummary> =>
  importFiles(s.engine, s.layout, UTC, which, spec, options);

type Row = Record<string, unknown>;

/** The lines a template reads (valid JSON with a text timestamp and spec), as objects. */
function rows(lines: readonly string[]): Row[] {
  return lines.flatMap((line) => {
    try {
      const o = JSON.parse(line) as Row;
      return typeof o.timestamp === 'string' && typeof o.spec === 'string' ? [o] : [];
    } catch {
      return [];
    }
  });
}

/** What a mark writes: key → specs, for lines whose name `nameOf` gives. */
function marksOf(lines: readonly string[], prefix: string, nameOf: (o: Row) => string | undefined): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const o of rows(lines)) {
    const name = nameOf(o);
    if (name === undefined) continue;
    const s = suffixes(Date.parse(o.timestamp as string));
    for (const suffix of [s.month, s.week, s.day]) {
      const key = `${prefix}${name}_${suffix}`;
      if (!out.has(key)) out.set(key, new Set());
      out.get(key)!.add(o.spec as string);
    }
  }
  return out;
}

/** What a counter adds: hash key → counted key → count. */
function countsOf(lines: readonly string[], prefix: string, counter: string, keyOf: (o: Row) => string | undefined): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const o of rows(lines)) {
    const key = keyOf(o);
    if (key === undefined) continue;
    const s = suffixes(Date.parse(o.timestamp as string));
    for (const suffix of [s.hour, s.day, s.week, s.month]) {
      const hash = `${prefix.replace(/_$/, '')}:counter:${counter}:${suffix}`;
      if (!out.has(hash)) out.set(hash, new Map());
      out.get(hash)!.set(key, (out.get(hash)!.get(key) ?? 0) + 1);
    }
  }
  return out;
}

const federationOf = (o: Row): string | undefined => FEDERATION.get(o.origin as string);
const merged = <V>(...maps: Array<Map<string, V>>): Map<string, V> => new Map(maps.flatMap((m) => [...m]));
const linesAll = (): string[] => files.flatMap((f) => linesOf.get(f)!);

describe.each(ENGINES)('the ledger per template, in %s', (kind) => {
  it('a mark and a counter added later are imported on their own: the counters already in stay exactly as they were', async () => {
    const s = await openStore(kind);
    try {
      const ref = reference(all(), { prefix: s.prefix });
      await run(s, SPEC);
      const events: string[] = [];
      const added = await run(s, WITH_FEDERATION, { batch: 64, onFile: (e) => events.push(e.message) });
      expect(added.files.map((f) => f.status)).toEqual(files.map(() => 'added'));
      expect(events[0]).toBe(
        `${files[0]}: already imported for --mark launch, --mark launch:provider:{provider}, --count launches={provider}; importing --mark launch:federation:{origin|federation}, --count federations={origin|federation}`,
      );
      const federated = rows(linesAll()).filter((o) => federationOf(o) !== undefined).length;
      const unmapped = rows(linesAll()).length - federated;
      expect(unmapped).toBeGreaterThan(10); // gesis lines
      expect(added.marks).toBe(federated);
      expect(added.counterIncrements).toBe(federated);
      // gesis lines write neither new template: for this run they are skipped.
      expect(added.linesImported).toBe(federated);
      expect(added.skipped['unmapped origin (--map federation)']!.count).toBe(unmapped);
      expect(added.files.every((f) => f.problems.length === 0)).toBe(true);

      const newMarks = marksOf(linesAll(), s.prefix, (o) => (federationOf(o) ? `launch:federation:${federationOf(o)}` : undefined));
      const newCounts = countsOf(linesAll(), s.prefix, 'federations', federationOf);
      expect(newMarks.has(`${s.prefix}launch:federation:GKE_2026-10-5`)).toBe(true);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.bitmaps)).toEqual(plain(merged(ref.bitmaps, newMarks)));
      expect(plain(got.counters)).toEqual(plain(merged(ref.counters, newCounts)));

      // All five templates are in: nothing is read or written, with or without the new ones.
      for (const spec of [WITH_FEDERATION, SPEC]) {
        const again = await run(s, spec);
        expect(again.files.map((f) => f.status)).toEqual(files.map(() => 'already imported'));
        expect(again.linesRead).toBe(0);
      }
      // Forced, every mark is written again and no counter: the store is unchanged.
      const forced = await run(s, WITH_FEDERATION, { force: true });
      expect(forced.counterIncrements).toBe(0);
      const after = await stored(s.engine, s.prefix);
      expect(plain(after.bitmaps)).toEqual(plain(got.bitmaps));
      expect(plain(after.counters)).toEqual(plain(got.counters));
    } finally {
      await s.close();
    }
  });

  it('an added template interrupted part way resumes where its own entry says; the others are not read again for it', async () => {
    const s = await openStore(kind);
    try {
      const one = [files[0]!];
      const lines = linesOf.get(files[0]!)!;
      expect(lines.length).toBeGreaterThan(100);
      await run(s, SPEC, {}, one);
      const byOrigin: ImportSpec = { ...SPEC, marks: [...SPEC.marks, 'launch:origin:{origin}'] };
      const controller = new AbortController();
      let acks = 0;
      const first = await run(s, byOrigin, { batch: 40, signal: controller.signal, onProgress: () => ++acks === 2 && controller.abort() }, one);
      expect(first.files.map((f) => f.status)).toEqual(['interrupted']);
      const events: string[] = [];
      const second = await run(s, byOrigin, { batch: 40, onFile: (e) => events.push(e.message) }, one);
      expect(events[0]).toMatch(/already imported for --mark launch, .*; resuming --mark launch:origin:\{origin\} from line 81$/);
      expect(second.files.map((f) => [f.status, f.fromLine])).toEqual([['added', 81]]);
      expect(second.linesAlreadyIn).toBe(80);
      expect(second.counterIncrements).toBe(0);
      const ref = reference([{ name: files[0]!, lines }], { prefix: s.prefix });
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.counters)).toEqual(plain(ref.counters));
      expect(plain(got.bitmaps)).toEqual(plain(merged(ref.bitmaps, marksOf(lines, s.prefix, (o) => `launch:origin:${o.origin as string}`))));
    } finally {
      await s.close();
    }
  });

  it('a template misspelt writes nothing and is not recorded: the summary names the field and the nearest one; the corrected run imports', async () => {
    const s = await openStore(kind);
    try {
      const typo: ImportSpec = { ...SPEC, marks: ['launch:{provder}'], counts: {} };
      const summary = await run(s, typo);
      expect(summary.files.map((f) => f.status)).toEqual(files.map(() => 'not imported'));
      const read = rows(linesOf.get(files[0]!)!).length;
      expect(summary.files[0]!.problems).toEqual([`--mark launch:{provder}: field 'provder' is missing in all ${read.toLocaleString('en-US')} lines; did you mean 'provider'?`]);
      const text = formatSummary(summary);
      expect(text).toMatch(/^files: 3 files: 3 not imported \(every line was skipped\)$/m);
      expect(text).toContain(`\n  ${files[0]}: every line was skipped: --mark launch:{provder}: field 'provder' is missing in all`);
      expect(summary.linesImported).toBe(0);
      // Nothing written: no bitmap, no counter, no ledger entry, and no string id assigned for nothing.
      expect(summary.newIds).toBe(0);
      const got = await stored(s.engine, s.prefix);
      expect(got.bitmaps.size + got.counters.size).toBe(0);
      const ids = ledgerTemplates(typo, { timeZone: 'UTC', hourly: false, unique: false }).map((t) => t.id);
      expect((await readLedger(s.engine, s.layout, summary.files[0]!.sha256, ids)).templates).toEqual([{ committed: 0, done: 0 }]);
      // Run again as it was: read again, and the same answer.
      expect((await run(s, typo)).files.map((f) => f.status)).toEqual(files.map(() => 'not imported'));

      const fixed = await run(s, SPEC);
      expect(fixed.files.map((f) => f.status)).toEqual(files.map(() => 'imported'));
      const ref = reference(all(), { prefix: s.prefix });
      const after = await stored(s.engine, s.prefix);
      expect(plain(after.bitmaps)).toEqual(plain(ref.bitmaps));
      expect(plain(after.counters)).toEqual(plain(ref.counters));
    } finally {
      await s.close();
    }
  });

  it('beside good templates, a misspelt one is the only one not recorded; its correction is then added alone', async () => {
    const s = await openStore(kind);
    try {
      const spec: ImportSpec = { ...SPEC, marks: ['launch', 'launch:provider:{provder}'] };
      const summary = await run(s, spec, { batch: 100 });
      expect(summary.files.map((f) => f.status)).toEqual(files.map(() => 'imported'));
      expect(summary.files.map((f) => f.problems.length)).toEqual(files.map(() => 1));
      const read = rows(linesOf.get(files[0]!)!).length;
      expect(summary.files[0]!.problems).toEqual([`--mark launch:provider:{provder}: field 'provder' is missing in all ${read} lines; did you mean 'provider'?`]);
      expect(formatSummary(summary)).toMatch(/not recorded as imported \(nothing was written; correct the template and run again\):\n {2}.*: --mark launch:provider:\{provder\}: field 'provder'/);

      const fixed = await run(s, SPEC);
      expect(fixed.files.map((f) => f.status)).toEqual(files.map(() => 'added'));
      expect(fixed.counterIncrements).toBe(0);
      const ref = reference(all(), { prefix: s.prefix });
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.bitmaps)).toEqual(plain(ref.bitmaps));
      expect(plain(got.counters)).toEqual(plain(ref.counters));
    } finally {
      await s.close();
    }
  });

  it('a --where field no line has is a mistake; a --where value no line has is a file with nothing to import', async () => {
    const s = await openStore(kind);
    try {
      const one = [files[1]!];
      const typo = await run(s, { ...SPEC, where: { stauts: 'success' } }, {}, one);
      expect(typo.files.map((f) => f.status)).toEqual(['not imported']);
      // Said once: the lines stopped before any template.
      expect(typo.files[0]!.problems).toEqual(["--where field 'stauts' is in no line; did you mean 'status'?"]);

      const none = await run(s, { ...SPEC, where: { status: 'no-such-status' } }, {}, one);
      expect(none.files.map((f) => [f.status, f.problems])).toEqual([['imported', []]]);
      expect(none.linesImported).toBe(0);
      expect((await run(s, { ...SPEC, where: { status: 'no-such-status' } }, {}, one)).files[0]!.status).toBe('already imported');
    } finally {
      await s.close();
    }
  });

  it('a file of no JSON, without the id field, or whose values its map lacks, says so', async () => {
    const s = await openStore(kind);
    const local = mkdtempSync(join(tmpdir(), 'bitmapql-templates-bad-'));
    try {
      const csv = join(local, 'launches.csv');
      writeFileSync(csv, 'timestamp,spec,provider\n2026-10-05T10:00:00Z,a/b,GitHub\n');
      const notJson = await run(s, SPEC, {}, [csv]);
      expect(notJson.files[0]!.status).toBe('not imported');
      expect(notJson.files[0]!.problems).toEqual(['invalid JSON in all 2 lines: the import reads one JSON object a line']);

      const noId = await run(s, { ...SPEC, id: 'sepc' }, {}, [files[2]!]);
      expect(noId.files[0]!.status).toBe('not imported');
      // Of the lines with a time (the others stopped before the id was looked at).
      const timed = linesOf.get(files[2]!)!.filter((l) => {
        try {
          return typeof (JSON.parse(l) as Row).timestamp === 'string';
        } catch {
          return false;
        }
      }).length;
      expect(noId.files[0]!.problems).toEqual([`field 'sepc' (--id) is missing in all ${timed} lines; did you mean 'spec'?`]);
      expect(formatSummary(noId)).toContain(`\n  ${files[2]}: every line was skipped: field 'sepc' (--id) is missing in all ${timed} lines; did you mean 'spec'?`);
      expect(noId.newIds).toBe(0);

      // A map that holds none of the values.
      const wrongMap: ImportSpec = { ...SPEC, marks: ['launch:federation:{origin|federation}'], counts: {}, maps: { federation: new Map([['GKE', 'gke']]) } };
      const unmapped = await run(s, wrongMap, {}, [files[1]!]);
      const first = rows(linesOf.get(files[1]!)!);
      expect(unmapped.files[0]!.status).toBe('not imported');
      expect(unmapped.files[0]!.problems).toEqual([
        `--mark launch:federation:{origin|federation}: the value of 'origin' is not in --map federation in all ${first.length} lines, e.g. ${JSON.stringify(first[0]!.origin)}: add the values to the map`,
      ]);

      const empty = join(local, 'empty.jsonl');
      writeFileSync(empty, '');
      expect((await run(s, SPEC, {}, [empty])).files.map((f) => [f.status, f.problems])).toEqual([['imported', []]]);
    } finally {
      await s.close();
      rmSync(local, { recursive: true, force: true });
    }
  });

  it("an earlier version's entry: done covers every template given now (--force writes marks only); partial resumes where it stopped", async () => {
    const s = await openStore(kind);
    try {
      const [done, partial] = files as [string, string];
      const doneSha = await sha256File(done);
      const partialSha = await sha256File(partial);
      const lines = linesOf.get(partial)!;
      const key = s.layout.importsKey;
      // As an import before templates had entries of their own left them.
      await s.engine.write(
        [],
        [
          { key, field: doneSha, by: linesOf.get(done)!.length },
          { key, field: `${doneSha}:done`, by: 1 },
          { key, field: partialSha, by: 100 },
        ],
      );

      const events: string[] = [];
      const first = await run(s, WITH_FEDERATION, { batch: 50, onFile: (e) => events.push(e.message) }, [done, partial]);
      expect(first.files.map((f) => [f.status, f.fromLine])).toEqual([
        ['already imported', 1],
        ['resumed', 101],
      ]);
      expect(events[0]).toMatch(/already imported by an earlier version .*; --force writes the marks given again$/);
      const rest = lines.slice(100);
      const ref = reference([{ name: partial, lines: rest }], { prefix: s.prefix });
      const newMarks = marksOf(rest, s.prefix, (o) => (federationOf(o) ? `launch:federation:${federationOf(o)}` : undefined));
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.bitmaps)).toEqual(plain(merged(ref.bitmaps, newMarks)));
      expect(plain(got.counters)).toEqual(plain(merged(ref.counters, countsOf(rest, s.prefix, 'federations', federationOf))));
      const ids = ledgerTemplates(WITH_FEDERATION, { timeZone: 'UTC', hourly: false, unique: false }).map((t) => t.id);
      expect(await readLedger(s.engine, s.layout, partialSha, ids)).toEqual({
        legacy: { committed: 0, done: 0 },
        templates: ids.map(() => ({ committed: lines.length, done: 1 })),
      });

      // Forced, the done file gets its marks and not its counters.
      const forced = await run(s, WITH_FEDERATION, { force: true }, [done]);
      expect(forced.files.map((f) => f.status)).toEqual(['forced']);
      expect(forced.counterIncrements).toBe(0);
      const doneLines = linesOf.get(done)!;
      const doneRef = reference([{ name: done, lines: doneLines }], { prefix: s.prefix });
      const after = await stored(s.engine, s.prefix);
      expect(plain(after.counters)).toEqual(plain(got.counters));
      const union = new Map(got.bitmaps);
      const add = (m: Map<string, Set<string>>) => {
        for (const [k, v] of m) union.set(k, new Set([...(union.get(k) ?? []), ...v]));
      };
      add(doneRef.bitmaps);
      add(marksOf(doneLines, s.prefix, (o) => (federationOf(o) ? `launch:federation:${federationOf(o)}` : undefined)));
      expect(plain(after.bitmaps)).toEqual(plain(union));
      expect((await readLedger(s.engine, s.layout, doneSha, ids)).legacy).toEqual({ committed: doneLines.length, done: 1 });
    } finally {
      await s.close();
    }
  });
});
