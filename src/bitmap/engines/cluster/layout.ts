// ShardedLayout: where a bitmapist key's bits for one id range live on a Redis Cluster (one hash tag a shard), and where the cluster's own records live.

import { metaPrefixFor } from '../../keys.ts';
import type { KeyLayout } from '../../keys.ts';
import { shardTag } from './slots.ts';

/**
 * The planner keeps naming keys in bitmapist's layout (the logical keys); on the cluster each
 * logical bitmap is split by id into shards of 2^W ids, and shard k of `trackist_active_2026-11`
 * is `{<tag of k>}trackist_active_2026-11`, holding id x at bit x − k·2^W. Every key of one shard
 * shares the tag, so a whole Program runs over one shard in one script on one master.
 */
export interface ShardedLayout {
  /** W: a shard holds 2^W consecutive ids. */
  readonly shardBits: number;
  /** 2^W. */
  readonly shardSize: number;
  /** How many shards cover the ids [0, 2^32). */
  readonly shardCount: number;
  readonly logical: KeyLayout;
  shardOf(id: number): number;
  /** The first id of shard k. */
  base(k: number): number;
  /** The hash tag of shard k (no braces). */
  tag(k: number): string;
  /** Logical bitmaps are split into shards; counters, the id mapping and the ledger are not. */
  isSharded(logicalKey: string): boolean;
  /** Shard k's part of a logical bitmap. */
  key(logicalKey: string, k: number): string;
  /** A physical key read back: its shard and logical key, or null for a key outside the sharded layout. */
  parse(physicalKey: string): { shard: number; key: string } | null;
  /** Where a key that is not sharded lives (the id mapping's three keys share one tag; the rest keep their names). */
  unsharded(logicalKey: string): string;
  /** The string id mapping, in one slot so one script assigns ids atomically. */
  readonly idKeys: { readonly forward: string; readonly reverse: string; readonly next: string };
  /** String: W, written by the first gateway to open the cluster; another W is refused. */
  readonly shardBitsKey: string;
  /** Bitmap of shard numbers that may hold bits: set before a shard is first written, never cleared. */
  readonly shardsKey: string;
}

/** W when SHARD_BITS is not set: README "Redis Cluster" gives the measurement behind it. */
export const DEFAULT_SHARD_BITS = 16;

const PHYSICAL = /^\{(\d+)\.[0-9A-Za-z]{3}\}/;

export function shardedLayout(logical: KeyLayout, shardBits: number): ShardedLayout {
  if (!Number.isInteger(shardBits) || shardBits < 3 || shardBits > 32) throw new Error(`shard bits must be 3 to 32, got ${shardBits}`);
  const shardSize = 2 ** shardBits;
  const shardCount = 2 ** (32 - shardBits);
  const meta = metaPrefixFor(logical.prefix);
  const tags = new Map<number, string>();
  const tag = (k: number): string => {
    let t = tags.get(k);
    if (t === undefined) {
      if (tags.size >= 100_000) tags.clear();
      t = shardTag(k);
      tags.set(k, t);
    }
    return t;
  };
  const idTag = `{${meta}ids}`;
  const idKeys = { forward: `${idTag}forward`, reverse: `${idTag}reverse`, next: `${idTag}next` };
  const byLogicalId = new Map<string, string>([
    [logical.idKeys.forward, idKeys.forward],
    [logical.idKeys.reverse, idKeys.reverse],
    [logical.idKeys.next, idKeys.next],
  ]);
  return {
    shardBits,
    shardSize,
    shardCount,
    logical,
    shardOf: (id) => Math.floor(id / shardSize),
    base: (k) => k * shardSize,
    tag,
    isSharded: (key) => key.startsWith(logical.prefix) && !key.startsWith(meta),
    key: (key, k) => `{${tag(k)}}${key}`,
    parse(physical) {
      const m = PHYSICAL.exec(physical);
      if (!m) return null;
      const shard = Number(m[1]);
      // Another tag of the same shape is not ours: its suffix would not be the one chosen for k.
      if (shard >= shardCount || m[0] !== `{${tag(shard)}}`) return null;
      return { shard, key: physical.slice(m[0].length) };
    },
    unsharded: (key) => byLogicalId.get(key) ?? key,
    idKeys,
    shardBitsKey: `${meta}cluster:shard-bits`,
    shardsKey: `${meta}cluster:shards`,
  };
}
