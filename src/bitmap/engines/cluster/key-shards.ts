// Per-key shard sets: for each logical bitmap, a bitmap of the shards that may hold its bits, so a request calls only the shards where its own keys live.

import type { Cluster } from 'ioredis';
import { sources } from '../../program.ts';
import type { Program, Ref } from '../../program.ts';
import type { ShardedLayout } from './layout.ts';

/**
 * Where the shard set of a logical key lives: `{<meta>cluster:shards}<key>`. The hash tag is the
 * name of the cluster-wide shard bitmap, so every set shares its slot: a request reads all its
 * keys' sets in one MGET, and a write marks them and the cluster-wide bitmap in one script.
 */
export function shardSetKey(layout: ShardedLayout, key: string): string {
  return `{${layout.shardsKey}}${key}`;
}

/** Records the sets are kept (written once the sets cover every key; see ClusterEngine.connect). */
export function shardSetsReadyKey(layout: ShardedLayout): string {
  return `${layout.shardsKey}:per-key`;
}

/** A shard bitmap's members, ascending. */
export function shardsOf(bytes: Buffer | null | undefined): number[] {
  const shards: number[] = [];
  if (!bytes) return shards;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) continue;
    for (let j = 0; j < 8; j++) if (b & (0x80 >> j)) shards.push(i * 8 + j);
  }
  return shards;
}

type WriteClient = Cluster & { bitmapqlWrite(numKeys: number, args: Array<string | number>): Promise<number> };

/**
 * Sets each key's shards in its set, and every shard in the cluster-wide bitmap, in one write.lua
 * call (all in one slot, atomic). Called before the shards themselves are written, so a read that
 * starts after the write is acknowledged finds the shard in the sets it reads.
 */
export async function markShards(client: Cluster, layout: ShardedLayout, byKey: ReadonlyMap<string, Iterable<number>>): Promise<void> {
  const call = shardSetWrite(layout, byKey);
  if (call) await (client as WriteClient).bitmapqlWrite(call.numKeys, call.args);
}

/**
 * The write.lua call markShards makes (keys, then each key's shard count and shards), none when
 * there is no shard to mark. Its keys are all in the slot of `layout.shardsKey`: a caller that
 * WAITs for replicas routes it there itself (routed.ts) to learn the node that ran it.
 */
export function shardSetWrite(layout: ShardedLayout, byKey: ReadonlyMap<string, Iterable<number>>): { numKeys: number; args: Array<string | number> } | undefined {
  const all = new Set<number>();
  const keys: string[] = [layout.shardsKey];
  const lists: number[][] = [[]];
  for (const [key, shards] of byKey) {
    const list = [...new Set(shards)];
    if (!list.length) continue;
    keys.push(shardSetKey(layout, key));
    lists.push(list);
    for (const k of list) all.add(k);
  }
  if (!all.size) return undefined;
  lists[0] = [...all];
  const args: Array<string | number> = [...keys];
  for (const list of lists) {
    args.push(list.length);
    for (const k of list) args.push(k); // a list may hold 65,536 shards: too many to spread into a call
  }
  return { numKeys: keys.length, args };
}

/** MGET takes this many keys at most: a program may read 50,000. */
const MGET_KEYS = 10_000;

/** The shard sets of `keys` (logical, sharded): one MGET (one for each 10,000 keys). */
export async function readShardSets(client: Cluster, layout: ShardedLayout, keys: readonly string[]): Promise<Map<string, number[]>> {
  const sets = new Map<string, number[]>();
  const chunks: Array<Promise<void>> = [];
  for (let at = 0; at < keys.length; at += MGET_KEYS) {
    const chunk = keys.slice(at, at + MGET_KEYS);
    chunks.push(client.mgetBuffer(chunk.map((k) => shardSetKey(layout, k))).then((bytes) => chunk.forEach((k, i) => sets.set(k, shardsOf(bytes[i])))));
  }
  await Promise.all(chunks);
  return sets;
}

/**
 * Per output of a Program (in order), the shards where it may be non-empty: a key's set; AND the
 * intersection of its sources' shards, OR and XOR the union, a difference its first source's.
 */
export function outputShards(program: Program, sets: ReadonlyMap<string, readonly number[]>): Array<readonly number[]> {
  const regs: Array<readonly number[]> = [];
  const of = (r: Ref): readonly number[] => ('key' in r ? (sets.get(r.key) ?? []) : (regs[r.reg] ?? []));
  const out: Array<readonly number[]> = [];
  for (const i of program.instructions) {
    switch (i.op) {
      case 'and':
        regs[i.dest] = i.args.map(of).reduce(intersect);
        break;
      case 'or':
      case 'xor':
        regs[i.dest] = i.args.map(of).reduce(union);
        break;
      case 'diff':
        regs[i.dest] = of(i.from);
        break;
      default:
        out.push(sources(i).length ? of(sources(i)[0]!) : []);
    }
  }
  return out;
}

/** Which keys of `sets` may have bits in shard k: 'all' where every key may (the common case of dense keys). */
export function keysInShards(sets: ReadonlyMap<string, readonly number[]>): (k: number) => ReadonlySet<string> | 'all' {
  let first: readonly number[] | undefined;
  let alike = true;
  for (const list of sets.values()) {
    if (!first) first = list;
    else if (!same(first, list)) {
      alike = false;
      break;
    }
  }
  if (alike) return () => 'all';
  const byShard = new Map<number, Set<string>>();
  for (const [key, list] of sets) {
    for (const k of list) {
      let keys = byShard.get(k);
      if (!keys) byShard.set(k, (keys = new Set()));
      keys.add(key);
    }
  }
  const none = new Set<string>();
  return (k) => {
    const keys = byShard.get(k);
    return keys?.size === sets.size ? 'all' : (keys ?? none);
  };
}

function same(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Ascending lists merged; the same list (the common case: every key of a request in the same shards) comes back as is. */
export function union(a: readonly number[], b: readonly number[]): readonly number[] {
  if (same(a, b) || !b.length) return a;
  if (!a.length) return b;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

export function intersect(a: readonly number[], b: readonly number[]): readonly number[] {
  if (same(a, b)) return a;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}
