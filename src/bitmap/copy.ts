// Copies a dataset from one engine to another (Redis ↔ embedded), in batches: every bitmap under
// the prefix, and (unless the source is a bitmapist-server) the counter hashes, the import ledger
// and the string id mapping.

import type { CounterIncrement, Engine } from './engines/engine.ts';
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
  for await (const batch of from.scan(layout.prefix)) {
    const keys = batch.filter((k) => !k.startsWith(layout.tempPrefix));
    progress.skipped += batch.length - keys.length;
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
