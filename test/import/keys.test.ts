// The import's fast paths against the gateway's own functions: keys of a batch vs markWrites and
// counterIncrements (several zones, across DST changes), instants vs parseTimeInput, line reading.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { counterIncrements } from '../../src/bitmap/counters.ts';
import type { CounterHit } from '../../src/bitmap/counters.ts';
import { markWrites } from '../../src/bitmap/events.ts';
import type { Mark } from '../../src/bitmap/events.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { TimeZone, parseTimeInput, periodAt, resolveTime } from '../../src/bitmap/period.ts';
import { BatchBuilder } from '../../src/import/batch.ts';
import { LineReader } from '../../src/import/reader.ts';
import { readMappingFile, resolveSpec } from '../../src/import/spec.ts';
import { LineClock } from '../../src/import/time.ts';
import { UsageError } from '../../src/usage-error.ts';
import { rng } from '../rng.ts';

const layout = bitmapistLayout('kt_');
const ZONES = ['UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Instants around the 2026 DST changes and year, month and ISO week boundaries, plus random ones. */
function instants(random: () => number): number[] {
  const around = ['2026-03-29T00:00:00Z', '2026-10-25T00:00:00Z', '2026-04-05T15:00:00Z', '2026-09-27T13:00:00Z', '2025-12-31T12:00:00Z', '2026-11-01T00:00:00Z', '2021-01-03T12:00:00Z'];
  const out: number[] = [];
  for (const iso of around) {
    const base = Date.parse(iso);
    for (let k = 0; k < 60; k++) out.push(base + Math.floor((random() - 0.5) * 2 * 86_400_000));
  }
  for (let k = 0; k < 300; k++) out.push(Date.UTC(2019, 0, 1) + Math.floor(random() * 8 * 365 * 86_400_000));
  // Offset changes in the middle of a UTC hour (St John's, Lord Howe), minutes either side.
  for (const iso of ['2026-03-08T05:30:00Z', '2026-11-01T04:30:00Z', '2026-10-03T15:30:00Z', '2026-04-04T15:00:00Z']) {
    for (let m = -45; m <= 45; m += 5) out.push(Date.parse(iso) + m * 60_000 + 1);
  }
  return out;
}

describe('a batch writes the keys markWrites and counterIncrements give', () => {
  for (const zone of ZONES) {
    it(`in ${zone}, with hour, minute and unique keys and without`, () => {
      const tz = new TimeZone(zone);
      const random = rng(zone.length * 101);
      for (const options of [
        { hourly: false, unique: false },
        { hourly: true, unique: true },
        { hourly: false, minutely: true, unique: false },
      ]) {
        const minutely = options.minutely ?? false;
        // acrossBatches: the union over batches is what counts, so split into several batches.
        const builder = new BatchBuilder(layout, { ...options, acrossBatches: true });
        const clock = new LineClock(tz);
        const marks: Mark[] = [];
        const hits: CounterHit[] = [];
        const gotBits = new Set<string>();
        const gotCounts = new Map<string, number>();
        const all = instants(random);
        for (let i = 0; i < all.length; i++) {
          const at = all[i]!;
          const name = ['a', 'b:c', 'ünï'][i % 3]!;
          const userId = Math.floor(random() * 50);
          const key = ['k1', 'k 2', ''][i % 3]!;
          marks.push({ name, userId, at, hourly: options.hourly, minutely, unique: options.unique });
          hits.push({ name: 'n', key, by: 1, at });
          const minute = clock.localMinute(at);
          expect(minute).toBe(periodAt('MINUTE', at, tz).index);
          expect(clock.localHour(at)).toBe(periodAt('HOUR', at, tz).index);
          builder.mark(builder.markTarget(name), minute, userId);
          builder.count(builder.countTarget('n'), minute, key);
          if (i % 97 === 96 || i === all.length - 1) {
            const out = builder.take();
            for (const w of out.writes) {
              const id = `${w.key} ${w.offset} ${w.bit}`;
              expect(gotBits.has(id), `written twice: ${id}`).toBe(false);
              gotBits.add(id);
            }
            for (const c of out.increments) gotCounts.set(`${c.key} ${c.field}`, (gotCounts.get(`${c.key} ${c.field}`) ?? 0) + c.by);
          }
        }
        const wantBits = new Set(markWrites(layout, tz, marks, 1).map((w) => `${w.key} ${w.offset} ${w.bit}`));
        expect([...gotBits].sort()).toEqual([...wantBits].sort());
        const wantCounts = new Map<string, number>();
        if (minutely) expect([...wantBits].some((b) => b.startsWith('kt_a_m'))).toBe(true);
        for (const c of counterIncrements(layout, tz, hits, minutely)) wantCounts.set(`${c.key} ${c.field}`, (wantCounts.get(`${c.key} ${c.field}`) ?? 0) + c.by);
        expect(Object.fromEntries([...gotCounts].sort())).toEqual(Object.fromEntries([...wantCounts].sort()));
      }
    });
  }

  it('without acrossBatches, each batch carries all its bits (deduplicated within the batch)', () => {
    const builder = new BatchBuilder(layout, { hourly: false, unique: false });
    const t = builder.markTarget('x');
    const at = new LineClock(new TimeZone('UTC')).localMinute(Date.parse('2026-10-05T10:00:00Z'));
    for (const id of [3, 1, 3, 2]) builder.mark(t, at, id);
    const first = builder.take().writes.map((w) => `${w.key}:${w.offset}`);
    expect(first).toEqual(['kt_x_2026-10', 'kt_x_W2026-41', 'kt_x_2026-10-5'].flatMap((k) => [1, 2, 3].map((id) => `${k}:${id}`)));
    builder.mark(t, at, 3);
    expect(builder.take().writes).toHaveLength(3);
  });
});

describe('instants of lines', () => {
  it('agree with parseTimeInput for ISO stamps of every shape, in several zones', () => {
    const stamps = [
      '2026-10-05T05:06:07.891Z',
      '2026-10-05T05:06:07Z',
      '2026-10-05T05:06:07.8Z',
      '2026-10-05T05:06:07.123456789Z',
      '2026-10-05T23:59:59.999Z',
      '2026-10-05T05:06:07+02:00',
      '2026-10-05T05:06:07-0330',
      '2026-10-05T05:06:07',
      '2026-10-05 05:06:07z',
      '2026-10-05',
      '2026-03-29T02:30:00',
    ];
    for (const zone of ZONES) {
      const tz = new TimeZone(zone);
      const clock = new LineClock(tz);
      for (const s of stamps) {
        const want = resolveTime(parseTimeInput(s), tz);
        expect(Math.abs(clock.instant(s) - want), `${s} in ${zone}`).toBeLessThan(1); // ms fractions may round differently
        expect(Math.floor(clock.instant(s) / 1000)).toBe(Math.floor(want / 1000));
      }
    }
  });

  it('refuses what is not an instant', () => {
    const clock = new LineClock(new TimeZone('UTC'));
    for (const bad of ['2026-13-05T05:06:07Z', '2026-02-30T05:06:07Z', '2026-10-05T24:06:07Z', '2026-10-05T05:60:07Z', '2026-10-05T05:06:07.Z', 'yesterday', '', true, {}, Number.NaN, 1e17]) {
      expect(clock.instant(bad), String(bad)).toBeNaN();
    }
    expect(clock.instant(1_760_000_000_123)).toBe(1_760_000_000_123);
    // A stamp after a cached prefix of the same hour still checks its own digits.
    expect(clock.instant('2026-10-05T05:06:07Z')).toBe(Date.parse('2026-10-05T05:06:07Z'));
    expect(clock.instant('2026-10-05T05:6x:07Z')).toBeNaN();
  });
});

describe('reading lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-reader-'));
  dirs.push(dir);

  const readAll = async (path: string, size: number): Promise<{ batches: Array<[number, number, boolean]>; lines: string[] }> => {
    const reader = await LineReader.open(path);
    const batches: Array<[number, number, boolean]> = [];
    const lines: string[] = [];
    for (;;) {
      const b = await reader.batch(size);
      batches.push([b.firstLine, b.lines.length, b.last]);
      lines.push(...b.lines);
      if (b.last) break;
    }
    reader.close();
    return { batches, lines };
  };

  it('splits plain and gzip files alike (told by magic bytes), with CRLF, a last line without newline, and multi-byte text', async () => {
    const text = Array.from({ length: 25 }, (_, i) => `{"i":${i},"s":"ünïcödé ${'€'.repeat(i * 4000)}"}`).join('\r\n');
    const want = text.split('\r\n');
    const plain = join(dir, 'plain.gz'); // the name says gzip; the bytes do not
    writeFileSync(plain, text);
    const gz = join(dir, 'two-members.jsonl'); // two gzip members, concatenated
    writeFileSync(gz, Buffer.concat([gzipSync(`${want.slice(0, 10).join('\n')}\n`), gzipSync(`${want.slice(10).join('\n')}\n`)]));
    for (const path of [plain, gz]) {
      const { batches, lines } = await readAll(path, 10);
      expect(lines).toEqual(want);
      expect(batches).toEqual([
        [1, 10, false],
        [11, 10, false],
        [21, 5, true],
      ]);
    }
  });

  it('knows a batch is the last when the file ends exactly at its end, and handles empty files', async () => {
    const exact = join(dir, 'exact.jsonl');
    writeFileSync(exact, 'a\nb\nc\nd\n');
    expect((await readAll(exact, 2)).batches).toEqual([
      [1, 2, false],
      [3, 2, true],
    ]);
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    expect((await readAll(empty, 2)).batches).toEqual([[1, 0, true]]);
    const skipping = await LineReader.open(exact);
    expect(await skipping.skip(3)).toBe(3);
    expect(await skipping.batch(5)).toEqual({ lines: ['d'], firstLine: 4, last: true });
    skipping.close();
  });
});

