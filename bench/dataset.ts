// The benchmark dataset: seeded bitmaps in Doist bitmapist's key layout, built as byte
// buffers in JS and written with one SET per key (Redis) or restore() (embedded engine).

import type { Redis } from 'ioredis';
import { openEmbeddedEngine } from '../src/bitmap/engines/embedded/index.ts';

export const KEY_PREFIX = 'trackist_';
export const SEED = 20250302;
/** Bits per bitmap (user ids 0 .. 2^20-1). */
export const BITMAP_BITS = 2 ** 20;
export const BITMAP_BYTES = BITMAP_BITS / 8;
/** Share of ids set in every day bitmap. */
export const DENSITY = 0.1;
export const EVENTS = [
  'active',
  'login',
  'search',
  'view_item',
  'add_to_cart',
  'checkout',
  'purchase',
  'share',
  'comment',
  'upgrade',
] as const;
export const DAYS = 7;
/** The last of the DAYS consecutive days (UTC), crossing a month end on purpose. */
export const LAST_DAY = '2025-03-02';

import { rng } from '../test/rng.ts';

export { rng };

/** Derives an independent seed for sub-stream `n` (so each bitmap does not depend on build order). */
export const subSeed = (seed: number, n: number): number => (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(n + 1, 0x85ebca6b)) >>> 0;

/** Sets bit `offset` in Redis bitmap layout: bit 0 is the most significant bit of byte 0 (SETBIT order). */
export function setBit(buf: Uint8Array, offset: number): void {
  const at = Math.floor(offset / 8);
  buf[at] = buf[at]! | (0x80 >> (offset % 8));
}

export function getBit(buf: Uint8Array, offset: number): boolean {
  return ((buf[Math.floor(offset / 8)] ?? 0) & (0x80 >> (offset % 8))) !== 0;
}

/** A bitmap of `bits` bits in which each bit is set with probability `density`. */
export function randomBitmap(seed: number, bits: number, density: number): Buffer {
  const next = rng(seed);
  const buf = Buffer.alloc(Math.ceil(bits / 8));
  for (let byte = 0; byte < buf.length; byte++) {
    let b = 0;
    for (let j = 0; j < 8; j++) if (next() < density) b |= 0x80 >> j;
    buf[byte] = b;
  }
  return buf;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});

export function popcount(buf: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < buf.length; i++) n += POPCOUNT[buf[i]!]!;
  return n;
}

export interface Day {
  /** ISO date for GraphQL, e.g. 2025-02-24. */
  readonly iso: string;
  /** bitmapist key suffix, not zero-padded, e.g. 2025-2-24. */
  readonly suffix: string;
}

export interface Dataset {
  readonly events: readonly string[];
  /** Oldest first (for buildDataset, days[DAYS-1] is LAST_DAY). */
  readonly days: readonly Day[];
  keyOf(event: string, day: number): string;
  /** Every key's bytes, in Redis layout (a key with no data at all is absent). */
  readonly bitmaps: ReadonlyMap<string, Buffer>;
  bytes(key: string): Buffer;
}

