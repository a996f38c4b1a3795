// Import with minutes (--minutely, TRACK_MINUTELY): minute keys and per-minute counter hashes of
// random lines against plain Sets and sums, on both engines; without it, none; the ledger tells the
// two apart for marks and never for counters.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBits } from '../../src/bitmap/engines/engine.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { importFiles, ledgerTemplates } from '../../src/import/importer.ts';
import type { ImportSpec } from '../../src/import/spec.ts';
import { ENGINES, rng } from '../helpers.ts';
import { openStore } from './store.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// St John's is 3:30 behind UTC in November: its minutes are not UTC's shifted by whole hours.
const ZONE = 'America/St_Johns';
const OFFSET_MS = -210 * 60_000;
const SPEC: ImportSpec = { timestamp: 'at', id: 'user', numericIds: true, marks: ['{ev}'], counts: { plays: '{song}' }, where: {} };

const minuteOf = (ms: number): number => Math.floor((ms + OFFSET_MS) / 60_000);
const suffix = (minute: number): string => {
  const d = new Date(minute * 60_000);
  return `m${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}-${d.getUTCHours()}-${d.getUTCMinutes()}`;
};

interface Line {
  at: string | number;
  user: number;
  ev: string;
  song: string;
  ms: number;
}

/** Lines over two hours across midnight in St John's, stamped as ISO text or epoch ms. */
function lines(seed: number, n: number): Line[] {
  const random = rng(seed);
  const start = Date.parse('2026-11-30T02:30:00Z'); // 23:00 on the 29th in St John's
  return Array.from({ length: n }, (_, i) => {
    const ms = start + Math.floor(random() * 2 * 3_600_000);
    return { at: i % 2 ? ms : new Date(ms).toISOString(), user: Math.floor(random() * 400), ev: random() < 0.7 ? 'play' : 'skip', song: `s${Math.floor(random() * 4)}`, ms };
  });
}

function write(rows: readonly Line[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-minutes-'));
  dirs.push(dir);
  const file = join(dir, 'lines.jsonl');
  writeFileSync(file, rows.map(({ at, user, ev, song }) => JSON.stringify({ at, user, ev, song })).join('\n'));
  return file;
}

describe.each(ENGINES)('import with minutes (%s)', (kind) => {
  it('--minutely writes each minute key with exactly its users and adds to per-minute counter hashes', async () => {
    const s = await openStore(kind);
    try {
      const rows = lines(3, 3000);
      const summary = await importFiles(s.engine, s.layout, new TimeZone(ZONE), [write(rows)], SPEC, { minutely: true, batch: 257 });
      expect(summary.linesImported).toBe(rows.length);
      const want = new Map<string, Set<number>>();
      const sums = new Map<string, Map<string, number>>();
      for (const r of rows) {
        const key = `${s.prefix}${r.ev}_${suffix(minuteOf(r.ms))}`;
        (want.get(key) ?? want.set(key, new Set()).get(key)!).add(r.user);
        const hash = `${s.layout.counterPrefix}plays:${suffix(minuteOf(r.ms))}`;
        const fields = sums.get(hash) ?? sums.set(hash, new Map()).get(hash)!;
        fields.set(r.song, (fields.get(r.song) ?? 0) + 1);
      }
      const stored: string[] = [];
      for await (const b of s.engine.scan(s.prefix)) stored.push(...b);
      expect(stored.filter((k) => /_m\d/.test(k)).sort()).toEqual([...want.keys()].sort());
      expect(want.size).toBeGreaterThan(150); // two hours of minutes, two events
      for (const [key, set] of want) {
        const bytes = await s.engine.dump(key);
        expect(decodeBits(bytes!, 0, 0, 10_000).ids, key).toEqual([...set].sort((a, b) => a - b));
      }
      // The counter hashes, every field of each, read by one program (HGETALL).
      const hashes: string[] = [];
      for await (const b of s.engine.scan(s.layout.counterPrefix)) hashes.push(...b);
      const minuteHashes = hashes.filter((k) => /:m\d/.test(k)).sort();
      expect(minuteHashes).toEqual([...sums.keys()].sort());
      const got = await s.engine.run({ registers: 0, instructions: minuteHashes.map((key) => ({ op: 'hgetall' as const, key })) });
      const plain = (entries: unknown): Record<string, number> => Object.fromEntries(entries as Array<[string, number]>);
      expect(got.map(plain)).toEqual(minuteHashes.map((k) => Object.fromEntries([...sums.get(k)!].sort())));
    } finally {
      await s.close();
    }
  });

  it('without --minutely, no minute key or hash', async () => {
    const s = await openStore(kind);
    try {
      await importFiles(s.engine, s.layout, new TimeZone(ZONE), [write(lines(5, 300))], SPEC, { hourly: true });
      const stored: string[] = [];
      for (const p of [s.prefix, s.layout.counterPrefix]) for await (const b of s.engine.scan(p)) stored.push(...b);
      expect(stored.filter((k) => /[_:]m\d/.test(k))).toEqual([]);
      expect(stored.some((k) => /_2026-11-30-0$/.test(k))).toBe(true); // the hour keys it was asked for
    } finally {
      await s.close();
    }
  });
});

describe('the ledger and minutes', () => {
  it('a mark template with minutes is another template; counters are the same whatever the setting; entries made before minutes keep their ids', () => {
    const off = ledgerTemplates(SPEC, { timeZone: ZONE, hourly: false, unique: false });
    const explicitOff = ledgerTemplates(SPEC, { timeZone: ZONE, hourly: false, unique: false, minutely: false });
    const on = ledgerTemplates(SPEC, { timeZone: ZONE, hourly: false, unique: false, minutely: true });
    expect(explicitOff).toEqual(off);
    expect(on[0]!.id).not.toBe(off[0]!.id);
    expect(on[1]).toEqual(off[1]);
  });
});