describe('import settings', () => {
  it('takes flags over the mapping file, and refuses what cannot work with a clear message', () => {
    const file = { timestamp: 'at', id: 'user', marks: ['m'], counts: { c: '{k}' }, where: { kind: '3' } };
    expect(resolveSpec({ id: 'spec', mark: ['launch:{provider}'] }, file)).toEqual({
      timestamp: 'at',
      id: 'spec',
      numericIds: false,
      marks: ['launch:{provider}'],
      counts: { c: '{k}' },
      where: { kind: '3' },
      maps: {},
    });
    expect(resolveSpec({ count: ['launches=a=b'], where: ['status=success'] }, file)).toMatchObject({ counts: { launches: 'a=b' }, where: { status: 'success' } });
    const bad: Array<[Parameters<typeof resolveSpec>[0], RegExp]> = [
      [{ mark: ['x'] }, /id field is required/],
      [{ id: 'u' }, /nothing to write/],
      [{ id: 'u', mark: ['has space:{f}'] }, /must not contain whitespace/],
      [{ id: 'u', mark: ['a:{f'] }, /unbalanced/],
      [{ id: 'u', mark: ['a:{}'] }, /empty \{\}/],
      [{ id: 'u', count: ['noequals'] }, /expected name=template/],
      [{ id: 'u', count: ['bad*name={f}'] }, /counter name must not contain/],
      [{ id: 'u', mark: ['x'], where: ['=v'] }, /expected field=value/],
      [{ id: 'u', mark: ['x', 'y:{ f }', 'y:{f}'] }, /--mark "y:\{f\}" is given twice/],
      [{ id: 'u', mark: ['a:{f|fed}'] }, /no value map named fed \(give --map fed=FILE\.json\)/],
      [{ id: 'u', mark: ['a:{f|}'] }, /should be \{field\|map\}/],
      [{ id: 'u', count: ['c={f|a|b}'] }, /should be \{field\|map\}/],
      [{ id: 'u', mark: ['x'], map: ['fed'] }, /--map "fed": expected name=file\.json/],
      [{ id: 'u', mark: ['x'], map: ['fed=/no/such/map.json'] }, /--map fed=\/no\/such\/map\.json: ENOENT/],
    ];
    for (const [flags, message] of bad) expect(() => resolveSpec(flags), JSON.stringify(flags)).toThrow(message);
    expect(() => resolveSpec({ mark: ['x'] })).toThrow(UsageError);
  });

  it('value maps come from --map name=file.json or the mapping file (a path beside it, or the map itself)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-maps-'));
    dirs.push(dir);
    const write = (name: string, data: unknown): string => {
      const path = join(dir, name);
      writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data));
      return path;
    };
    const origins = write('origins.json', { 'gke.mybinder.org': 'GKE', n: 7, b: true });
    const spec = resolveSpec({ id: 'spec', mark: ['launch:{origin|fed}'], map: [`fed=${origins}`] });
    expect(spec.maps).toEqual({ fed: new Map([['gke.mybinder.org', 'GKE'], ['n', '7'], ['b', 'true']]) });
    write('sub.json', { a: 'A' });
    const mapping = write('mapping.json', { id: 'spec', marks: ['x:{o|near}', 'y:{o|inline}'], maps: { near: 'sub.json', inline: { b: 'B' } } });
    expect(resolveSpec({}, readMappingFile(mapping)).maps).toEqual({ near: new Map([['a', 'A']]), inline: new Map([['b', 'B']]) });
    // A flag replaces the file's maps.
    expect(() => resolveSpec({ map: [`other=${origins}`] }, readMappingFile(mapping))).toThrow(/no value map named near/);
    for (const [content, message] of [
      ['[1, 2]', /must hold one JSON object from value to mapped value/],
      ['{"a": {"nested": 1}}', /must hold one JSON object/],
      ['{"a": ', /--map fed=.*: /],
    ] as const) {
      const path = write('bad.json', content);
      expect(() => resolveSpec({ id: 'u', mark: ['x'], map: [`fed=${path}`] })).toThrow(message);
    }
    expect(() => resolveSpec({ id: 'u', mark: ['x'], map: [`bad name=${origins}`] })).toThrow(/map name "bad name" must be letters/);
    const badMapping = write('bad-mapping.json', { id: 'u', marks: ['x'], maps: { m: 'missing.json' } });
    expect(() => readMappingFile(badMapping)).toThrow(/--mapping .*bad-mapping\.json: maps\.m: ENOENT/);
  });
});
