// The Redis engine's cache of closed periods: roaring copies of bitmaps that rarely change,
// counted in process; Redis client-side caching (CLIENT TRACKING, BCAST) drops a copy as soon as
// its key changes.
//
// Why: inside Redis 7 every count is a BITOP plus a BITCOUNT that runs at about 4 GB/s; a
// roaring copy answers AND/OR/XOR counts without building the result. Bitmaps of periods
// that have ended (yesterday, last week) are read far more often than they are written.
//
// Correctness: the main connection is tracked in broadcast mode for the layout's prefix, its
// invalidations redirected to a second connection subscribed to __redis__:invalidate; Redis
// sends them for every change under the prefix (any client, expiry, eviction) and one null
// list for a flush. A request that uses a held copy first PINGs both connections: Redis
// writes an invalidation out before it reads any later command, so once both PONGs are in,
// every change acknowledged before the request began has been applied, and a dead connection
// fails the PING instead of leaving a silent gap. A copy fetched while its key changed answers
// only the request that fetched it (an atomic MULTI snapshot) and is not kept. From the moment
// either connection closes until tracking and the subscription are both back, nothing is
// answered from copies and nothing fetched meanwhile is kept. SWAPDB sends nothing (Redis 7.0):
// a sentinel key holds a random token per database, and the same round trip that fences a
// request reads it; another token (or none) means the data was swapped: everything is dropped.

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { metaPrefixFor } from '../keys.ts';
import { bitmapFromRedisBytes } from './roaring.ts';
import type { Bitmap } from './roaring.ts';

export interface ClosedCacheOptions {
  /** Prefix of the keys to watch (the layout's prefix). */
  readonly keyPrefix: string;
  /** Memory budget for the copies, in bytes (roaring serialized size). */
  readonly maxBytes: number;
  /** Whether a key belongs to a period that has ended (only those are cached). */
  isClosed(key: string): boolean;
  /** Told when caching turns off or on, and why. */
  onStatus?(message: string): void;
}

interface Entry {
  readonly bitmap: Bitmap;
  readonly bytes: number;
}

/** The channel Redis publishes tracking invalidations on (RESP2 redirect). */
const INVALIDATE = '__redis__:invalidate';
/** The name of the invalidation connection in CLIENT LIST. */
export const INVALIDATION_CLIENT_NAME = 'bitmapql-cache-invalidation';

export class ClosedPeriodCache {
  private readonly entries = new Map<string, Entry>(); // in least-recently-used order
  private bytes = 0;
  /** Keys a request is using (held or being fetched), with whether a change was seen meanwhile. */
  private readonly inFlight = new Map<string, { dirty: boolean }[]>();
  private live = false;
  /** Bumped whenever tracking may have lapsed: work begun under an older epoch keeps nothing. */
  private epoch = 0;
  private client: Redis | null = null;
  private subscriber: Redis | null = null;
  /** CLIENT ID of the subscriber's current connection once it is subscribed, else null. */
  private subscriberId: number | null = null;
  /** Redis refused tracking: the cache stays off for good. */
  private refused = false;
  /** The database's sentinel key (beside the layout's other keys, outside the tracked prefix) and the token it held when tracking began. */
  private readonly sentinelKey: string;
  private token: string | null = null;
  /** What a copy of each key seen so far costs (exact once fetched, else from STRLEN): admission needs it before fetching. */
  private readonly sizes = new Map<string, number>();
  hits = 0;
  misses = 0;
  /** Told of every drop too: answers computed from these keys (answer-cache.ts). */
  private readonly followers: Array<{ invalidate(key: string): void; clear(): void }> = [];

  constructor(private readonly options: ClosedCacheOptions) {
    this.sentinelKey = `${metaPrefixFor(options.keyPrefix)}cache:db`;
  }

