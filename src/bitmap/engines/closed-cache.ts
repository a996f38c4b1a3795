// The Redis engine's cache of closed periods: roaring copies of bitmaps that rarely change,
// counted in process; Redis client-side caching (CLIENT TRACKING, BCAST) drops a copy as soon as
// its key changes.
//
// Why: inside Redis 7 every count is a BITOP plus a BITCOUNT that runs at about 4 GB/s; a
// roaring copy answers AND/OR/XOR counts without building the result. Bitmaps of periods
// that have ended (yesterday, last week) are read far more often than they are written. But a
// copy costs a fetch and a conversion, and memory: which outputs run on copies and which keys
// are worth fetching is decided per output (place).
//
// Correctness: the main connection is tracked in broadcast mode for the layout's prefix, its
// invalidations redirected to a second connection subscribed to __redis__:invalidate; Redis
// sends them for every change under the prefix (any client, expiry, eviction) and one null
// list for a flush. A request that uses a held copy first PINGs both connections: Redis
// writes an invalidation out before it reads any later command, so once both PONGs are in,
// every change acknowledged before the request began has been applied, and a dead connection
// fails the PING instead of leaving a silent gap. A held copy whose key changed while the
// request was out answers nothing (Redis does); a copy fetched while its key changed is not
// kept. Copies are fetched in the background, never on a request's path. From the moment
// either connection closes until tracking and the subscription are both back, nothing is
// answered from copies and nothing fetched meanwhile is kept. SWAPDB sends nothing (Redis 7.0):
// a sentinel key holds a random token per database, and the same round trip that fences a
// request reads it, as does each background fetch (in one MULTI with the key); another token (or
// none) means the data was swapped: everything is dropped.
//
// On a Redis Cluster the same cache holds copies of logical keys (every shard's bits in one
// copy); cluster/tracking.ts hears the changes on every master and drives it through attach(),
// lapse(), resume(), invalidate() and clear(), with a fetch and a fence of its own.

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { metaPrefixFor } from '../keys.ts';
import { sources } from '../program.ts';
import type { Program, Ref } from '../program.ts';
import { bitmapFromRedisBytesYielding } from './roaring.ts';
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

/** Where copies come from, and how the cache knows it has heard every change (one Redis: start(); a cluster: attach()). */
export interface CopySource {
  /** The key's copy, and how many bytes of Redis strings were read for it. */
  fetch(key: string): Promise<{ readonly bitmap: Bitmap; readonly stored: number }>;
  /** How long each key's Redis string is (the sum of its shards' on a cluster); undefined where unknown. */
  lengths(keys: readonly string[]): Promise<Array<number | undefined>>;
  /** Resolves true once every change acknowledged before the call has been heard; false when that cannot be known. Never rejects. */
  fence(): Promise<boolean>;
}

interface Entry {
  readonly bitmap: Bitmap;
  readonly bytes: number;
}

/** What is known of a key requests have read lately. */
interface Seen {
  /** Requests that read it lately (halved every so often, so it follows recent use). */
  reads: number;
  /** What its copy costs: exact once fetched, else estimated from its Redis length. */
  bytes: number | undefined;
  /** Its Redis string's length: what a fetch moves and holds until converted. */
  stored: number | undefined;
}

/** A key is fetched only once this many recent requests have read it: one read says little of the next. */
const FETCH_AFTER_READS = 2;
/** Read counts are halved once this many reads (or 8 per key remembered, if more) have been counted since the last halving. */
const AGE_AFTER_READS = 1024;
/** The most keys remembered (a wide range or a key scan could name millions). */
const MAX_SEEN = 100_000;
/** What holding a container costs beside its data (allocator headers, alignment): about 360 bytes measured for bitsets. */
const CONTAINER_BYTES = 512;

