// A logical bitmap's bytes to and from its shards, in slices (for `bitmapql copy`): shard k's key holds bytes [k·2^W/8, (k+1)·2^W/8) of the logical key.

import type { Cluster } from 'ioredis';
import type { ByteSlice } from '../engine.ts';
import type { ShardedLayout } from './layout.ts';

export interface ShardStore {
  readonly cluster: Cluster;
  readonly layout: ShardedLayout;
  /** Shards that may hold bits of one logical key, ascending. */
  keyShards(key: string): Promise<number[]>;
  /** Marks shards in the keys' shard sets, before they are written. */
  markShards(byKey: ReadonlyMap<string, Iterable<number>>): Promise<void>;
  /** Removes a logical key from every shard. */
  delete(keys: readonly string[]): Promise<number>;
}

/** Shards read at once: enough to keep every master busy, few enough to bound the bytes in flight. */
const SHARDS_AT_ONCE = 32;

/**
 * The live shards' bytes in id order, each at its place in the logical key; a shard wider than
 * `sliceBytes` is read in GETRANGE slices, so no reply is larger than that. Shards without the key
 * are left out (they are zeros).
 */
export async function* dumpShardSlices(store: ShardStore, key: string, sliceBytes: number, fail: (e: unknown) => never): AsyncIterable<ByteSlice> {
  const { cluster: client, layout } = store;
  if (!layout.isSharded(key)) {
    const name = layout.unsharded(key);
    for (let at = 0; ; at += sliceBytes) {
      const bytes = await client.getrangeBuffer(name, at, at + sliceBytes - 1).catch(fail);
      if (bytes.length) yield { at, bytes };
      if (bytes.length < sliceBytes) return;
    }
  }
  const width = layout.shardSize / 8;
  const step = Math.min(sliceBytes, width);
  const live = await store.keyShards(key);
  for (let i = 0; i < live.length; i += SHARDS_AT_ONCE) {
    const group = live.slice(i, i + SHARDS_AT_ONCE);
    // The first slice of each shard at once; a shard wider than a slice continues on its own.
    const firsts = await Promise.all(group.map((k) => client.getrangeBuffer(layout.key(key, k), 0, step - 1).catch(fail)));
    for (let j = 0; j < group.length; j++) {
      const k = group[j]!;
      const base = k * width;
      let bytes = firsts[j]!;
      for (let at = 0; bytes.length > 0; ) {
        yield { at: base + at, bytes };
        if (bytes.length < step) break;
        at += step;
        if (at >= width) break;
        bytes = await client.getrangeBuffer(layout.key(key, k), at, Math.min(at + step, width) - 1).catch(fail);
      }
    }
  }
}

/**
 * Replaces a logical bitmap from slices: the key leaves every shard, then each slice is cut at
 * shard edges and each piece's stretch from its first to its last non-zero byte is written with
 * SETRANGE, after its shard is marked live. A shard that would hold only zeros gets no key, so a
 * key's shards end at their last set bit (trailing zero bytes are not kept).
 */
export async function restoreShardSlices(
  store: ShardStore,
  key: string,
  slices: AsyncIterable<ByteSlice>,
  fail: (e: unknown) => never,
): Promise<void> {
  const { cluster: client, layout } = store;
  if (!layout.isSharded(key)) {
    const name = layout.unsharded(key);
    await client.unlink(name).catch(fail);
    for await (const s of slices) await client.setrange(name, s.at, s.bytes).catch(fail);
    return;
  }
  await store.delete([key]);
  const width = layout.shardSize / 8;
  const marked = new Set<number>();
  for await (const s of slices) {
    const writes: Array<Promise<unknown>> = [];
    const end = s.at + s.bytes.length;
    for (let at = s.at; at < end; ) {
      const k = Math.floor(at / width);
      const stop = Math.min(end, (k + 1) * width);
      const piece = s.bytes.subarray(at - s.at, stop - s.at);
      const first = piece.findIndex((b) => b !== 0);
      if (first >= 0) {
        let last = piece.length;
        while (piece[last - 1] === 0) last--;
        const local = at - k * width + first;
        const physical = layout.key(key, k);
        const bytes = piece.subarray(first, last);
        // The key's shard set first: a reader never misses bits that are stored.
        const mark = marked.has(k) ? Promise.resolve() : store.markShards(new Map([[key, [k]]]));
        marked.add(k);
        writes.push(mark.then(() => client.setrange(physical, local, bytes)).catch(fail));
      }
      at = stop;
    }
    await Promise.all(writes);
  }
}
