// The batches of a file against a real Redis and the embedded engine: one write in flight, the
// next batch read while one is written, each write carrying its ledger entry, and an import
// stopped or failed part way leaving the ledger at the last batch that is in.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { CounterIncrement, Engine } from '../../src/bitmap/engines/engine.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { BatchBuilder } from '../../src/import/batch.ts';
import { IdAssigner } from '../../src/import/ids.ts';
import { FileProgress, ledgerTemplates, planFile, readLedger } from '../../src/import/ledger.ts';
import type { LedgerEntry } from '../../src/import/ledger.ts';
import { FileStats } from '../../src/import/outcome.ts';
import { LineParser } from '../../src/import/parse.ts';
import { ImportPipeline } from '../../src/import/pipeline.ts';
import type { Acknowledged } from '../../src/import/pipeline.ts';
import { LineReader, sha256File } from '../../src/import/reader.ts';
import type { ImportSpec } from '../../src/import/spec.ts';
import { LineClock } from '../../src/import/time.ts';
import { ENGINES } from '../helpers.ts';
import { plain, stored, suffixes } from './reference.ts';
import { openStore, wrapEngine } from './store.ts';
import type { Store } from './store.ts';

const SPEC: ImportSpec = { timestamp: 'ts', id: 'user', numericIds: false, marks: ['open'], counts: { opens: '{origin}' }, where: {} };
const TEMPLATES = ledgerTemplates(SPEC, { timeZone: 'UTC', hourly: false, unique: false });
const IDS = TEMPLATES.map((t) => t.id);
const T0 = Date.UTC(2026, 9, 4, 20); // Sunday evening: the lines run into Monday, ISO week 41
const LINES = 250;
const BAD = new Map([
  [5, 'invalid JSON'],
  [120, 'no user'],
]);

