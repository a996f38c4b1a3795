// Copies every key under a prefix from one engine to another (Redis ↔ embedded), in batches.

import type { Engine } from './engines/engine.ts';

export interface CopyProgress {
  keys: number;
  bytes: number;
}

export interface CopyResult extends CopyProgress {
  skipped: number;
}

/**
 * Keys under `prefix` are read with SCAN and copied byte for byte in Redis bitmap layout.
 * Temporary keys (`<prefix>bitop_…`) are skipped.
 */
export async function copyKeys(
  from: Engine,
  to: Engine,
  prefix: string,
  onProgress: (p: CopyProgress) => void = () => {},
): Promise<CopyResult> {
  const progress: CopyResult = { keys: 0, bytes: 0, skipped: 0 };
  const temp = `${prefix}bitop_`;
  for await (const batch of from.scan(prefix)) {
    const keys = batch.filter((k) => !k.startsWith(temp));
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
    onProgress(progress);
  }
  return progress;
}
