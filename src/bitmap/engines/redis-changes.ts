// Every change under the layout's prefixes, by any writer, as key lists: the Redis engine's watch() feed for live answers.
//
// One connection of its own, tracked by Redis client-side caching in broadcast mode for the
// prefixes (bitmaps and counter hashes) and redirected to itself: subscribed to
// __redis__:invalidate, it hears every write under them — this gateway's, another gateway's,
// bitmapist's straight into Redis, expiry, eviction — and one null list for a flush. Nothing is
// polled, and it is opened only when something first watches. Whenever the connection is (re)
// established the listeners are told null: what changed while it was away is unknown.

import type { Redis } from 'ioredis';
import type { ChangeListener } from './engine.ts';

/** The channel Redis publishes tracking invalidations on (RESP2 redirect). */
const INVALIDATE = '__redis__:invalidate';
/** The name of the feed's connection in CLIENT LIST. */
export const CHANGES_CLIENT_NAME = 'bitmapql-live-changes';

export interface RedisChangesOptions {
  /** Key prefixes to hear about (the layout's prefix and counter prefix). */
  readonly prefixes: readonly string[];
  /** Told when the feed turns off for good, and why. */
  onStatus?(message: string): void;
}

export class RedisChanges {
  private readonly listeners = new Set<ChangeListener>();
  private conn: Redis | null = null;
  /** Redis (or bitmapist-server) refused tracking: no feed, for good. */
  private refused = false;
  private stopped = false;

  constructor(
    private readonly client: Redis,
    private readonly options: RedisChangesOptions,
  ) {}

  /** True while invalidations flow. */
  live = false;

  watch(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (!this.conn && !this.refused && !this.stopped) this.open();
    return () => this.listeners.delete(listener);
  }

  private open(): void {
    const conn = this.client.duplicate({
      lazyConnect: true,
      enableOfflineQueue: true,
      autoResubscribe: false, // tracking must be back on before the subscription means anything
    });
    this.conn = conn;
    conn.on('error', () => {}); // reconnects by itself; the main connection reports outages
    conn.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (channel.toString() !== INVALIDATE) return;
      this.tell(keys === null ? null : keys.map((k) => k.toString()));
    });
    conn.on('close', () => (this.live = false));
    conn.on('ready', () => void this.establish(conn));
    conn.connect().catch(() => {}); // retried by ioredis; 'ready' sets it up
  }

  /** Tracking redirected to this very connection, then the subscription that receives it. */
  private async establish(conn: Redis): Promise<void> {
    try {
      const id = String(await conn.call('CLIENT', 'ID'));
      await conn.call('CLIENT', 'SETNAME', CHANGES_CLIENT_NAME).catch(() => {});
      const prefixes = this.options.prefixes.flatMap((p) => ['PREFIX', p]);
      await conn.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', ...prefixes);
      await conn.subscribe(INVALIDATE);
    } catch (e) {
      if ((e as Error).name === 'ReplyError' && !this.stopped) {
        this.refused = true;
        this.options.onStatus?.(`live answers move only with time: Redis refused client-side caching (CLIENT TRACKING): ${(e as Error).message}`);
        void this.stop();
      }
      return; // a dropped connection: its next ready tries again
    }
    if (this.conn !== conn) return;
    this.live = true;
    this.tell(null); // changes while the feed was away are unknown
  }

  private tell(keys: readonly string[] | null): void {
    for (const l of this.listeners) l(keys);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    this.listeners.clear();
    const conn = this.conn;
    this.conn = null;
    if (conn) await conn.quit().catch(() => conn.disconnect());
  }
}
