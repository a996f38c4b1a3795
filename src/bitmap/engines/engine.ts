// Engine: the only code that touches storage. Runs Programs and applies bit writes.

import { BitmapError } from '../errors.ts';
import type { MemberPage, OutputValue, Program } from '../program.ts';

export interface BitWrite {
  readonly key: string;
  readonly offset: number;
  readonly bit: 0 | 1;
}

/** Adds `by` to one field of a counter hash. */
export interface CounterIncrement {
  readonly key: string;
  readonly field: string;
  readonly by: number;
}

/**
 * A batch of counter increments applied at most once: the engine records `key` with the batch's
 * `digest` atomically with the increments, and a later batch under the same key (within
 * ONCE_TTL_SECONDS) is acknowledged without applying it, or refused when its digest differs.
 */
export interface Once {
  readonly key: string;
  readonly digest: string;
}

/** How long an idempotency key is remembered: retries come within seconds, a day is ample. */
export const ONCE_TTL_SECONDS = 24 * 3600;

/** What increment() under an idempotency key did: `replayed` when the key had already been applied. */
export interface OnceOutcome {
  readonly replayed: boolean;
}

export function onceConflict(key: string): BitmapError {
  return new BitmapError(
    'IDEMPOTENCY_CONFLICT',
    `idempotencyKey ${JSON.stringify(key.slice(0, 60))} was already used for a different batch; send a new key for a new batch (a retry must repeat the batch exactly)`,
  );
}

/** What an engine says of itself: metrics label their series with it and read its figures. */
export interface EngineDescription {
  readonly kind: 'redis' | 'embedded' | 'cluster';
  /** How it reaches storage: Redis (or a Redis Cluster, a script a shard) by Lua scripts or bitmapist-server's commands; embedded in process. */
  readonly mode: 'lua' | 'pipeline' | 'local';
  readonly stats: EngineStats;
}

/** Figures an engine keeps of its own work, read when metrics are scraped; each is present only where it applies. */
export interface EngineStats {
  /** Redis with the closed-period cache on (it may still be inactive). */
  readonly closedCache?: {
    /** Running totals since the engine opened: keys answered from a copy, and keys fetched from Redis. */
    readonly hits: number;
    readonly misses: number;
    /** Copies held. */
    readonly entries: number;
    /** Invalidations reach the cache, so copies are used. */
    readonly active: boolean;
  };
  /** Redis with reused answers on (answer-cache.ts). */
  readonly answerCache?: {
    /** Running totals since the engine opened: outputs answered from memory, and outputs computed (of those that may be reused). */
    readonly hits: number;
    readonly misses: number;
    /** Answers held, and what they hold by its estimate. */
    readonly entries: number;
    readonly bytes: number;
  };
  /** Embedded: what opening the data folder dropped from a torn or corrupt log tail (0: nothing). */
  readonly recovery?: {
    readonly droppedRecords: number;
    readonly droppedBytes: number;
  };
}