export function dayList(last = LAST_DAY, n = DAYS): Day[] {
  const end = Date.parse(`${last}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => {
    const d = new Date(end - (n - 1 - i) * 86_400_000);
    const [y, m, dd] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    return { iso: d.toISOString().slice(0, 10), suffix: `${y}-${m}-${dd}` };
  });
}

/** Builds the EVENTS × DAYS day bitmaps (deterministic for a seed). */
export function buildDataset(seed = SEED): Dataset {
  return datasetOf(EVENTS, dayList(), seed, []);
}

function datasetOf(
  events: readonly string[],
  days: readonly Day[],
  seed: number,
  holes: ReadonlyArray<{ readonly event: string; readonly day: number; readonly hole: 'zero bits' | 'no key' }>,
): Dataset {
  const keyOf = (event: string, day: number): string => {
    const d = days[day];
    if (!d) throw new Error(`no day ${day}`);
    return `${KEY_PREFIX}${event}_${d.suffix}`;
  };
  const bitmaps = new Map<string, Buffer>();
  events.forEach((event, e) => {
    for (let day = 0; day < days.length; day++) {
      const hole = holes.find((h) => h.event === event && h.day === day);
      if (hole?.hole === 'no key') continue;
      const bytes = hole ? Buffer.alloc(BITMAP_BYTES) : randomBitmap(subSeed(seed, e * days.length + day), BITMAP_BITS, DENSITY);
      bitmaps.set(keyOf(event, day), bytes);
    }
  });
  return {
    events,
    days,
    keyOf,
    bitmaps,
    bytes(key) {
      const b = bitmaps.get(key);
      if (!b) throw new Error(`not in the dataset: ${key}`);
      return b;
    },
  };
}

// --- Scenario D: a cohort dataset ---------------------------------------------------------------

/** Cohort and activity events of scenario D (a dataset of its own, apart from EVENTS × DAYS). */
export const COHORT_EVENTS = ['signup', 'active'] as const;
export const COHORT_DAYS = 60;
/**
 * The last of the COHORT_DAYS days: the day before the main dataset's first day, so the two
 * datasets share no key although both have "active"; the range crosses a year end on purpose.
 */
export const COHORT_LAST_DAY = '2025-02-23';
/**
 * Deliberate holes, so that the cohort table has null cells to check (with 60 full days a
 * 30 × 30 table from the first day would have none): an empty signup day (a zero-filled string
 * in Redis: the whole row is null), an activity day with no key, and an activity day whose key
 * holds zero bits (both mean "no activity data": one null per row that reaches that day).
 */
export const COHORT_HOLES: ReadonlyArray<{ readonly event: (typeof COHORT_EVENTS)[number]; readonly day: number; readonly hole: 'zero bits' | 'no key' }> = [
  { event: 'signup', day: 12, hole: 'zero bits' },
  { event: 'active', day: 40, hole: 'no key' },
  { event: 'active', day: 47, hole: 'zero bits' },
];

/** Builds the COHORT_EVENTS × COHORT_DAYS day bitmaps (deterministic for a seed), with COHORT_HOLES. */
export function buildCohortDataset(seed = SEED): Dataset {
  return datasetOf(COHORT_EVENTS, dayList(COHORT_LAST_DAY, COHORT_DAYS), subSeed(seed, 4004), COHORT_HOLES);
}

/** Every key of the datasets (they must not share a key), in load order. */
function allBitmaps(datasets: readonly Dataset[]): Map<string, Buffer> {
  const all = new Map<string, Buffer>();
  for (const ds of datasets) {
    for (const [key, bytes] of ds.bitmaps) {
      if (all.has(key)) throw new Error(`two bench datasets hold ${key}`);
      all.set(key, bytes);
    }
  }
  return all;
}

/** Writes every bitmap of the datasets with SET (one pipeline), after emptying the database. */
export async function loadRedis(redis: Redis, ...datasets: Dataset[]): Promise<void> {
  const bitmaps = allBitmaps(datasets);
  await redis.flushdb();
  const tx = redis.pipeline();
  for (const [key, bytes] of bitmaps) tx.set(key, bytes);
  const replies = await tx.exec();
  const failed = replies?.find(([err]) => err);
  if (!replies || failed) throw new Error(`loading Redis failed: ${failed?.[0]?.message ?? 'pipeline aborted'}`);
  const count = await redis.dbsize();
  if (count !== bitmaps.size) throw new Error(`Redis holds ${count} keys after loading, expected ${bitmaps.size}`);
}

/**
 * Writes every bitmap of the datasets into an embedded-engine data folder via restore(). The
 * engine must not be open elsewhere (one process per folder): call this before starting a
 * gateway on `dir`. All-zero bitmaps are dropped by the engine (Redis keeps them), so they are
 * not counted in the key check.
 */
export async function loadEmbedded(dir: string, ...datasets: Dataset[]): Promise<void> {
  const bitmaps = allBitmaps(datasets);
  const engine = await openEmbeddedEngine({ dir, fsync: 'os' });
  try {
    for (const [key, bytes] of bitmaps) await engine.restore(key, bytes);
    const expected = [...bitmaps.values()].filter((b) => b.some((v) => v !== 0)).length;
    if (engine.keyCount() !== expected) throw new Error(`embedded engine holds ${engine.keyCount()} keys, expected ${expected}`);
  } finally {
    await engine.close();
  }
}
