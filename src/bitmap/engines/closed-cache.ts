// The Redis engine's cache of closed periods: roaring copies of bitmaps that rarely change,
// counted in process; Redis keyspace notifications drop a copy as soon as its key changes.
//
// Why: inside Redis 7 every count is a BITOP plus a BITCOUNT that runs at about 4 GB/s; a
// roaring copy answers AND/OR/XOR counts without building the result. Bitmaps of periods
// that have ended (yesterday, last week) are read far more often than they are written.
//
// Correctness: a copy is dropped when Redis reports any change to its key (from this gateway,
// another gateway or bitmapist itself). A fetch that raced with a change is used for the
// request that made it (it is an atomic MULTI snapshot) but is not kept. When the
// notification channel drops, the whole cache is cleared and stays off until it is back.

import type { Redis } from 'ioredis';
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

/** Notification classes the cache needs: keyspace events for string commands, generic commands, expiry and eviction. */
const NEEDED_EVENTS = 'K$gxe';

export class ClosedPeriodCache {
  private readonly entries = new Map<string, Entry>(); // in least-recently-used order
  private bytes = 0;
  /** Keys being fetched, with whether a change was reported while the fetch was out. */
  private readonly inFlight = new Map<string, { dirty: boolean }[]>();
  private live = false;
  private subscriber: Redis | null = null;
  hits = 0;
  misses = 0;

  constructor(private readonly options: ClosedCacheOptions) {}

  /** True while notifications are flowing: only then may copies be used. */
  get active(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Turns keyspace notifications on (CONFIG SET, merged with what is set) and subscribes to
   * this prefix's keys. Resolves false, with the reason told to onStatus, when Redis refuses.
   */
  async start(client: Redis): Promise<boolean> {
    const status = this.options.onStatus ?? (() => {});
    try {
      await this.enableNotifications(client);
    } catch (e) {
      status(`closed-period cache off: Redis refused CONFIG for keyspace notifications (${(e as Error).message})`);
      return false;
    }
    const db = client.options.db ?? 0;
    const pattern = `__keyspace@${db}__:${this.options.keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const channelPrefix = `__keyspace@${db}__:`.length;
    const sub = client.duplicate({ enableReadyCheck: false, lazyConnect: true });
    this.subscriber = sub;
    sub.on('error', () => {});
    sub.on('pmessage', (_pattern: string, channel: string) => this.invalidate(channel.slice(channelPrefix)));
    sub.on('close', () => this.goDark());
    // Every (re)subscription starts from an empty cache: changes may have gone unseen meanwhile.
    sub.on('ready', () => {
      this.renotify(client, sub)
        .then(() => sub.psubscribe(pattern))
        .then(() => {
          if (this.subscriber !== sub || sub.status !== 'ready') return;
          this.clear();
          this.live = true;
        })
        .catch(() => this.goDark());
    });
    await sub.connect().catch(() => this.goDark());
    for (let i = 0; i < 100 && !this.live; i++) await new Promise((r) => setTimeout(r, 10));
    return this.live;
  }

  /** CONFIG SETs the notification classes the cache needs, merged with those already on. */
  private async enableNotifications(client: Redis): Promise<void> {
    const [, current = ''] = (await client.config('GET', 'notify-keyspace-events')) as string[];
    const missing = [...NEEDED_EVENTS].filter((c) => !current.includes(c) && !(c !== 'K' && current.includes('A')));
    if (missing.length) {
      await client.config('SET', 'notify-keyspace-events', `${current}${missing.join('')}`);
      this.options.onStatus?.(`enabled Redis keyspace notifications (notify-keyspace-events ${current}${missing.join('')}) for the closed-period cache`);
    }
  }

  /**
   * Before (re)subscribing: a restarted Redis has forgotten CONFIG SET, and would subscribe us
   * to notifications it never sends. Retries while the main connection is still coming back;
   * a refusal (a reply error) rejects, and the cache stays off.
   */
  private async renotify(client: Redis, sub: Redis): Promise<void> {
    for (;;) {
      if (this.subscriber !== sub || sub.status !== 'ready') throw new Error('resubscription superseded');
      try {
        return await this.enableNotifications(client);
      } catch (e) {
        if ((e as Error).name === 'ReplyError') throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    this.goDark();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private goDark(): void {
    this.live = false;
    this.clear();
  }

  private clear(): void {
    this.entries.clear();
    this.bytes = 0;
    for (const fetches of this.inFlight.values()) for (const f of fetches) f.dirty = true;
  }

  /** A key changed: drop its copy, and keep no copy from a fetch that was out meanwhile. */
  invalidate(key: string): void {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.bytes -= e.bytes;
    }
    for (const f of this.inFlight.get(key) ?? []) f.dirty = true;
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
   * used for this answer only.
   */
  async load(client: Redis, keys: readonly string[]): Promise<Map<string, Bitmap>> {
    const out = new Map<string, Bitmap>();
    const missing: string[] = [];
    for (const k of keys) {
      const b = this.get(k);
      if (b) out.set(k, b);
      else missing.push(k);
    }
    this.hits += keys.length - missing.length;
    if (!missing.length) return out;
    this.misses += missing.length;
    const marks = missing.map((k) => {
      const mark = { dirty: false };
      const list = this.inFlight.get(k);
      if (list) list.push(mark);
      else this.inFlight.set(k, [mark]);
      return mark;
    });
    try {
      const tx = client.multi();
      for (const k of missing) tx.getBuffer(k);
      const replies = (await tx.exec()) ?? [];
      missing.forEach((k, i) => {
        const [err, bytes] = replies[i] ?? [new Error('no reply')];
        if (err) throw err;
        const bitmap = bitmapFromRedisBytes((bytes as Buffer | null) ?? Buffer.alloc(0));
        out.set(k, bitmap);
        if (!marks[i]!.dirty && this.live) this.keep(k, bitmap);
      });
    } finally {
      missing.forEach((k, i) => {
        const list = this.inFlight.get(k)!;
        list.splice(list.indexOf(marks[i]!), 1);
        if (!list.length) this.inFlight.delete(k);
      });
    }
    return out;
  }

  private keep(key: string, bitmap: Bitmap): void {
    const bytes = bitmap.getSerializationSizeInBytes('portable') + key.length;
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