/** Memory a copy takes: its data (the portable serialization's size), its containers' overhead, its key. */
function residentBytes(key: string, bitmap: Bitmap): number {
  return bitmap.getSerializationSizeInBytes('portable') + CONTAINER_BYTES * bitmap.statistics().containers + key.length;
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
  private source: CopySource | null = null;
  private subscriber: Redis | null = null;
  /** CLIENT ID of the subscriber's current connection once it is subscribed, else null. */
  private subscriberId: number | null = null;
  /** Redis refused tracking: the cache stays off for good. */
  private refused = false;
  /** The database's sentinel key (beside the layout's other keys, outside the tracked prefix) and the token it held when tracking began. */
  private readonly sentinelKey: string;
  private token: string | null = null;
  /** Keys read lately: how often, and what a copy costs (placement needs both before fetching). */
  private readonly seen = new Map<string, Seen>();
  /** Reads counted since the read counts were last halved. */
  private readsSinceAging = 0;
  /** Keys waiting for (or in) a background fetch, with the copy bytes set aside for each. */
  private readonly queued = new Map<string, number>();
  private queuedBytes = 0;
  private draining: Promise<void> | null = null;
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
    this.source = {
      fetch: async (key) => {
        // The sentinel read in the same transaction: a copy fetched while another database was
        // swapped in would otherwise be kept if it were swapped back before any request's fence.
        const epoch = this.epoch;
        const token = this.token;
        const replies = (await client.multi().get(this.sentinelKey).getBuffer(key).exec()) ?? [];
        for (const [e] of replies) if (e) throw e;
        if (replies[0]?.[1] !== token) {
          if (epoch === this.epoch) this.swapped();
          throw new Error('the database was swapped');
        }
        const bytes = (replies[1]?.[1] as Buffer | null) ?? Buffer.alloc(0);
        return { bitmap: await bitmapFromRedisBytesYielding(bytes), stored: bytes.length };
      },
      async lengths(keys) {
        const p = client.pipeline();
        for (const k of keys) p.strlen(k);
        const replies = (await p.exec()) ?? [];
        return keys.map((_, i) => (replies[i] && !replies[i][0] ? Number(replies[i][1]) : undefined));
      },
      fence: () => this.fenceRedis(client),
    };
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

  /** A cluster's tracking (or another owner of the invalidations) supplies the copies and the fence. */
  attach(source: CopySource): void {
    this.source = source;
  }

  /** Invalidations may have been missed: nothing is answered or kept from copies until resume() with the token returned. */
  lapse(): number {
    this.goDark();
    return this.epoch;
  }

  /** Invalidations flow again, with no lapse since the one that gave `token`: start again from empty. */
  resume(token: number): boolean {
    if (token !== this.epoch || this.refused) return false;
    this.clear();
    this.live = true;
    return true;
  }

  /** Anything may have changed (a flush): every copy is dropped. */
  clear(): void {
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
   * Decides where each output of a request runs, and returns the keys whose held copies it
   * reads: an output runs on copies only when every key it reads is a closed period whose copy
   * is held now; every other output runs in Redis, in the same round trip. Nothing is fetched on
   * a request's path. An output over closed periods that could run on copies next time has its
   * missing keys fetched in the background (fetchLater) when:
   * - each has been read by at least FETCH_AFTER_READS recent requests: converting a fetched
   *   copy costs the gateway about as much as a few dozen reads of the key cost Redis, so a key
   *   read once is left where it is;
   * - each one's size is known (a key's first read asks its length, alongside);
   * - they fit together in room that is free, or held by copies this request does not read
   *   and that were read less often than each of them. A fetch never evicts a copy read as
   *   often: two working sets that do not fit together do not take turns (each fetch evicting
   *   what the next request needs), and a copy that could not be kept is never fetched.
   * The cheapest outputs go first: the most outputs moved to copies for the bytes.
   */
  place(program: Program): ReadonlySet<string> {
    const outputs = closedKeysOfOutputs(program, (k) => this.options.isClosed(k));
    const read = new Set<string>();
    for (const keys of outputs) if (keys) for (const k of keys) read.add(k);
    this.age(read.size);
    const unknown: string[] = [];
    for (const k of read) if (this.note(k).bytes === undefined) unknown.push(k);
    if (unknown.length) void this.measure(unknown);
    const use = new Set<string>();
    const wanted: Wanted[] = [];
    for (const keys of outputs) {
      if (!keys?.length) continue;
      const missing = keys.filter((k) => !this.entries.has(k));
      if (!missing.length) {
        for (const k of keys) use.add(k);
        continue;
      }
      let bytes = 0;
      let reads = Infinity;
      for (const k of missing) {
        const seen = this.seen.get(k);
        const fits = seen?.bytes !== undefined && seen.stored !== undefined && seen.bytes + seen.stored <= this.options.maxBytes;
        if (!fits || seen.reads < FETCH_AFTER_READS || this.queued.has(k)) {
          reads = 0;
          break;
        }
        bytes += seen.bytes!;
        reads = Math.min(reads, seen.reads);
      }
      if (reads) wanted.push({ keys: missing, bytes, reads });
    }
    this.misses += read.size - use.size;
    if (wanted.length) this.fetchLater(wanted, read);
    return use;
  }

  /** Queues the missing keys of the outputs whose copies can be kept (see place), cheapest first. */
  private fetchLater(wanted: Wanted[], inUse: ReadonlySet<string>): void {
    let reserve = this.fetchRoom(0);
    let free = this.options.maxBytes - this.bytes - this.queuedBytes - reserve;
    // Copies this request does not read, least read first (least recently used first among equals).
    const victims = [...this.entries]
      .filter(([k]) => !inUse.has(k))
      .map(([k, e]) => ({ bytes: e.bytes, reads: this.seen.get(k)?.reads ?? 0 }))
      .sort((a, b) => a.reads - b.reads);
    let v = 0;
    wanted.sort((a, b) => a.bytes - b.bytes);
    for (const w of wanted) {
      const keys = w.keys.filter((k) => !this.queued.has(k));
      const need = keys.reduce((n, k) => n + this.seen.get(k)!.bytes!, 0);
      const more = Math.max(0, ...keys.map((k) => this.seen.get(k)!.stored! - reserve));
      let room = free - more;
      let next = v;
      while (room < need && next < victims.length && victims[next]!.reads < w.reads) room += victims[next++]!.bytes;
      if (room < need) continue;
      free = room - need;
      reserve += more;
      v = next;
      for (const k of keys) {
        const bytes = this.seen.get(k)!.bytes!;
        this.queued.set(k, bytes);
        this.queuedBytes += bytes;
      }
    }
    if (this.queued.size && !this.draining) this.draining = this.drain().finally(() => (this.draining = null));
  }

  /**
   * Fetches the queued keys one at a time, off every request's path, and keeps each copy whose
   * key did not change while it was out. One at a time: what a fetch holds besides the copies
   * (its reply, while it is converted) stays one Redis string, which fetchRoom sets aside.
   */
  private async drain(): Promise<void> {
    while (this.queued.size) {
      const key = this.queued.keys().next().value!;
      const epoch = this.epoch;
      const mark = this.watch(key);
      try {
        if (!this.live || !this.source) continue;
        const { bitmap: copy, stored } = await this.source.fetch(key);
        this.learn(key, residentBytes(key, copy), stored);
        if (!mark.dirty && epoch === this.epoch && this.live) this.keep(key, copy);
      } catch {
        // Redis away, or not a string: a later request may queue it again.
      } finally {
        this.unwatch(key, mark);
        this.queuedBytes -= this.queued.get(key) ?? 0;
        this.queued.delete(key);
      }
    }
  }

  /**
   * Room set aside for a fetch's reply while it is converted, which the allocator keeps for the
   * next one: the largest Redis string among the held and queued keys (and `stored`). Counted
   * against the budget, so the process's resident memory, not only the copies, stays within it.
   */
  private fetchRoom(stored: number): number {
    let most = stored;
    for (const k of this.entries.keys()) most = Math.max(most, this.seen.get(k)?.stored ?? 0);
    for (const k of this.queued.keys()) most = Math.max(most, this.seen.get(k)?.stored ?? 0);
    return most;
  }

  /** Resolves once no background fetch is queued or running (tests wait for copies with it). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Counts a read of `key` by a request. */
  private note(key: string): Seen {
    let seen = this.seen.get(key);
    if (!seen) {
      seen = { reads: 0, bytes: undefined, stored: undefined };
      // Past the bound a new key is not remembered, so never fetched, until aging makes room.
      if (this.seen.size < MAX_SEEN) this.seen.set(key, seen);
    }
    seen.reads++;
    return seen;
  }

  /**
   * Halves every read count once enough reads were counted since the last halving: the counts
   * then follow what requests read lately, and yesterday's working set gives way to today's.
   * Keys no longer read and not held are forgotten.
   */
  private age(reads: number): void {
    this.readsSinceAging += reads;
    if (this.readsSinceAging < Math.max(AGE_AFTER_READS, 8 * this.seen.size)) return;
    this.readsSinceAging = 0;
    for (const [k, seen] of this.seen) {
      seen.reads >>= 1;
      if (seen.reads === 0 && !this.entries.has(k) && !this.queued.has(k)) this.seen.delete(k);
    }
  }

  /** Learns keys' Redis lengths from STRLEN: a roaring copy takes at most that plus CONTAINER_BYTES and a few more a 64K-bit container. */
  private async measure(keys: readonly string[]): Promise<void> {
    try {
      const lengths = (await this.source?.lengths(keys)) ?? [];
      keys.forEach((k, i) => {
        const n = lengths[i];
        if (n !== undefined) this.learn(k, n + (8 + CONTAINER_BYTES) * Math.ceil(n / 8192) + 16 + k.length, n);
      });
    } catch {
      // Not known yet: the next request asks again.
    }
  }

  private learn(key: string, bytes: number, stored: number): void {
    const seen = this.seen.get(key);
    if (!seen) return; // forgotten meanwhile
    seen.bytes = bytes;
    seen.stored = stored;
  }

  get(key: string): Bitmap | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key); // most recently used goes last
    this.entries.set(key, e);
    return e.bitmap;
  }

  /**
   * The held copies of `keys` (as place() returned them), once the fence has answered (see the
   * top of this file). Null when they cannot answer this request: tracking lapsed or the data
   * was swapped, a key changed while the request was out, or a copy is gone; the caller then
   * runs those outputs in Redis.
   */
  async use(keys: readonly string[]): Promise<Map<string, Bitmap> | null> {
    const out = new Map<string, Bitmap>();
    for (const k of keys) {
      const b = this.get(k);
      if (!b) {
        this.misses += keys.length;
        return null;
      }
      out.set(k, b);
    }
    const epoch = this.epoch;
    const marks = keys.map((k) => this.watch(k));
    try {
      const fenced = await this.fence();
      if (!fenced || epoch !== this.epoch || marks.some((m) => m.dirty)) {
        this.misses += keys.length;
        return null;
      }
      this.hits += keys.length;
      return out;
    } finally {
      keys.forEach((k, i) => this.unwatch(k, marks[i]!));
    }
  }

  /** Resolves true once every change acknowledged before the call has been heard (see CopySource); false without a source. Never rejects. */
  fence(): Promise<boolean> {
    return this.source ? this.source.fence() : Promise.resolve(false);
  }

  /**
   * One Redis: resolves true once both connections have answered a PING (the main one by the sentinel's
   * GET) and the database is still the one tracked: every change acknowledged before the call
   * has then been heard (see the top of this file). False when either fails or the data was
   * swapped (then everything is dropped). Never rejects.
   */
  private fenceRedis(client: Redis): Promise<boolean> {
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

  private unwatch(key: string, mark: { dirty: boolean }): void {
    const list = this.inFlight.get(key)!;
    list.splice(list.indexOf(mark), 1);
    if (!list.length) this.inFlight.delete(key);
  }

  /**
   * Holds a fetched copy, making room from copies read less often than it and not in use by a
   * request (least read, then least recently used, first); without such room it is not kept.
   */
  private keep(key: string, bitmap: Bitmap): void {
    const bytes = residentBytes(key, bitmap);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    const reads = (k: string): number => this.seen.get(k)?.reads ?? 0;
    const budget = this.options.maxBytes - this.fetchRoom(this.seen.get(key)?.stored ?? 0);
    if (this.bytes + bytes > budget) {
      const mine = reads(key);
      const victims = [...this.entries.keys()].filter((k) => !this.inFlight.has(k) && reads(k) < mine).sort((a, b) => reads(a) - reads(b));
      let room = budget - this.bytes;
      let n = 0;
      while (room < bytes && n < victims.length) room += this.entries.get(victims[n++]!)!.bytes;
      if (room < bytes) return;
      for (const k of victims.slice(0, n)) {
        this.bytes -= this.entries.get(k)!.bytes;
        this.entries.delete(k);
      }
    }
    this.entries.set(key, { bitmap, bytes });
    this.bytes += bytes;
  }
}

/** An output that could run on copies once its missing keys are fetched. */
interface Wanted {
  readonly keys: readonly string[];
  /** What their copies cost together. */
  readonly bytes: number;
  /** The fewest recent reads among them: only copies read less often may make room. */
  readonly reads: number;
}

/** For each output in order, the keys it reads (through registers) when each is a closed period, else null. */
function closedKeysOfOutputs(program: Program, isClosed: (key: string) => boolean): Array<string[] | null> {
  const regs = new Map<number, string[] | null>();
  const keysOf = (refs: readonly Ref[]): string[] | null => {
    const out = new Set<string>();
    for (const r of refs) {
      const keys = 'key' in r ? (isClosed(r.key) ? [r.key] : null) : (regs.get(r.reg) ?? null);
      if (!keys) return null;
      for (const k of keys) out.add(k);
    }
    return [...out];
  };
  const outputs: Array<string[] | null> = [];
  for (const i of program.instructions) {
    if (i.op === 'hget' || i.op === 'hgetall' || i.op === 'hsum') outputs.push(null); // counters live in Redis only
    else if ('dest' in i) regs.set(i.dest, keysOf(sources(i)));
    else outputs.push(keysOf(sources(i)));
  }
  return outputs;
}
