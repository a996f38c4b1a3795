// A Redis Cluster's changes, heard on every master: client-side caching on one connection a master, and the fence that proves nothing was missed (for the closed-period cache and Engine.watch on the cluster).
//
// Tracking is per node: each master gets a connection of its own, tracked in broadcast mode for
// the prefixes and redirected to itself, subscribed to __redis__:invalidate (RESP2), so it hears
// every change under them on that master, from any client; and a plain connection beside it that
// asks the master what it knows of the cluster. Physical keys all start with their shard's `{tag}`,
// so the bitmaps' prefix is `{` (the temporary and other tagged keys come along, and are ignored).
//
// Nothing is missed while (1) every master has its tracking connection, unbroken since tracking
// went live, and (2) no node that could take a write for our keys is untracked. The fence checks
// both for a request, after the request began: a PING on every tracking connection (a master
// writes an invalidation out before it reads any later command, so once every PONG is in, every
// change acknowledged before the fence has been heard) and CLUSTER INFO on every master, which
// must say what it said when tracking went live: cluster_state ok, the same known nodes, the
// same current epoch, the same number of masters serving slots. A failover raises the current
// epoch on the masters that voted for it before the replica takes a write (a killed master also
// breaks its tracking connection); keys can only move by slot migration to a node the source
// master knows, and a node that joins after tracking went live changes the known nodes of the
// masters that learn of it; a master that was known then, even with no slots, is tracked. Any
// other answer, a lost connection or a timeout makes tracking lapse: the users drop everything
// and nothing is answered from what they hold until tracking is live again on the masters the
// cluster then has (the union of what every master lists, so a master one node has not yet
// heard of is not left out).

import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';

/** The channel Redis publishes tracking invalidations on (RESP2 redirect). */
const INVALIDATE = '__redis__:invalidate';
/** The name of the tracking connections in CLIENT LIST. */
export const CLUSTER_TRACKING_CLIENT_NAME = 'bitmapql-cluster-tracking';
/** How often tracking is checked while live (when nothing else fences), or retried while dark. */
const CHECK_EVERY_MS = 1000;

/** Told of what tracking hears, and of its lapses. */
export interface TrackingListener {
  /** Changes may be missed from now until resumed(). */
  lapsed(): void;
  /** Every master is tracked again; what changed while it lapsed is unknown. */
  resumed(): void;
  /** Physical keys changed on a master; null: a master was flushed. */
  changed(keys: readonly string[] | null): void;
}

export interface ClusterTrackingOptions {
  /** Key prefixes to hear about (non-overlapping). */
  readonly prefixes: readonly string[];
  /** A command of the tracking or probing connections not answered in this time fails the fence. */
  readonly commandTimeoutMs: number;
  /** Told when tracking turns off for good, and why. */
  onStatus?(message: string): void;
}

interface Master {
  readonly addr: string;
  /** Tracked, redirected to itself, subscribed. */
  readonly conn: Redis;
  /** Asks CLUSTER INFO and CLUSTER NODES (a subscribed connection cannot). */
  readonly probe: Redis;
  /** Tracking and the subscription are on over `conn`. */
  tracking: boolean;
  /** What CLUSTER INFO said when tracking went live (see topology()). */
  seen: string | null;
}

