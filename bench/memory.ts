// Scenario C: bytes one bitmap takes in Redis (MEMORY USAGE) and in the embedded engine (memoryBytes()).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { openEmbeddedEngine } from '../src/bitmap/engines/embedded/index.ts';
import { BITMAP_BITS, SEED, popcount, randomBitmap, rng, subSeed } from './dataset.ts';
import { formatBytes, formatRatio, table } from './report.ts';

export interface MemoryCase {
  readonly label: string;
  /** Either the bitmap's bytes (Redis layout) or a list of ids to set one by one. */
  readonly data: { readonly bytes: Buffer } | { readonly ids: readonly number[] };
}

export interface MemoryRow {
  readonly label: string;
  readonly ids: number;
  readonly redisStringBytes: number;
  readonly redisBytes: number;
  readonly embeddedBytes: number;
}

/** The three cases of the brief: dense, sparse, and a few ids spread over the whole 32-bit range. */
export function memoryCases(): MemoryCase[] {
  const next = rng(subSeed(SEED, 3003));
  const spread = new Set<number>();
  while (spread.size < 1000) spread.add(Math.floor(next() * 2 ** 32));
  return [
    { label: '(a) 10% of 1M ids', data: { bytes: randomBitmap(subSeed(SEED, 3001), BITMAP_BITS, 0.1) } },
    { label: '(b) 0.1% of 1M ids', data: { bytes: randomBitmap(subSeed(SEED, 3002), BITMAP_BITS, 0.001) } },
    // Highest id first, so Redis allocates the 512 MiB string once rather than growing it.
    { label: '(c) 1,000 ids over [0, 2^32)', data: { ids: [...spread].sort((a, b) => b - a) } },
  ];
}

/**
 * Writes each case to Redis, reads MEMORY USAGE and deletes the key at once (case (c) is a
 * 512 MiB string); then writes it to an in-process embedded engine in a temporary folder and
 * takes the growth of memoryBytes().
 */
export async function measureMemory(redis: Redis, cases: readonly MemoryCase[]): Promise<MemoryRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bitmapql-bench-mem-'));
  const engine = await openEmbeddedEngine({ dir, fsync: 'os' });
  const rows: MemoryRow[] = [];
  try {
    for (const [i, c] of cases.entries()) {
      const key = `trackist_bench_memory_${i}_2025-3-2`;
      let ids: number;
      // Redis
      if ('bytes' in c.data) {
        ids = popcount(c.data.bytes);
        await redis.set(key, c.data.bytes);
      } else {
        ids = c.data.ids.length;
        const p = redis.pipeline();
        for (const id of c.data.ids) p.setbit(key, id, 1);
        const replies = await p.exec();
        const failed = replies?.find(([err]) => err);
        if (!replies || failed) throw new Error(`SETBIT failed: ${failed?.[0]?.message ?? 'pipeline aborted'}`);
      }
      let redisBytes: number;
      let redisStringBytes: number;
      try {
        redisBytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
        redisStringBytes = await redis.strlen(key);
        const counted = await redis.bitcount(key);
        if (counted !== ids) throw new Error(`${c.label}: Redis counts ${counted} ids, expected ${ids}`);
      } finally {
        await redis.del(key);
      }
      // Embedded
      const before = engine.memoryBytes();
      if ('bytes' in c.data) await engine.restore(key, c.data.bytes);
      else await engine.write(c.data.ids.map((offset) => ({ key, offset, bit: 1 as const })));
      const embeddedBytes = engine.memoryBytes() - before;
      const [embeddedCount] = await engine.run({ registers: 0, instructions: [{ op: 'count', src: { key } }] });
      if (embeddedCount !== ids) throw new Error(`${c.label}: the embedded engine counts ${String(embeddedCount)} ids, expected ${ids}`);
      rows.push({ label: c.label, ids, redisStringBytes, redisBytes, embeddedBytes });
    }
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

export function printMemory(rows: readonly MemoryRow[]): void {
  const body = rows.map((r) => [
    r.label,
    r.ids.toLocaleString('en-US'),
    formatBytes(r.redisStringBytes),
    `${formatBytes(r.redisBytes)} (${r.redisBytes.toLocaleString('en-US')} B)`,
    `${formatBytes(r.embeddedBytes)} (${r.embeddedBytes.toLocaleString('en-US')} B)`,
    formatRatio(r.redisBytes / r.embeddedBytes),
  ]);
  console.log(
    [
      '',
      'Scenario C — memory of one bitmap',
      '  Redis: MEMORY USAGE <key> SAMPLES 0 (string + key + object overhead), key deleted right after.',
      '  embedded: growth of memoryBytes() = roaring portable serialized size + key length (not heap/RSS).',
      '',
      table(['case', 'ids set', 'Redis string', 'Redis MEMORY USAGE', 'embedded memoryBytes()', 'Redis / embedded'], body),
    ].join('\n'),
  );
}
