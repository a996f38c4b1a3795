// Cluster engine: a Program runs on each shard its keys live in (program.lua over one master's shards in one call, all masters at once) over the sharded layout on Redis Cluster.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import { BitmapError } from '../../errors.ts';
import { assertPairsAgree } from '../../ids.ts';
import { metaPrefixFor } from '../../keys.ts';
import type { KeyLayout } from '../../keys.ts';
import { readKeys, splitProgram } from '../../program.ts';
import type { CounterEntries, Instruction, OutputValue, Program } from '../../program.ts';
import { UsageError } from '../../../usage-error.ts';
import { ONCE_TTL_SECONDS, onceConflict } from '../engine.ts';
import type { BitWrite, ByteSlice, CounterIncrement, Engine, EngineDescription, Once, OnceOutcome } from '../engine.ts';
import type { ChangeListener } from '../engine.ts';
import type { ClosedCacheOptions } from '../closed-cache.ts';
import { ClusterCaching } from './caching.ts';
import { runParts } from './calls.ts';
import { fanOut } from './fan-out.ts';
import type { KeysIn } from './fan-out.ts';
import { keysInShards, markShards, outputShards, readShardSets, shardSetKey, shardSetsReadyKey, shardSetWrite, shardsOf } from './key-shards.ts';
import { shardedLayout } from './layout.ts';
import type { ShardedLayout } from './layout.ts';
import { SHARDS_LUA } from './script.ts';
import { dumpShardSlices, restoreShardSlices } from './slices.ts';
import { callOnSlot, luaScript, replicaAcks, scriptOnSlot } from './routed.ts';
import type { Executed } from './routed.ts';
import { keySlot, slotTag } from './slots.ts';

const lua = (name: string): string => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');
const WRITE_LUA = lua('write.lua');
const IDS_LUA = lua('ids.lua');
const IDS_RESTORE_LUA = lua('ids-restore.lua');
const ONCE_LUA = lua('once.lua');
const WRITE_SCRIPT = luaScript(WRITE_LUA);
const IDS_SCRIPT = luaScript(IDS_LUA);
const ONCE_SCRIPT = luaScript(ONCE_LUA);

export interface ClusterEngineOptions {
  /** Seed nodes; the client learns the rest from them. */
  readonly seeds: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** Names logical keys (bitmapist's layout); the engine shards them. */
  readonly layout: KeyLayout;
  /** W: ids per shard 2^W. Recorded by the first gateway to open the cluster; another is refused. */
  readonly shardBits: number;
  /** A command not answered in this time fails with SERVICE_UNAVAILABLE. */
  readonly commandTimeoutMs?: number;
  /** A write is acknowledged once this many replicas of each master it wrote to hold it (WAIT); 0: at once. */
  readonly minReplicaAcks?: number;
  /** How long WAIT waits for them; fewer acks by then fail the write with REPLICATION_TIMEOUT. */
  readonly replicaAckTimeoutMs?: number;
  /** Keep copies of closed periods, kept exact by tracking on every master (caching.ts, tracking.ts). */
  readonly cache?: ClosedCacheOptions;
  /** Memory for reused answers, in bytes; they need `cache`. */
  readonly answerCacheBytes?: number;
  /** Told when change tracking turns off, and why. */
  onStatus?(message: string): void;
}

type ClusterClient = Cluster & {
  bitmapqlShardsBuffer(numKeys: number, args: Array<string | number | Buffer>): Promise<unknown[]>;
  bitmapqlWrite(numKeys: number, args: Array<string | number>): Promise<number>;
  bitmapqlIds(numKeys: number, ...args: string[]): Promise<number[]>;
  bitmapqlIdsRestore(numKeys: number, ...args: string[]): Promise<number>;
  bitmapqlOnce(numKeys: number, args: Array<string | number>): Promise<number>;
};

export class ClusterEngine implements Engine {
  readonly kind = 'cluster' as const;
  readonly layout: ShardedLayout;
  private readonly client: ClusterClient;
  private readonly instance = randomBytes(4).toString('hex');
  private runs = 0;
  private lastConnectionError: Error | undefined;
  private readonly minReplicaAcks: number;
  private readonly replicaAckTimeoutMs: number;
  /** The closed-period cache, reused answers and watch(), on every master's invalidations. */
  readonly caching: ClusterCaching;