export class ClusterTracking {
  private readonly masters = new Map<string, Master>();
  private readonly listeners = new Set<TrackingListener>();
  private live = false;
  /** Bumped at every lapse: an establishment begun under an older epoch cannot turn tracking on. */
  private epoch = 0;
  private establishing: Promise<void> | null = null;
  private again = false;
  private refused = false;
  private stopped = false;
  private started = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: ClusterTrackingOptions,
  ) {}

  /** True while every master is tracked (as last checked). */
  get active(): boolean {
    return this.live;
  }

  listen(listener: TrackingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts tracking (once); resolves whether it is live within `waitMs`. */
  async start(waitMs = 2000): Promise<boolean> {
    if (!this.started && !this.stopped) {
      this.started = true;
      this.cluster.on('+node', this.onTopology);
      this.cluster.on('-node', this.onTopology);
      this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
      this.timer.unref();
      this.restart();
    }
    const end = Date.now() + waitMs;
    while (!this.live && !this.refused && !this.stopped && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return this.live;
  }

  private readonly onTopology = (): void => this.restart();

  /** Live: fence (which restarts on a change); dark: try again. */
  private check(): void {
    if (this.stopped || this.refused) return;
    if (this.live) void this.fence();
    else if (!this.establishing) void this.establish();
  }

  /**
   * Resolves true once every change acknowledged before the call has been heard (see the top of
   * this file); false when that cannot be known, and then tracking lapses and starts again.
   * Never rejects.
   */
  async fence(): Promise<boolean> {
    if (!this.live) return false;
    const epoch = this.epoch;
    const masters = [...this.masters.values()];
    const same = await Promise.all(
      masters.map(async (m) => {
        const [, info] = await Promise.all([m.conn.ping(), m.probe.call('CLUSTER', 'INFO')]);
        return m.tracking && topology(String(info)) === m.seen;
      }),
    ).then(
      (all) => all.every(Boolean),
      () => false,
    );
    if (epoch !== this.epoch || !this.live) return false;
    if (!same) this.restart();
    return same;
  }

  /** Tracking may have missed something: tell the listeners, and establish it again. */
  private restart(): void {
    this.lapse();
    void this.establish();
  }

  private lapse(): void {
    this.epoch++;
    this.live = false;
    for (const l of this.listeners) l.lapsed();
  }

  /** One establishment at a time; a request for another while one runs runs it again after. */
  private establish(): Promise<void> {
    if (this.stopped || this.refused) return Promise.resolve();
    if (this.establishing) {
      this.again = true;
      return this.establishing;
    }
    this.establishing = (async () => {
      for (let round = 0; ; round++) {
        // A master that is down fails every round at once: the next waits a little.
        if (round) await new Promise((r) => setTimeout(r, 100));
        this.again = false;
        await this.establishOnce().catch(() => {});
        if (!this.again || this.stopped || this.live) break;
      }
    })().finally(() => (this.establishing = null));
    return this.establishing;
  }

  /**
   * Tracking on every master the masters list, then each master's CLUSTER INFO, then their
   * lists again: a node that joined before the snapshot is in the lists read after it (and
   * tracked in the next round), one that joins after changes what the fence reads.
   */
  private async establishOnce(): Promise<void> {
    const epoch = this.epoch;
    let addrs = new Set<string>();
    for (const node of this.cluster.nodes('master')) addrs.add(`${node.options.host}:${node.options.port}`);
    addrs = await this.listedMasters([...addrs].map((a) => this.masters.get(a)?.probe ?? null), addrs);
    for (let round = 0; round < 5; round++) {
      if (!addrs.size || epoch !== this.epoch) return;
      for (const [addr, m] of this.masters) if (!addrs.has(addr)) this.discard(m);
      const masters = await Promise.all([...addrs].map((a) => this.ensure(a)));
      const infos = await Promise.all(masters.map((m) => m.probe.call('CLUSTER', 'INFO').then(String)));
      const seen = infos.map(topology);
      if (seen.some((s) => s === null)) return; // a slot without a master: later
      const listed = await this.listedMasters(masters.map((m) => m.probe), new Set());
      if (epoch !== this.epoch) return;
      if (listed.size === addrs.size && [...listed].every((a) => addrs.has(a)) && masters.every((m) => m.tracking && m.conn.status === 'ready')) {
        masters.forEach((m, i) => (m.seen = seen[i]!));
        this.live = true;
        for (const l of this.listeners) l.resumed();
        return;
      }
      addrs = listed;
    }
  }

  /** The masters (not joining, not failed unless they still own slots) that these nodes list in CLUSTER NODES, added to `into`. */
  private async listedMasters(probes: ReadonlyArray<Redis | null>, into: Set<string>): Promise<Set<string>> {
    const out = new Set(into);
    const views = await Promise.all(
      probes.map((p) => (p ? p.call('CLUSTER', 'NODES').then(String) : this.anyNodes())),
    );
    for (const view of views) {
      for (const line of view.split('\n')) {
        const [, addr, flags, , , , , , ...slots] = line.split(' ');
        if (!addr || !flags) continue;
        const f = flags.split(',');
        if (!f.includes('master') || f.includes('handshake') || f.includes('noaddr')) continue;
        // A failed master that still owns slots (no replica took them; with
        // cluster-require-full-coverage no the cluster stays ok) takes writes again once it is
        // back: tracking waits for it. One without slots (its replica took over) returns as a replica.
        if (f.includes('fail') && !slots.some((s) => /^\d/.test(s))) continue;
        out.add(addr.split('@')[0]!.split(',')[0]!);
      }
    }
    return out;
  }

  /** CLUSTER NODES through the cluster client (for a master with no probe yet). */
  private anyNodes(): Promise<string> {
    const node = this.cluster.nodes('master')[0];
    return node ? node.call('CLUSTER', 'NODES').then(String) : Promise.resolve('');
  }

  /** The master's connections, opened and tracking, reusing them while they stay up. */
  private async ensure(addr: string): Promise<Master> {
    if (this.stopped) throw new Error('tracking stopped');
    const held = this.masters.get(addr);
    if (held && held.tracking && held.conn.status === 'ready' && held.probe.status === 'ready') return held;
    if (held) this.discard(held);
    const at = addr.lastIndexOf(':');
    const options = {
      host: addr.slice(0, at),
      port: Number(addr.slice(at + 1)),
      lazyConnect: true,
      connectTimeout: 2000,
      commandTimeout: this.options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      retryStrategy: () => null, // a lost connection is replaced whole, by the next establishment
    };
    const m: Master = { addr, conn: new Redis(options), probe: new Redis(options), tracking: false, seen: null };
    this.masters.set(addr, m);
    for (const c of [m.conn, m.probe]) {
      c.on('error', () => {});
      c.on('close', () => {
        if (this.masters.get(addr) !== m) return;
        this.discard(m);
        if (!this.stopped) this.restart();
      });
    }
    m.conn.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (channel.toString() !== INVALIDATE) return;
      const changed = keys === null ? null : keys.map((k) => k.toString());
      for (const l of this.listeners) l.changed(changed);
    });
    try {
      await Promise.all([m.conn.connect(), m.probe.connect()]);
      const id = String(await m.conn.call('CLIENT', 'ID'));
      await m.conn.call('CLIENT', 'SETNAME', CLUSTER_TRACKING_CLIENT_NAME);
      await m.conn.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', ...this.options.prefixes.flatMap((p) => ['PREFIX', p]));
      await m.conn.subscribe(INVALIDATE);
      if (this.stopped) throw new Error('tracking stopped'); // stop() ran meanwhile: these connections are not left open
      m.tracking = true;
    } catch (e) {
      if ((e as Error).name === 'ReplyError') this.refuse(e as Error);
      this.discard(m);
      throw e;
    }
    return m;
  }

  private discard(m: Master): void {
    if (this.masters.get(m.addr) === m) this.masters.delete(m.addr);
    m.tracking = false;
    m.conn.disconnect();
    m.probe.disconnect();
  }

  private refuse(e: Error): void {
    if (this.refused) return;
    this.refused = true;
    this.lapse();
    this.options.onStatus?.(`Redis Cluster change tracking off: a master refused client-side caching (CLIENT TRACKING): ${e.message}`);
    void this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    this.epoch++;
    if (this.timer) clearInterval(this.timer);
    this.cluster.off('+node', this.onTopology);
    this.cluster.off('-node', this.onTopology);
    const masters = [...this.masters.values()];
    this.masters.clear();
    await Promise.all(
      masters.flatMap((m) => [m.conn, m.probe]).map((c) => c.quit().catch(() => c.disconnect())),
    );
  }
}

/**
 * What a master's CLUSTER INFO says of the cluster's shape (state, known nodes, current epoch,
 * masters serving slots), or null when the cluster is not ok: another answer later means the
 * topology moved.
 */
export function topology(info: string): string | null {
  const field = (name: string): string => new RegExp(`^${name}:(\\S*)`, 'm').exec(info)?.[1] ?? '';
  if (field('cluster_state') !== 'ok') return null;
  return ['cluster_known_nodes', 'cluster_current_epoch', 'cluster_size'].map(field).join(' ');
}