export interface Engine {
  readonly kind: 'redis' | 'embedded' | 'cluster';
  /** Kind, mode and figures, without a round trip. */
  describe(): EngineDescription;
  /** Runs a whole program as one round trip; one result per output instruction, in order. */
  run(program: Program): Promise<OutputValue[]>;
  /**
   * Applies every write of the batch (and the counter increments, when given), all or none, in
   * one round trip. When the promise resolves the writes are acknowledged: they survive a crash
   * of the gateway.
   */
  write(writes: readonly BitWrite[], increments?: readonly CounterIncrement[]): Promise<void>;
  /**
   * Applies every counter increment of the batch, all or none, in one round trip; acknowledged
   * (durable) when the promise resolves, like write(). With `once`: at most once per key (see
   * Once): `replayed: true` when the key had been applied before (nothing is applied again), and
   * IDEMPOTENCY_CONFLICT when it had been applied with another digest.
   */
  increment(increments: readonly CounterIncrement[], once?: Once): Promise<OnceOutcome>;
  /**
   * String ids: the dense integer id of each external id, in order. An unknown external id gets
   * the next free id when `assign` (atomically: concurrent callers, in any process, never get
   * one id for two external ids or two ids for one), and is null otherwise. Durable when the
   * promise resolves, like write().
   */
  resolveIds(externals: readonly string[], assign: boolean): Promise<Array<number | null>>;
  /** The external id behind each dense id, or null where none was assigned. */
  externalIds(ids: readonly number[]): Promise<Array<string | null>>;
  /** Every [external id, dense id] pair of the mapping, in batches (for copying). */
  idPairs(): AsyncIterable<Array<[string, number]>>;
  /**
   * Stores these exact pairs (for copying), all or none: refused when one contradicts the stored
   * mapping. Later assignments continue after the largest id.
   */
  restoreIds(pairs: ReadonlyArray<readonly [string, number]>): Promise<void>;
  /** Every key starting with `prefix`, in batches (SCAN in Redis, never KEYS). */
  scan(prefix: string): AsyncIterable<string[]>;
  /** Deletes keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** A bitmap's bytes in Redis layout (bit 0 is the top bit of byte 0), or null when absent. */
  dump(key: string): Promise<Buffer | null>;
  /** Replaces a bitmap with these bytes in Redis layout. */
  restore(key: string, bytes: Buffer): Promise<void>;
  /**
   * A bitmap's bytes in ascending slices of at most `sliceBytes`, each at its byte offset, so a
   * large key (512 MiB at id 2^32) never travels as one reply; stretches with no bits may be left
   * out. Engines without it give dump()'s bytes whole.
   */
  dumpSlices?(key: string, sliceBytes: number): AsyncIterable<ByteSlice>;
  /**
   * Replaces a bitmap with the bytes of these slices (ascending; gaps are zero bytes), without
   * holding them all at once. Engines without it are given the slices joined, to restore().
   */
  restoreSlices?(key: string, slices: AsyncIterable<ByteSlice>): Promise<void>;
  /** True when storage answers. */
  ready(): Promise<boolean>;
  /**
   * Storage that refuses writes for lack of space (Redis at maxmemory, a full disk) fails them
   * with a STORAGE_FULL BitmapError. This asks, storing nothing, whether it has room again: false
   * while it would still refuse, true once it has room; other failures reject. Engines without
   * it never fill up.
   */
  acceptsWrites?(): Promise<boolean>;
  /**
   * Calls `listener` with the keys of every acknowledged change to stored data, whoever made it
   * (null: anything may have changed, e.g. a flush or a lapse in the feed); returns the way to
   * stop. Engines without it cannot tell (live answers then move only with time).
   */
  watch?(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

/** Part of a bitmap's bytes in Redis layout: `bytes` start at byte `at` of the whole. */
export interface ByteSlice {
  readonly at: number;
  readonly bytes: Buffer;
}

/** Told of changed keys; null when anything may have changed. */
export type ChangeListener = (keys: readonly string[] | null) => void;

/** Decodes Redis bitmap bytes into ascending offsets, starting at bit `base` of byte 0. */
export function decodeBits(bytes: Uint8Array, base: number, from: number, limit: number): MemberPage {
  const ids: number[] = [];
  for (let i = Math.max(0, Math.floor((from - base) / 8)); i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) continue;
    for (let j = 0; j < 8; j++) {
      if (b & (0x80 >> j)) {
        const id = base + i * 8 + j;
        if (id < from) continue;
        if (ids.length === limit) return { ids, hasMore: true };
        ids.push(id);
      }
    }
  }
  return { ids, hasMore: false };
}

/** Slices (ascending) as one buffer, gaps filled with zero bytes. */
export function joinSlices(slices: readonly ByteSlice[]): Buffer {
  const last = slices[slices.length - 1];
  const out = Buffer.alloc(last ? last.at + last.bytes.length : 0);
  for (const s of slices) s.bytes.copy(out, s.at);
  return out;
}