  constructor(options: ClusterEngineOptions) {
    this.layout = shardedLayout(options.layout, options.shardBits);
    this.minReplicaAcks = options.minReplicaAcks ?? 0;
    this.replicaAckTimeoutMs = options.replicaAckTimeoutMs ?? 1000;
    this.client = new Cluster(
      options.seeds.map((s) => ({ host: s.host, port: s.port })),
      {
        lazyConnect: true,
        scaleReads: 'master',
        // Not auto-pipelining: it groups a script call by its first argument (the key count), not
        // its first key, and a group spanning masters is refused. Each call is written to its
        // master's connection as it is issued, so the shards' calls still run at once.
        enableAutoPipelining: false,
        slotsRefreshTimeout: 2000,
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
        redisOptions: {
          connectTimeout: 2000,
          commandTimeout: options.commandTimeoutMs ?? 5000,
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
        },
      },
    ) as ClusterClient;
    this.client.on('error', (e: Error) => {
      this.lastConnectionError = e;
    });
    this.client.defineCommand('bitmapqlShards', { lua: SHARDS_LUA });
    this.client.defineCommand('bitmapqlWrite', { lua: WRITE_LUA });
    this.client.defineCommand('bitmapqlIds', { lua: IDS_LUA });
    this.client.defineCommand('bitmapqlIdsRestore', { lua: IDS_RESTORE_LUA });
    this.client.defineCommand('bitmapqlOnce', { lua: ONCE_LUA });
    this.caching = new ClusterCaching({
      cluster: this.client,
      layout: this.layout,
      cache: options.cache,
      answerCacheBytes: options.answerCacheBytes,
      counterPrefix: this.layout.logical.counterPrefix,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
      shards: (key) => this.keyShards(key),
      onStatus: options.onStatus,
    });
  }

  /** Connects, then fixes W: the first gateway records it; a later one with another W is refused. */
  async connect(): Promise<this> {
    await this.client.connect().catch((e: unknown) => unavailable(this.lastConnectionError ?? e));
    const { shardBitsKey, shardBits } = this.layout;
    const stored = await this.client
      .set(shardBitsKey, String(shardBits), 'NX', 'GET')
      .catch(unavailable);
    if (stored !== null && Number(stored) !== shardBits) {
      await this.close();
      throw new UsageError(
        `this cluster's data is sharded by ${stored} bits (${shardBitsKey}), not SHARD_BITS=${shardBits}: set SHARD_BITS=${stored}` +
          ' (a cluster is read with the shard width it was first written with)',
      );
    }
    await this.keepShardSets().catch(unavailable);
    await this.caching.start();
    return this;
  }

