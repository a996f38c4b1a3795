// The cluster engine's closed-period cache, reused answers and change feed (Engine.watch), all on the invalidations every master sends (tracking.ts).
//
// The cache holds copies of logical keys: a copy is the union of the key's shards, each read
// with a GET and shifted to its first id, so a request's outputs over held copies run in
// process exactly as on one Redis, with no fan-out. A change to any shard of a key drops the
// key's copy (and the answers that read it); a flush of any master drops everything; a lapse of
// tracking anywhere drops everything and turns copies off until every master is tracked again.

import type { Cluster } from 'ioredis';
import { splitProgram } from '../../program.ts';
import type { OutputValue, Program } from '../../program.ts';
import { AnswerCache } from '../answer-cache.ts';
import { ClosedPeriodCache } from '../closed-cache.ts';
import type { ClosedCacheOptions } from '../closed-cache.ts';
import type { ChangeListener } from '../engine.ts';
import { RoaringBitmap32, bitmapFromRedisBytesYielding, runOnBitmaps } from '../roaring.ts';
import type { Bitmap } from '../roaring.ts';
import type { ShardedLayout } from './layout.ts';
import { ClusterTracking } from './tracking.ts';

export interface ClusterCachingOptions {
  readonly cluster: Cluster;
  readonly layout: ShardedLayout;
  /** Keep copies of closed periods (CACHE_MB > 0). */
  readonly cache?: ClosedCacheOptions;
  /** Memory for reused answers, in bytes; they ride on the cache's invalidation, so need `cache`. */
  readonly answerCacheBytes?: number;
  /** Counter hashes' prefix: watch() reports their changes too. */
  readonly counterPrefix: string;
  readonly commandTimeoutMs: number;
  /** The shards that may hold bits of a logical key (a superset is fine). */
  shards(key: string): Promise<readonly number[]>;
  onStatus?(message: string): void;
}

/** Shards read at once while a copy is fetched: a shard's string is at most 2^W / 8 bytes. */
const SHARDS_AT_ONCE = 16;

export class ClusterCaching {
  readonly cache: ClosedPeriodCache | null;
  readonly answers: AnswerCache | null;
  private readonly tracking: ClusterTracking;
  private readonly watchers = new Set<ChangeListener>();
  /** The cache's token from the last lapse, for resume(). */
  private token = 0;

  constructor(private readonly options: ClusterCachingOptions) {
    const { layout } = options;
    this.tracking = new ClusterTracking(options.cluster, {
      prefixes: ['{', options.counterPrefix], // every shard key starts with its tag
      commandTimeoutMs: options.commandTimeoutMs,
      onStatus: options.onStatus,
    });
    const cache = options.cache ? new ClosedPeriodCache(options.cache) : null;
    this.cache = cache;
    cache?.attach({ fetch: (key) => this.fetch(key), lengths: (keys) => this.lengths(keys), fence: () => this.tracking.fence() });
    const answerBytes = options.answerCacheBytes ?? 0;
    this.answers =
      cache && answerBytes > 0
        ? new AnswerCache({
            maxBytes: answerBytes,
            isTracked: (key) => layout.isSharded(key),
            guard: { active: () => cache.active, fence: () => cache.fence() },
          })
        : null;
    if (this.answers) cache?.follow(this.answers);
    const { prefix, tempPrefix } = layout.logical;
    this.tracking.listen({
      lapsed: () => {
        if (cache) this.token = cache.lapse();
      },
      resumed: () => {
        cache?.resume(this.token);
        this.tell(null); // what changed while tracking lapsed is unknown
      },
      changed: (keys) => {
        if (keys === null) {
          cache?.clear();
          this.tell(null);
          return;
        }
        const logical: string[] = [];
        for (const physical of keys) {
          const key = layout.parse(physical)?.key ?? physical;
          if ((key.startsWith(prefix) && !key.startsWith(tempPrefix)) || key.startsWith(options.counterPrefix)) logical.push(key);
        }
        if (cache) for (const k of logical) cache.invalidate(k);
        if (logical.length) this.tell(logical);
      },
    });
  }

