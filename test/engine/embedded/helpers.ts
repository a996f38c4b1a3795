// Shared by the embedded engine's module tests: throwaway folders and a Store read back as plain arrays.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Store } from '../../../src/bitmap/engines/embedded/store.ts';

const dirs: string[] = [];

/** A fresh folder, removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bitmapql-embedded-unit-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A Store as plain data: key → sorted members, key → field → value, external → id. */
export function plain(store: Store): {
  bitmaps: Record<string, number[]>;
  counters: Record<string, Record<string, number>>;
  ids: Record<string, number>;
} {
  return {
    bitmaps: Object.fromEntries([...store.bitmaps].map(([k, bm]) => [k, [...bm].sort((a, b) => a - b)])),
    counters: Object.fromEntries([...store.counters].map(([k, h]) => [k, Object.fromEntries(h)])),
    ids: Object.fromEntries(store.ids.idOf),
  };
}

export const sorted = (s: Iterable<number>): number[] => [...new Set(s)].sort((a, b) => a - b);
