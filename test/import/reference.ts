// The expected result of importing demo lines, worked out independently of src/import and
// src/bitmap/period.ts: plain Date arithmetic (UTC), Sets and Maps.

import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { decodeBits } from '../../src/bitmap/engines/engine.ts';

export interface RefOptions {
  prefix: string;
  /** Only lines whose `status` equals this are imported. */
  status?: string;
}

export interface Reference {
  /** Bitmap key → the specs it holds. */
  bitmaps: Map<string, Set<string>>;
  /** Counter hash key → provider → count. */
  counters: Map<string, Map<string, number>>;
  /** Reason → `file:line` locations, in file order. */
  skipped: Map<string, string[]>;
  /** `<template>: <reason>` → `file:line` of lines written for the other templates. */
  missed: Map<string, string[]>;
  lines: number;
  imported: number;
  /** Marks and counter increments written (one per line and template). */
  marks: number;
  counts: number;
  specs: Set<string>;
}

/** ISO week-year and week of a UTC date (the Thursday rule). */
export function isoWeekOf(ms: number): [number, number] {
  const d = new Date(ms);
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return [t.getUTCFullYear(), Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7)];
}

/** bitmapist suffixes (no zero padding) of the hour, day, ISO week and month of a UTC instant. */
export function suffixes(ms: number): { hour: string; day: string; week: string; month: string } {
  const d = new Date(ms);
  const [wy, w] = isoWeekOf(ms);
  const day = `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
  return { hour: `${day}-${d.getUTCHours()}`, day, week: `W${wy}-${w}`, month: `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}` };
}

/**
 * Files of demo lines imported with `--id spec --mark launch --mark launch:provider:{provider}
 * --count launches={provider}`: what must be stored and what must be skipped. A line without a
 * provider still marks `launch`.
 */
export function reference(files: ReadonlyArray<{ name: string; lines: readonly string[] }>, o: RefOptions): Reference {
  const ref: Reference = { bitmaps: new Map(), counters: new Map(), skipped: new Map(), missed: new Map(), lines: 0, imported: 0, marks: 0, counts: 0, specs: new Set() };
  const meta = `${o.prefix.replace(/_$/, '')}:counter:`;
  const listed = (m: Map<string, string[]>, reason: string, where: string): void => {
    const list = m.get(reason) ?? [];
    list.push(where);
    m.set(reason, list);
  };
  const skip = (reason: string, where: string): void => listed(ref.skipped, reason, where);
  const mark = (key: string, spec: string): void => {
    const set = ref.bitmaps.get(key) ?? new Set<string>();
    set.add(spec);
    ref.bitmaps.set(key, set);
  };
  const count = (key: string, field: string): void => {
    const h = ref.counters.get(key) ?? new Map<string, number>();
    h.set(field, (h.get(field) ?? 0) + 1);
    ref.counters.set(key, h);
  };
  for (const file of files) {
    file.lines.forEach((line, i) => {
      ref.lines++;
      const where = `${file.name}:${i + 1}`;
      let o2: Record<string, unknown>;
      try {
        o2 = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return skip('invalid JSON', where);
      }
      if (o.status !== undefined && o2.status !== o.status) return skip('filtered', where);
      if (typeof o2.timestamp !== 'string') return skip('no timestamp', where);
      if (typeof o2.spec !== 'string') return skip('no spec', where);
      ref.imported++;
      const s = suffixes(Date.parse(o2.timestamp));
      const spec = o2.spec;
      ref.specs.add(spec);
      const provider = typeof o2.provider === 'string' ? o2.provider : undefined;
      if (provider === undefined) {
        listed(ref.missed, '--mark launch:provider:{provider}: no provider', where);
        listed(ref.missed, '--count launches={provider}: no provider', where);
      }
      for (const name of provider === undefined ? ['launch'] : ['launch', `launch:provider:${provider}`]) {
        ref.marks++;
        for (const suffix of [s.month, s.week, s.day]) mark(`${o.prefix}${name}_${suffix}`, spec);
      }
      if (provider === undefined) return;
      ref.counts++;
      for (const suffix of [s.hour, s.day, s.week, s.month]) count(`${meta}launches:${suffix}`, provider);
    });
  }
  return ref;
}

/** Every bitmap under the prefix as sets of external ids; every counter hash under the counter prefix. */
export async function stored(
  engine: Engine,
  prefix: string,
): Promise<{ bitmaps: Map<string, Set<string>>; counters: Map<string, Map<string, number>> }> {
  const bitmaps = new Map<string, Set<string>>();
  for await (const batch of engine.scan(prefix)) {
    for (const key of batch) {
      const bytes = await engine.dump(key);
      const { ids } = decodeBits(bytes ?? Buffer.alloc(0), 0, 0, Number.MAX_SAFE_INTEGER);
      const externals = await engine.externalIds(ids);
      bitmaps.set(key, new Set(externals.map((e, j) => e ?? `<no external id for ${ids[j]}>`)));
    }
  }
  const counters = new Map<string, Map<string, number>>();
  const counterPrefix = `${prefix.replace(/_$/, '')}:counter:`;
  const keys: string[] = [];
  for await (const batch of engine.scan(counterPrefix)) keys.push(...batch);
  if (keys.length) {
    const values = await engine.run({ registers: 0, instructions: keys.map((key) => ({ op: 'hgetall' as const, key })) });
    keys.forEach((key, j) => counters.set(key, new Map(values[j] as Array<[string, number]>)));
  }
  return { bitmaps, counters };
}

/** Maps and Sets as sorted plain objects, for readable deep equality. */
export function plain(m: Map<string, Set<string> | Map<string, number>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...m.keys()].sort()) {
    const v = m.get(k)!;
    out[k] = v instanceof Set ? [...v].sort() : Object.fromEntries([...v].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }
  return out;
}