  /** Starts tracking when there is a cache to keep exact; resolves whether it is live. */
  async start(): Promise<boolean> {
    return this.cache ? this.tracking.start() : false;
  }

  /** The program's outputs: reused answers, then copies, then `compute` (the shards' scripts) for the rest. */
  run(program: Program, compute: (p: Program) => Promise<OutputValue[]>): Promise<OutputValue[]> {
    return this.answers ? this.answers.run(program, (p) => this.onCopies(p, compute)) : this.onCopies(program, compute);
  }

  private async onCopies(program: Program, compute: (p: Program) => Promise<OutputValue[]>): Promise<OutputValue[]> {
    const cache = this.cache;
    if (!cache?.active) return compute(program);
    const held = cache.place(program);
    if (!held.size) return compute(program);
    const split = splitProgram(program, (key) => held.has(key));
    const [local, remote] = await Promise.all([
      // Counted once the fence answers, while the masters work on the rest.
      cache.use([...held]).then((bitmaps) => bitmaps && runOnBitmaps(split.local, { bitmap: (k) => bitmaps.get(k), hash: () => undefined })),
      split.remote.instructions.length ? compute(split.remote) : [],
    ]);
    // Rare: a key changed or tracking lapsed while the request was out; the masters answer those outputs too.
    return split.merge(local ?? (await compute(split.local)), remote);
  }

  /** Read-your-writes: drops copies of keys this gateway writes, before and after (the invalidations follow). */
  forget(keys: Iterable<string>): void {
    if (this.cache) for (const k of keys) this.cache.invalidate(k);
  }

  watch(listener: ChangeListener): () => void {
    this.watchers.add(listener);
    void this.tracking.start(0);
    return () => this.watchers.delete(listener);
  }

  private tell(keys: readonly string[] | null): void {
    for (const l of this.watchers) l(keys);
  }

  /** A logical key's copy: its shards' bits, each shifted to the shard's first id. */
  private async fetch(key: string): Promise<{ bitmap: Bitmap; stored: number }> {
    const { cluster, layout } = this.options;
    const shards = await this.options.shards(key);
    const copy = new RoaringBitmap32();
    let stored = 0;
    for (let i = 0; i < shards.length; i += SHARDS_AT_ONCE) {
      const batch = shards.slice(i, i + SHARDS_AT_ONCE);
      const replies = await Promise.all(batch.map((k) => cluster.getBuffer(layout.key(key, k))));
      for (let j = 0; j < batch.length; j++) {
        const bytes = replies[j];
        if (!bytes?.length) continue;
        stored += bytes.length;
        const part = await bitmapFromRedisBytesYielding(bytes);
        copy.orInPlace(layout.base(batch[j]!) ? RoaringBitmap32.addOffset(part, layout.base(batch[j]!)) : part);
      }
    }
    return { bitmap: copy, stored };
  }

  /** The total length of each key's shards' strings. */
  private async lengths(keys: readonly string[]): Promise<Array<number | undefined>> {
    const { cluster, layout } = this.options;
    return Promise.all(
      keys.map(async (key) => {
        const shards = await this.options.shards(key);
        const lengths = await Promise.all(shards.map((k) => cluster.strlen(layout.key(key, k))));
        return lengths.reduce((a, b) => a + b, 0);
      }),
    );
  }

  stats(): { closedCache?: { hits: number; misses: number; entries: number; active: boolean }; answerCache?: { hits: number; misses: number; entries: number; bytes: number } } {
    const { cache, answers } = this;
    return {
      ...(cache && { closedCache: { hits: cache.hits, misses: cache.misses, entries: cache.size, active: cache.active } }),
      ...(answers && { answerCache: { hits: answers.hits, misses: answers.misses, entries: answers.size, bytes: answers.heldBytes } }),
    };
  }

  /** Resolves once no background fetch is queued or running (tests wait for copies with it). */
  idle(): Promise<void> {
    return this.cache?.idle() ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.watchers.clear();
    await this.tracking.stop();
  }
}