  /**
   * Reads take each key's shards from its shard set (key-shards.ts), which writes keep. A cluster
   * written before the sets were kept has only the cluster-wide bitmap: its keys' sets are built
   * once, from a scan of every master, before the record that they are kept is written.
   */
  private async keepShardSets(): Promise<void> {
    const ready = shardSetsReadyKey(this.layout);
    if (await this.client.exists(ready)) return;
    if (await this.client.exists(this.layout.shardsKey)) {
      for (const node of this.masters()) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `{*}${this.layout.logical.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
          cursor = next;
          const byKey = new Map<string, number[]>();
          for (const physical of keys) {
            const parsed = this.layout.parse(physical);
            if (!parsed || !this.layout.isSharded(parsed.key)) continue;
            let list = byKey.get(parsed.key);
            if (!list) byKey.set(parsed.key, (list = []));
            list.push(parsed.shard);
          }
          await markShards(this.client, this.layout, byKey);
        } while (cursor !== '0');
      }
    }
    await this.client.set(ready, '1');
  }

  describe(): EngineDescription {
    return { kind: this.kind, mode: 'lua', stats: this.caching.stats() };
  }

  /** The underlying client, for tests that inspect the cluster. */
  get cluster(): Cluster {
    return this.client;
  }

  /** Shards that may hold bits of any key, ascending (from the cluster-wide shard bitmap; a superset of those that do). */
  async liveShards(): Promise<number[]> {
    return shardsOf(await this.client.getBuffer(this.layout.shardsKey).catch(unavailable));
  }

  /** Shards that may hold bits of one logical key, ascending (its shard set; a superset of those that do). */
  async keyShards(key: string): Promise<number[]> {
    return shardsOf(await this.client.getBuffer(shardSetKey(this.layout, key)).catch(unavailable));
  }

  /** Marks shards in the keys' sets (and the cluster-wide bitmap) before they are written. */
  async markShards(byKey: ReadonlyMap<string, Iterable<number>>): Promise<void> {
    await markShards(this.client, this.layout, byKey).catch(unavailable);
  }

  /**
   * markShards for write(): with MIN_REPLICA_ACKS routed (routed.ts) and where it ran added to
   * `executed`, so it is WAITed on the node that took it (the importing one while the slot of the
   * shard sets migrates), not on the master the client's slot map names.
   */
  private async markShardsRouted(byKey: ReadonlyMap<string, Iterable<number>>, executed: Executed[]): Promise<void> {
    if (this.minReplicaAcks === 0) return this.markShards(byKey);
    const call = shardSetWrite(this.layout, byKey);
    if (!call) return;
    await this.routed(scriptOnSlot(this.client, keySlot(this.layout.shardsKey), WRITE_SCRIPT, call.numKeys, call.args), executed).catch(unavailable);
  }

  async run(program: Program): Promise<OutputValue[]> {
    if (program.instructions.length === 0) return [];
    // Reused answers and copies of closed periods first (caching.ts); the rest runs in the masters.
    return this.caching.run(program, (p) => this.runStored(p));
  }

  /** Calls every change to stored data, whoever made it, on any master (tracking.ts). */
  watch(listener: ChangeListener): () => void {
    return this.caching.watch(listener);
  }

  private async runStored(program: Program): Promise<OutputValue[]> {
    if (program.instructions.length === 0) return [];
    // Counter hashes have slots of their own: they are read beside the shards' scripts.
    const split = splitProgram(program, (key) => !this.layout.isSharded(key));
    const [hashes, bitmaps] = await Promise.all([this.readHashes(split.local.instructions), this.runShards(split.remote)]);
    return split.merge(hashes, bitmaps);
  }

  private async runShards(program: Program): Promise<OutputValue[]> {
    if (program.instructions.length === 0) return [];
    const needsLive = program.instructions.some((i) => i.op === 'count' || i.op === 'any' || i.op === 'scan');
    let live: ((out: number) => readonly number[]) | null = null;
    let keysIn: KeysIn | undefined;
    if (needsLive) {
      // Each output goes to the shards its keys live in (their sets, read in one MGET), and each
      // shard's program leaves out the keys that are not in it.
      const keys = new Set<string>();
      for (const i of program.instructions) for (const key of readKeys(i)) keys.add(key);
      const sets = await readShardSets(this.client, this.layout, [...keys]).catch(unavailable);
      const perOutput = outputShards(program, sets);
      live = (out) => perOutput[out]!;
      keysIn = keysInShards(sets);
    }
    const plan = fanOut(program, live, this.layout, keysIn);
    const run = `${this.layout.logical.tempPrefix}${this.instance}${(this.runs++).toString(36)}:`;
    // One call a master, issued together: every master works on its shards at once.
    return plan.combine(await runParts(this.client, this.layout, plan.parts, run, unavailable));
  }

  private async readHashes(instructions: readonly Instruction[]): Promise<OutputValue[]> {
    return Promise.all(
      instructions.map(async (i): Promise<OutputValue> => {
        switch (i.op) {
          case 'hget':
            return Number((await this.client.hget(this.layout.unsharded(i.key), i.field).catch(unavailable)) ?? 0);
          case 'hsum': {
            const values = await this.client.hvals(this.layout.unsharded(i.key)).catch(unavailable);
            return values.reduce((sum, v) => sum + Number(v), 0);
          }
          case 'hgetall': {
            const all = await this.client.hgetall(this.layout.unsharded(i.key)).catch(unavailable);
            return Object.entries(all).map(([f, v]) => [f, Number(v)] as const) as CounterEntries;
          }
          default:
            throw new Error(`not a counter output: ${i.op}`);
        }
      }),
    );
  }

  /**
   * Each shard's writes are one write.lua call (atomic on its master); the shards of a batch are
   * written at once, after their bits in the shard bitmap are set (so a reader never misses an
   * acknowledged write). Counter increments go beside them, one HINCRBY each. A batch that fails
   * may leave some shards' parts and some increments applied: README "Redis Cluster" says so.
   */
  async write(writes: readonly BitWrite[], increments: readonly CounterIncrement[] = []): Promise<void> {
    const byShard = new Map<number, Map<string, number[]>>();
    const shardsByKey = new Map<string, Set<number>>();
    for (const w of writes) {
      const k = this.layout.shardOf(w.offset);
      let marked = shardsByKey.get(w.key);
      if (!marked) shardsByKey.set(w.key, (marked = new Set()));
      marked.add(k);
      let keys = byShard.get(k);
      if (!keys) byShard.set(k, (keys = new Map()));
      const key = this.layout.key(w.key, k);
      let offsets = keys.get(key);
      if (!offsets) keys.set(key, (offsets = []));
      const local = w.offset - this.layout.base(k);
      offsets.push(w.bit ? local : -local - 1);
    }
    // With MIN_REPLICA_ACKS each call is routed here (routed.ts): WAIT goes where it ran.
    const executed: Executed[] = [];
    if (byShard.size) await this.markShardsRouted(shardsByKey, executed);
    const done = await Promise.allSettled([
      ...[...byShard].map(([k, keys]) => {
        const args: Array<string | number> = [...keys.keys()];
        for (const offsets of keys.values()) args.push(offsets.length, ...offsets);
        if (this.minReplicaAcks === 0) return this.client.bitmapqlWrite(keys.size, args);
        return this.routed(scriptOnSlot(this.client, keySlot(this.layout.key('', k)), WRITE_SCRIPT, keys.size, args), executed);
      }),
      ...increments.map((c) => {
        const key = this.layout.unsharded(c.key);
        if (this.minReplicaAcks === 0) return this.client.hincrby(key, c.field, c.by);
        return this.routed(callOnSlot(this.client, keySlot(key), 'HINCRBY', [key, c.field, c.by]), executed);
      }),
    ]);
    const failed = done.find((r) => r.status === 'rejected');
    if (failed) unavailable(failed.reason);
    await this.replicated(executed);
  }

  /** A routed call's reply; where it ran is added to `executed`. */
  private async routed(call: Promise<{ reply: unknown; executed: Executed }>, executed: Executed[]): Promise<unknown> {
    const done = await call;
    executed.push(done.executed);
    return done.reply;
  }

  /**
   * With MIN_REPLICA_ACKS: WAIT on each connection a write ran on (`executed`: routed.ts followed
   * MOVED and ASK itself, so a write that an ASK sent to the importing node of a migrating slot is
   * WAITed there, not on the slot's old master). Every write under MIN_REPLICA_ACKS is routed so,
   * the shard sets' too. Fewer acks than asked for within the timeout fail the write: it is on its
   * master, and may or may not survive a failover.
   */
  private async replicated(executed: readonly Executed[]): Promise<void> {
    if (this.minReplicaAcks === 0) return;
    const acks = await replicaAcks(executed, this.minReplicaAcks, this.replicaAckTimeoutMs).catch(unavailable);
    if (acks < this.minReplicaAcks) {
      throw new BitmapError(
        'REPLICATION_TIMEOUT',
        `the write reached its Redis Cluster master, but ${acks} of the ${this.minReplicaAcks} replica acknowledgements MIN_REPLICA_ACKS asks for came within ${this.replicaAckTimeoutMs} ms: it may or may not survive a failover; retry it (marks are idempotent, counters need an idempotencyKey) once the master has replicas, or lower MIN_REPLICA_ACKS`,
        { acks, required: this.minReplicaAcks },
      );
    }
  }

  /**
   * Under an idempotency key, the increments are grouped by the slot of their hash, and each group
   * is one once.lua call that records the key in that slot (`{<slot tag>}<meta>once:<key>`). A
   * batch that failed part-way and is retried under its key applies only the groups that did not
   * land: every group ends applied exactly once.
   */
  async increment(increments: readonly CounterIncrement[], once?: Once): Promise<OnceOutcome> {
    if (!once) {
      await this.write([], increments);
      return { replayed: false };
    }
    const bySlot = new Map<number, CounterIncrement[]>();
    for (const c of increments) {
      const slot = keySlot(this.layout.unsharded(c.key));
      let group = bySlot.get(slot);
      if (!group) bySlot.set(slot, (group = []));
      group.push(c);
    }
    const record = `${metaPrefixFor(this.layout.logical.prefix)}once:${once.key}`;
    const executed: Executed[] = [];
    const done = await Promise.allSettled(
      [...bySlot].map(([slot, group]) => {
        const keys = [...new Set(group.map((c) => this.layout.unsharded(c.key)))];
        const index = new Map(keys.map((k, i) => [k, i + 2]));
        const args: Array<string | number> = [`{${slotTag(slot)}}${record}`, ...keys, once.digest, ONCE_TTL_SECONDS];
        for (const c of group) args.push(index.get(this.layout.unsharded(c.key))!, c.field, c.by);
        if (this.minReplicaAcks === 0) return this.client.bitmapqlOnce(keys.length + 1, args);
        return this.routed(scriptOnSlot(this.client, slot, ONCE_SCRIPT, keys.length + 1, args), executed);
      }),
    );
    const conflict = done.find((r) => r.status === 'rejected' && /IDEMPOTENCY_CONFLICT/.test(String((r.reason as Error)?.message)));
    if (conflict) throw onceConflict(once.key);
    const failed = done.find((r) => r.status === 'rejected');
    if (failed) unavailable(failed.reason);
    await this.replicated(executed);
    return { replayed: done.some((r) => r.status === 'fulfilled' && Number(r.value) === 1) };
  }

  async resolveIds(externals: readonly string[], assign: boolean): Promise<Array<number | null>> {
    if (externals.length === 0) return [];
    const k = this.layout.idKeys;
    const args = [k.forward, k.reverse, k.next, assign ? '1' : '0', ...externals];
    let ids: number[];
    if (!assign || this.minReplicaAcks === 0) ids = await this.client.bitmapqlIds(3, ...args).catch(unavailable);
    else {
      // New ids are writes: routed, and WAITed where they ran.
      const done = await scriptOnSlot(this.client, keySlot(k.forward), IDS_SCRIPT, 3, args).catch(unavailable);
      ids = done.reply as number[];
      await this.replicated([done.executed]);
    }
    return ids.map((id) => (id < 0 ? null : id));
  }

  async externalIds(ids: readonly number[]): Promise<Array<string | null>> {
    if (ids.length === 0) return [];
    return this.client.hmget(this.layout.idKeys.reverse, ...ids.map(String)).catch(unavailable);
  }

  async *idPairs(): AsyncIterable<Array<[string, number]>> {
    let cursor = '0';
    do {
      const [next, flat] = await this.client.hscan(this.layout.idKeys.forward, cursor, 'COUNT', 1000).catch(unavailable);
      cursor = next;
      const pairs: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
      if (pairs.length) yield pairs;
    } while (cursor !== '0');
  }

  async restoreIds(pairs: ReadonlyArray<readonly [string, number]>): Promise<void> {
    if (pairs.length === 0) return;
    assertPairsAgree(pairs);
    const k = this.layout.idKeys;
    await this.client.bitmapqlIdsRestore(3, k.forward, k.reverse, k.next, ...pairs.flatMap(([e, id]) => [e, String(id)])).catch(unavailable);
  }

  /**
   * Logical keys under `prefix`, each once: every master is scanned for shard keys
   * (`{tag}<prefix>…`) and for keys that are not sharded (`<prefix>…`: counters).
   */
  async *scan(prefix: string): AsyncIterable<string[]> {
    const escaped = prefix.replace(/[*?[\]\\]/g, '\\$&');
    const seen = new Set<string>();
    for (const node of this.masters()) {
      for (const match of [`{*}${escaped}*`, `${escaped}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000).catch(unavailable);
          cursor = next;
          const batch: string[] = [];
          for (const physical of keys) {
            const parsed = this.layout.parse(physical);
            const key = parsed ? parsed.key : physical;
            if (!key.startsWith(prefix) || seen.has(key)) continue;
            if (!parsed && this.layout.isSharded(key)) continue; // not a key of this layout
            seen.add(key);
            batch.push(key);
          }
          if (batch.length) yield batch;
        } while (cursor !== '0');
      }
    }
  }

  private masters(): Redis[] {
    return this.client.nodes('master');
  }

  /**
   * Deletes logical keys (a bitmap in every shard of its shard set; the set stays, as the shard
   * bitmap does: a superset is harmless); resolves to how many of them existed.
   */
  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const sharded = keys.filter((k) => this.layout.isSharded(k));
    const sets = await readShardSets(this.client, this.layout, sharded).catch(unavailable);
    const existed = new Set<string>();
    await Promise.all([
      ...sharded.flatMap((key) =>
        sets.get(key)!.map(async (k) => {
          if ((await this.client.unlink(this.layout.key(key, k)).catch(unavailable)) > 0) existed.add(key);
        }),
      ),
      ...keys
        .filter((k) => !this.layout.isSharded(k))
        .map(async (key) => {
          if ((await this.client.unlink(this.layout.unsharded(key)).catch(unavailable)) > 0) existed.add(key);
        }),
    ]);
    return existed.size;
  }

  /** A logical bitmap's bytes, its shards laid end to end (each shard is 2^W / 8 bytes wide). */
  async dump(key: string): Promise<Buffer | null> {
    if (!this.layout.isSharded(key)) return this.client.getBuffer(this.layout.unsharded(key)).catch(unavailable);
    const live = await this.keyShards(key);
    const parts = await Promise.all(live.map((k) => this.client.getBuffer(this.layout.key(key, k)).catch(unavailable)));
    const width = this.layout.shardSize / 8;
    let length = -1;
    parts.forEach((p, i) => {
      if (p) length = Math.max(length, live[i]! * width + p.length);
    });
    if (length < 0) return null;
    const out = Buffer.alloc(length);
    parts.forEach((p, i) => p?.copy(out, live[i]! * width));
    return out;
  }

  /** Replaces a logical bitmap: each shard's slice of the bytes, shards left without bits deleted. */
  async restore(key: string, bytes: Buffer): Promise<void> {
    if (!this.layout.isSharded(key)) {
      await this.client.set(this.layout.unsharded(key), bytes).catch(unavailable);
      return;
    }
    const width = this.layout.shardSize / 8;
    const slices = new Map<number, Buffer>();
    for (let at = 0; at < bytes.length; at += width) {
      const slice = bytes.subarray(at, Math.min(at + width, bytes.length));
      let end = slice.length;
      while (end > 0 && slice[end - 1] === 0) end--;
      if (end > 0) slices.set(at / width, slice.subarray(0, end));
    }
    if (slices.size) await this.markShards(new Map([[key, slices.keys()]]));
    const live = await this.keyShards(key);
    await Promise.all(
      live.map((k) => {
        const slice = slices.get(k);
        const physical = this.layout.key(key, k);
        return (slice ? this.client.set(physical, slice) : this.client.unlink(physical)).catch(unavailable);
      }),
    );
  }

  /** The live shards' bytes in id order, in GETRANGE slices (slices.ts). */
  dumpSlices(key: string, sliceBytes: number): AsyncIterable<ByteSlice> {
    return dumpShardSlices(this, key, sliceBytes, unavailable);
  }

  /** Cut at shard edges; shards left without bits get no key (slices.ts). */
  restoreSlices(key: string, slices: AsyncIterable<ByteSlice>): Promise<void> {
    return restoreShardSlices(this, key, slices, unavailable);
  }

  /** Every master answers and the cluster says its state is ok (all slots served). */
  async ready(): Promise<boolean> {
    try {
      if (this.client.status !== 'ready') return false;
      const masters = this.masters();
      if (masters.length === 0) return false;
      const [info] = await Promise.all([masters[0]!.cluster('INFO') as Promise<string>, ...masters.map((m) => m.ping())]);
      return /^cluster_state:ok\b/m.test(info);
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.caching.stop();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Connection and cluster trouble becomes SERVICE_UNAVAILABLE; Redis's other replies (bugs) pass through to be masked. */
function unavailable(err: unknown): never {
  if (err instanceof BitmapError) throw err;
  const text = err instanceof Error ? err.message : String(err);
  if (/^OOM /.test(text)) {
    throw new BitmapError(
      'STORAGE_FULL',
      'storage is full: a Redis Cluster master reached its maxmemory limit and may evict nothing, so it refused this request; retry once memory is freed or maxmemory is raised',
    );
  }
  if (err instanceof Error && err.name === 'ReplyError' && !/^(LOADING|BUSY|MASTERDOWN|READONLY|MISCONF|TRYAGAIN|CLUSTERDOWN)\b/.test(text)) throw err;
  throw new BitmapError('SERVICE_UNAVAILABLE', `storage is unavailable: ${trouble(text)}; retry later`, {}, { cause: err });
}

function trouble(text: string): string {
  if (/^CLUSTERDOWN\b/.test(text)) return 'the Redis Cluster is down (a slot has no master)';
  if (/^(MASTERDOWN|READONLY|TRYAGAIN)\b/.test(text)) return 'the Redis Cluster is failing over or moving slots and cannot take this request';
  if (/^LOADING\b/.test(text)) return 'a Redis Cluster node is loading its data after a restart';
  if (/^BUSY\b/.test(text)) return 'a Redis Cluster node is busy running a long script';
  if (/timed out/i.test(text)) return 'the Redis Cluster did not answer in time';
  return 'the Redis Cluster is unreachable';
}
