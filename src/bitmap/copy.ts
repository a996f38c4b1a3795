// Copies a dataset from one engine to another (Redis, a Redis Cluster, embedded; any direction), in batches: every bitmap under
// the prefix, and (unless the source is a bitmapist-server) the counter hashes, the import ledger
// and the string id mapping.

import { joinSlices } from './engines/engine.ts';
import type { ByteSlice, CounterIncrement, Engine } from './engines/engine.ts';
import type { KeyLayout } from './keys.ts';
import type { CounterEntries } from './program.ts';

export interface CopyProgress {
  keys: number;
  bytes: number;
}

export interface CopyResult extends CopyProgress {
  skipped: number;
  /** Counter hashes (and the import ledger) copied. */
  hashes: number;
  /** String id pairs copied. */
  ids: number;
}

export interface CopyOptions {
  /** Also copy counters, the import ledger and string ids (hashes); off for a bitmapist-server source. */
  readonly hashes?: boolean;
  readonly onProgress?: (p: CopyProgress) => void;
}

/**
 * Bitmaps under the layout's prefix are read with SCAN and copied byte for byte in Redis bitmap
 * layout; temporary keys (`<prefix>bitop_…`) are skipped. A hash replaces the target's hash of
 * that name. String ids are stored as they are, so the copied bitmaps keep their meaning; a target
 * whose mapping contradicts the source's is refused before its ids change.
 */
export async function copyKeys(from: Engine, to: Engine, layout: KeyLayout, options: CopyOptions = {}): Promise<CopyResult> {
  const progress: CopyResult = { keys: 0, bytes: 0, skipped: 0, hashes: 0, ids: 0 };
  if (options.hashes ?? true) {
    // Ids first: a target with another mapping fails here, before any bitmap is overwritten.
    for await (const pairs of from.idPairs()) {
      await to.restoreIds(pairs);
      progress.ids += pairs.length;
    }
  }
  const sliced = Boolean(from.dumpSlices || to.restoreSlices);
  for await (const batch of from.scan(layout.prefix)) {
    const keys = batch.filter((k) => !k.startsWith(layout.tempPrefix));
    progress.skipped += batch.length - keys.length;
    if (sliced) {
      // One key at a time, a slice at a time: memory stays near a slice whatever a key's size.
      for (const k of keys) await copySliced(from, to, k, progress, options.onProgress);
      options.onProgress?.(progress);
      continue;
    }
    const values = await Promise.all(keys.map((k) => from.dump(k)));
    await Promise.all(
      keys.map((k, i) => {
        const bytes = values[i];
        if (!bytes) return undefined;
        progress.keys++;
        progress.bytes += bytes.length;
        return to.restore(k, bytes);
      }),
    );
    options.onProgress?.(progress);
  }
  if (options.hashes ?? true) {
    progress.hashes += await copyHashes(from, to, [layout.importsKey]);
    for await (const batch of from.scan(layout.counterPrefix)) progress.hashes += await copyHashes(from, to, batch);
  }
  return progress;
}

/** Bytes a slice: one GETRANGE reply, one SETRANGE. */
export const SLICE_BYTES = 1 << 20;

/**
 * Copies one bitmap slice by slice. All-zero slices are not sent (the target reads a gap as
 * zeros); a key whose slices are all zero is not created. The target's bytes then end at the
 * source's last set bit, or later where the source's zero tail came with a non-zero slice.
 */
async function copySliced(from: Engine, to: Engine, key: string, progress: CopyResult, onProgress?: (p: CopyProgress) => void): Promise<void> {
  const source: AsyncIterable<ByteSlice> = from.dumpSlices
    ? from.dumpSlices(key, SLICE_BYTES)
    : (async function* () {
        const bytes = await from.dump(key);
        if (bytes) yield { at: 0, bytes };
      })();
  const iterator = source[Symbol.asyncIterator]();
  const nonZero = async (): Promise<ByteSlice | null> => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return null;
      progress.bytes += next.value.bytes.length;
      if (next.value.bytes.some((b) => b !== 0)) return next.value;
      onProgress?.(progress);
    }
  };
  const first = await nonZero();
  if (!first) {
    // Nothing set: the key is dropped from the target, as a restore of no bits would leave it.
    await to.delete([key]);
    return;
  }
  progress.keys++;
  const slices = (async function* () {
    for (let s: ByteSlice | null = first; s; s = await nonZero()) {
      yield s;
      onProgress?.(progress);
    }
  })();
  if (to.restoreSlices) {
    await to.restoreSlices(key, slices);
    return;
  }
  const parts: ByteSlice[] = [];
  for await (const s of slices) parts.push(s);
  await to.restore(key, joinSlices(parts));
}

/** Copies hashes: one program reads them all, then each replaces the target's (delete, then one write). */
async function copyHashes(from: Engine, to: Engine, keys: readonly string[]): Promise<number> {
  const values = (await from.run({ registers: 0, instructions: keys.map((key) => ({ op: 'hgetall' as const, key })) })) as CounterEntries[];
  const present = keys.filter((_, i) => values[i]!.length > 0);
  if (present.length === 0) return 0;
  const increments: CounterIncrement[] = keys.flatMap((key, i) => values[i]!.map(([field, by]) => ({ key, field, by })));
  await to.delete(present);
  await to.write([], increments);
  return present.length;
}