const dir = mkdtempSync(join(tmpdir(), 'bitmapql-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Line n (1-based) of the test file. */
function line(n: number): string {
  if (n === 5) return '{"ts": "2026-10-04T20:';
  const row: Record<string, unknown> = { ts: new Date(T0 + n * 97_000).toISOString(), user: `u${n % 37}`, origin: `o${n % 3}` };
  if (n === 120) delete row.user;
  return JSON.stringify(row);
}
const file = join(dir, 'lines.jsonl');
writeFileSync(file, `${Array.from({ length: LINES }, (_, i) => line(i + 1)).join('\n')}\n`);

/** What the lines must store, worked out with Date and Sets. */
function expected(prefix: string): { bitmaps: Map<string, Set<string>>; counters: Map<string, Map<string, number>> } {
  const bitmaps = new Map<string, Set<string>>();
  const counters = new Map<string, Map<string, number>>();
  const meta = `${prefix.replace(/_$/, '')}:counter:`;
  for (let n = 1; n <= LINES; n++) {
    if (BAD.has(n)) continue;
    const row = JSON.parse(line(n)) as { ts: string; user: string; origin: string };
    const s = suffixes(Date.parse(row.ts));
    for (const k of [s.month, s.week, s.day]) {
      const key = `${prefix}open_${k}`;
      if (!bitmaps.has(key)) bitmaps.set(key, new Set());
      bitmaps.get(key)!.add(row.user);
    }
    for (const k of [s.hour, s.day, s.week, s.month]) {
      const key = `${meta}opens:${k}`;
      if (!counters.has(key)) counters.set(key, new Map());
      const h = counters.get(key)!;
      h.set(row.origin, (h.get(row.origin) ?? 0) + 1);
    }
  }
  return { bitmaps, counters };
}

interface Run {
  readonly pipeline: ImportPipeline;
  readonly reader: LineReader;
  readonly acks: Acknowledged[];
  /** Per write sent: lines read from the file by then, and its ledger increments. */
  readonly writes: Array<{ linesRead: number; ledger: CounterIncrement[] }>;
  /** Most writes in flight at once. */
  maxInFlight: number;
  /** Sends the file as planned from the ledger's entries. */
  send(force?: boolean): Promise<void>;
}

interface RunOptions {
  readonly batch: number;
  /** This write (1-based) fails. */
  readonly failOn?: number;
  /** The first write is held until this resolves. */
  readonly holdFirst?: Promise<void>;
  readonly signal?: AbortSignal;
  /** After each ack, with the number of acks so far. */
  readonly onAck?: (n: number) => void;
}

/** A pipeline over the test file, its writes watched. */
async function pipelineOver(s: Store, options: RunOptions): Promise<Run> {
  const reader = await LineReader.open(file);
  let inFlight = 0;
  const engine: Engine = wrapEngine(s.engine, {
    write: async (bits, increments = []) => {
      run.writes.push({ linesRead: reader.linesRead, ledger: increments.filter((i) => i.key === s.layout.importsKey) });
      run.maxInFlight = Math.max(run.maxInFlight, ++inFlight);
      try {
        // A moment in flight, so that a second write sent too early would overlap this one.
        await new Promise((r) => setTimeout(r, 2));
        if (run.writes.length === 1) await options.holdFirst;
        if (run.writes.length === options.failOn) throw new Error('connection lost');
        await s.engine.write(bits, increments);
      } finally {
        inFlight--;
      }
    },
  });
  const builder = new BatchBuilder(s.layout, { hourly: false, unique: false, acrossBatches: true });
  const ids = new IdAssigner(engine);
  const parser = new LineParser(SPEC, new LineClock(new TimeZone('UTC')), builder, (e) => ids.known(e));
  const pipeline = new ImportPipeline({ engine, parser, ids, builder, batchSize: options.batch, signal: options.signal });
  const sha = await sha256File(file);
  const run: Run = {
    pipeline,
    reader,
    acks: [],
    writes: [],
    maxInFlight: 0,
    send: async (force = false) => {
      const plan = planFile(file, sha, await readLedger(s.engine, s.layout, sha, IDS), TEMPLATES, force);
      const progress = new FileProgress(s.layout, sha, TEMPLATES, plan);
      await pipeline.sendFile(reader, { sha256: sha, progress, stats: new FileStats(SPEC, TEMPLATES.length) }, (a) => {
        run.acks.push(a);
        options.onAck?.(run.acks.length);
      });
    },
  };
  return run;
}

describe.each(ENGINES)('ImportPipeline in %s', (kind) => {
  it('writes every batch with its ledger entry, one write in flight, reading the next batch meanwhile', async () => {
    const s = await openStore(kind);
    try {
      const sha = await sha256File(file);
      const run = await pipelineOver(s, { batch: 100 });
      await run.send();
      expect(run.pipeline.mayBeInFlight(sha)).toBe(true);
      await run.pipeline.settle();
      run.reader.close();

      expect(run.maxInFlight).toBe(1);
      // Batch k is sent once batch k+1 has been read.
      expect(run.writes.map((w) => w.linesRead)).toEqual([200, 250, 250]);
      const f = (t: number, by: number) => ({ key: s.layout.importsKey, field: `${sha}:${IDS[t]}`, by });
      const done = (t: number) => ({ key: s.layout.importsKey, field: `${sha}:${IDS[t]}:done`, by: 1 });
      expect(run.writes.map((w) => w.ledger)).toEqual([
        [f(0, 100), f(1, 100)],
        [f(0, 100), f(1, 100)],
        [f(0, 50), done(0), f(1, 50), done(1)],
      ]);
      expect(run.acks.map((a) => [a.batch.lines, a.batch.imported, a.last])).toEqual([
        [100, 99, false],
        [100, 99, false],
        [50, 50, true],
      ]);
      expect(run.acks.flatMap((a) => a.batch.skips)).toEqual([...BAD].map(([n, reason]) => [reason, n]));
      const read = run.acks.map((a) => a.bytesRead);
      expect(read).toEqual([...read].sort((a, b) => a - b));
      expect(read.at(-1)).toBe(statSync(file).size);
      expect((await readLedger(s.engine, s.layout, sha, IDS)).templates).toEqual([
        { committed: LINES, done: 1 },
        { committed: LINES, done: 1 },
      ]);

      const want = expected(s.prefix);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.bitmaps)).toEqual(plain(want.bitmaps));
      expect(plain(got.counters)).toEqual(plain(want.counters));
    } finally {
      await s.close();
    }
  });

  it('reads and parses the next batch while a write is in flight', async () => {
    const s = await openStore(kind);
    try {
      let release = (): void => {};
      const run = await pipelineOver(s, { batch: 100, holdFirst: new Promise((r) => (release = r)) });
      const sending = run.send();
      await vi.waitFor(() => expect(run.writes.length).toBe(1), { timeout: 10_000 });
      // Write 1 (lines 1-100) is held: lines 201-250 are read while it is, not after.
      await vi.waitFor(() => expect(run.reader.linesRead).toBe(250), { timeout: 10_000 });
      expect(run.acks.length).toBe(0);
      expect(run.writes.length).toBe(1);
      release();
      await sending;
      await run.pipeline.settle();
      run.reader.close();
      expect(run.acks.map((a) => a.batch.lines)).toEqual([100, 100, 50]);
    } finally {
      await s.close();
    }
  });

  it('stopped after a batch is acknowledged: the batch read next is not sent, and the ledger says where to resume', async () => {
    const s = await openStore(kind);
    try {
      const controller = new AbortController();
      const run = await pipelineOver(s, { batch: 50, signal: controller.signal, onAck: (n) => n === 2 && controller.abort() });
      await run.send();
      await run.pipeline.settle();
      run.reader.close();
      expect(run.writes.length).toBe(2);
      expect(run.acks.length).toBe(2);
      expect((await readLedger(s.engine, s.layout, await sha256File(file), IDS)).templates).toEqual([
        { committed: 100, done: 0 },
        { committed: 100, done: 0 },
      ]);
    } finally {
      await s.close();
    }
  });

  it('a failed write stops the file: nothing is sent after it, and the ledger holds the batches before it', async () => {
    const s = await openStore(kind);
    try {
      const run = await pipelineOver(s, { batch: 50, failOn: 2 });
      await expect(run.send()).rejects.toThrow('connection lost');
      await run.pipeline.drain();
      run.reader.close();
      expect(run.writes.length).toBe(2);
      expect(run.acks.map((a) => a.batch.lines)).toEqual([50]);
      expect((await readLedger(s.engine, s.layout, await sha256File(file), IDS)).templates).toEqual([
        { committed: 50, done: 0 },
        { committed: 50, done: 0 },
      ]);
    } finally {
      await s.close();
    }
  });

  it("--force: the first batch takes back the mark's entry of an earlier import; the counter, done, is not written", async () => {
    const s = await openStore(kind);
    try {
      const sha = await sha256File(file);
      const before: LedgerEntry = { committed: 999, done: 1 };
      await s.engine.write(
        [],
        IDS.flatMap((id) => [
          { key: s.layout.importsKey, field: `${sha}:${id}`, by: before.committed },
          { key: s.layout.importsKey, field: `${sha}:${id}:done`, by: before.done },
        ]),
      );
      const run = await pipelineOver(s, { batch: 100 });
      await run.send(true);
      await run.pipeline.settle();
      run.reader.close();
      expect(run.writes[0]!.ledger.map((i) => [i.field, i.by])).toEqual([
        [`${sha}:${IDS[0]}`, 100 - 999],
        [`${sha}:${IDS[0]}:done`, -1],
      ]);
      expect((await readLedger(s.engine, s.layout, sha, IDS)).templates).toEqual([{ committed: LINES, done: 1 }, before]);
      const got = await stored(s.engine, s.prefix);
      expect(plain(got.bitmaps)).toEqual(plain(expected(s.prefix).bitmaps));
      expect(got.counters.size).toBe(0);
    } finally {
      await s.close();
    }
  });
});