  /** True while tracking is on and its invalidations flow: only then may copies be used. */
  get active(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Something else held while these copies would be (reused answers): dropped whenever a copy would be. */
  follow(follower: { invalidate(key: string): void; clear(): void }): void {
    this.followers.push(follower);
  }

  /**
   * Opens the invalidation connection, subscribes it and turns tracking on for the main
   * connection (again after every reconnect of either). Resolves false, with the reason told
   * to onStatus, when Redis refuses.
   */
  async start(client: Redis): Promise<boolean> {
    this.client = client;
    const sub = client.duplicate({
      enableReadyCheck: false,
      lazyConnect: true,
      autoResubscribe: false, // resubscribed by hand, after CLIENT ID
      connectionName: INVALIDATION_CLIENT_NAME,
    });
    this.subscriber = sub;
    sub.on('error', () => {});
    sub.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (channel.toString() !== INVALIDATE) return;
      if (keys === null) this.clear(); // FLUSHDB / FLUSHALL
      else for (const k of keys) this.invalidate(k.toString());
    });
    sub.on('close', () => {
      this.subscriberId = null;
      this.goDark();
    });
    sub.on('ready', () => void this.subscribe(sub));
    client.on('close', this.onMainClose);
    client.on('ready', this.onMainReady);
    await sub.connect().catch(() => this.goDark());
    for (let i = 0; i < 100 && !this.live && !this.refused; i++) await new Promise((r) => setTimeout(r, 10));
    return this.live;
  }

  private readonly onMainClose = (): void => this.goDark();
  private readonly onMainReady = (): void => void this.establish();

  /** A (re)connected subscriber: learn its id, then subscribe, then point tracking at it. */
  private async subscribe(sub: Redis): Promise<void> {
    try {
      const id = Number(await sub.call('CLIENT', 'ID'));
      await sub.subscribe(INVALIDATE);
      if (this.subscriber !== sub || sub.status !== 'ready') return;
      this.subscriberId = id;
      await this.establish();
    } catch (e) {
      if ((e as Error).name === 'ReplyError') this.refuse(e as Error);
    }
  }

  /**
   * CLIENT TRACKING on the main connection, redirected to the subscriber. Turned off first: a
   * connection still tracking for an old subscriber id is refused a second ON with a prefix.
   * Whatever closes or restarts this meanwhile bumps the epoch, and only the latest run may
   * turn the cache on.
   */
  private async establish(): Promise<void> {
    const client = this.client;
    if (!client || this.refused || this.subscriberId === null || client.status !== 'ready') return;
    this.goDark();
    const epoch = this.epoch;
    const id = this.subscriberId;
    let token: string | null;
    try {
      await client.call('CLIENT', 'TRACKING', 'off');
      await client.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', 'PREFIX', this.options.keyPrefix);
      token = await this.claimSentinel(client);
    } catch (e) {
      if ((e as Error).name === 'ReplyError') this.refuse(e as Error);
      return; // a dropped connection: its next ready tries again
    }
    if (token === null || epoch !== this.epoch || this.subscriberId !== id || client.status !== 'ready') return;
    this.token = token;
    this.clear();
    this.live = true;
  }

  /**
   * The database's token: the one already there (another gateway's, or ours from before) or a
   * new one. Redis at maxmemory refuses even this tiny SET; then an existing token will do, and
   * with none the cache stays off until the next reconnect or swap check.
   */
  private async claimSentinel(client: Redis): Promise<string | null> {
    const fresh = randomBytes(12).toString('hex');
    try {
      const previous = (await client.call('SET', this.sentinelKey, fresh, 'NX', 'GET')) as string | null;
      return previous ?? fresh;
    } catch (e) {
      if (!(e as Error).message.startsWith('OOM ')) throw e;
      return client.get(this.sentinelKey);
    }
  }

  /** The sentinel no longer holds our token: a SWAPDB (or a flush) happened. Start again from empty. */
  private swapped(): void {
    this.goDark();
    void this.establish();
  }

  private refuse(e: Error): void {
    if (this.refused) return;
    this.refused = true;
    this.goDark();
    this.options.onStatus?.(`closed-period cache off: Redis refused client-side caching (CLIENT TRACKING): ${e.message}`);
    void this.stop();
  }

  async stop(): Promise<void> {
    this.goDark();
    this.client?.off('close', this.onMainClose);
    this.client?.off('ready', this.onMainReady);
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private goDark(): void {
    this.epoch++;
    this.live = false;
    this.clear();
  }

  private clear(): void {
    this.entries.clear();
    this.bytes = 0;
    for (const fetches of this.inFlight.values()) for (const f of fetches) f.dirty = true;
    for (const f of this.followers) f.clear();
  }

  /** A key changed: drop its copy, and keep no copy from a fetch that was out meanwhile. */
  invalidate(key: string): void {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.bytes -= e.bytes;
    }
    for (const f of this.inFlight.get(key) ?? []) f.dirty = true;
    for (const f of this.followers) f.invalidate(key);
  }

  /**
   * Whether a request reading `keys` should run on copies: only when the copies of all of them
   * fit the budget together, so a fetch never brings in what cannot be kept (which would evict
   * and fetch again on every request). A key whose size is not known yet makes this request run
   * in Redis, with the sizes asked for alongside (STRLEN, same round trip); so a key is
   * fetched only from its second read on.
   */
  admits(client: Redis, keys: readonly string[]): boolean {
    let total = 0;
    const unknown: string[] = [];
    for (const k of keys) {
      const size = this.entries.get(k)?.bytes ?? this.sizes.get(k);
      if (size === undefined) unknown.push(k);
      else total += size;
    }
    if (unknown.length) {
      void this.measure(client, unknown);
    } else if (total <= this.options.maxBytes) {
      return true;
    }
    this.misses += keys.length;
    return false;
  }

  /** Learns keys' sizes from STRLEN: a roaring copy is at most its Redis bytes plus a few bytes a 64K-bit container. */
  private async measure(client: Redis, keys: readonly string[]): Promise<void> {
    try {
      const tx = client.multi();
      for (const k of keys) tx.strlen(k);
      const replies = (await tx.exec()) ?? [];
      keys.forEach((k, i) => {
        const [err, n] = replies[i] ?? [new Error('no reply')];
        if (!err) this.learn(k, Number(n) + 8 * Math.ceil(Number(n) / 8192) + 16 + k.length);
      });
    } catch {
      // Not known yet: the next request asks again.
    }
  }

  private learn(key: string, bytes: number): void {
    if (this.sizes.size >= 100_000) this.sizes.clear(); // a bound on what a key scan could make it hold
    this.sizes.set(key, bytes);
  }

  /** Whether a key may be answered from a copy: it belongs to a closed period. */
  isCacheable(key: string): boolean {
    return this.options.isClosed(key);
  }

  get(key: string): Bitmap | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key); // most recently used goes last
    this.entries.set(key, e);
    return e.bitmap;
  }

  /**
   * Copies of `keys`, fetching the missing ones in one atomic round trip. The result holds
   * every key (missing in Redis = empty); copies fetched while a change was reported are
   * used for this answer only. Held copies are used only once both connections have answered
   * a PING (see the top of this file); one whose key changed meanwhile is fetched again.
   */
  async load(client: Redis, keys: readonly string[]): Promise<Map<string, Bitmap>> {
    const out = new Map<string, Bitmap>();
    const held: string[] = [];
    const missing: string[] = [];
    for (const k of keys) {
      const b = this.get(k);
      if (b) {
        out.set(k, b);
        held.push(k);
      } else missing.push(k);
    }
    const epoch = this.epoch;
    const marks = new Map(keys.map((k) => [k, this.watch(k)]));
    try {
      const [fenced, fetched] = await Promise.all([held.length ? this.fence(client) : true, this.fetch(client, missing)]);
      missing.forEach((k, i) => {
        out.set(k, fetched[i]!);
        if (!marks.get(k)!.dirty && epoch === this.epoch && this.live) this.keep(k, fetched[i]!);
      });
      const stale = held.filter((k) => !fenced || marks.get(k)!.dirty || epoch !== this.epoch);
      if (stale.length) {
        // Rare: a change or a lapse of tracking while this request was out. Fresh reads are exact.
        const again = await this.fetch(client, stale);
        stale.forEach((k, i) => out.set(k, again[i]!));
      }
      this.hits += held.length - stale.length;
      this.misses += missing.length + stale.length;
    } finally {
      for (const [k, mark] of marks) {
        const list = this.inFlight.get(k)!;
        list.splice(list.indexOf(mark), 1);
        if (!list.length) this.inFlight.delete(k);
      }
    }
    return out;
  }

  /**
   * Resolves true once both connections have answered a PING (the main one by the sentinel's
   * GET) and the database is still the one tracked: every change acknowledged before the call
   * has then been heard (see the top of this file). False when either fails or the data was
   * swapped (then everything is dropped). Never rejects.
   */
  fence(client: Redis): Promise<boolean> {
    const epoch = this.epoch;
    const token = this.token;
    const sub = this.subscriber;
    return Promise.all([sub ? sub.ping() : Promise.reject(new Error('no subscriber')), client.get(this.sentinelKey)]).then(
      ([, seen]) => {
        if (seen === token) return true;
        if (epoch === this.epoch) this.swapped();
        return false;
      },
      () => false,
    );
  }

  private watch(key: string): { dirty: boolean } {
    const mark = { dirty: false };
    const list = this.inFlight.get(key);
    if (list) list.push(mark);
    else this.inFlight.set(key, [mark]);
    return mark;
  }

  /** One MULTI of GETs: a snapshot of all of them at one instant. */
  private async fetch(client: Redis, keys: readonly string[]): Promise<Bitmap[]> {
    if (!keys.length) return [];
    const tx = client.multi();
    for (const k of keys) tx.getBuffer(k);
    const replies = (await tx.exec()) ?? [];
    return keys.map((_, i) => {
      const [err, bytes] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      return bitmapFromRedisBytes((bytes as Buffer | null) ?? Buffer.alloc(0));
    });
  }

  private keep(key: string, bitmap: Bitmap): void {
    const bytes = bitmap.getSerializationSizeInBytes('portable') + key.length;
    this.learn(key, bytes);
    if (bytes > this.options.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { bitmap, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.options.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }
}
