// Opening an Engine, the one way: from the settings (serve, tests) or from a place a command names (copy, import).

import { SETTINGS } from '../../config.ts';
import type { Config } from '../../config.ts';
import { UsageError } from '../../usage-error.ts';
import { bitmapistLayout, metaPrefixFor } from '../keys.ts';
import type { KeyLayout } from '../keys.ts';
import { TimeZone, periodEnd } from '../period.ts';
import { ClusterEngine } from './cluster/engine.ts';
import { DEFAULT_SHARD_BITS } from './cluster/layout.ts';
import { openEmbeddedEngine } from './embedded/index.ts';
import type { Engine } from './engine.ts';
import { RedisEngine } from './redis.ts';
import type { RedisMode } from './redis.ts';

/** The settings an engine is opened from: REDIS_URL names Redis, REDIS_CLUSTER a Redis Cluster; without them, DATA_DIR holds the embedded engine. */
export type EngineSettings = Pick<Config, 'redisUrl' | 'redisMode' | 'dataDir' | 'fsync' | 'keyPrefix'> &
  Partial<Pick<Config, 'redisTimeoutMs' | 'cacheMb' | 'answerCacheMb' | 'fsyncIntervalMs' | 'timeZone' | 'redisCluster' | 'shardBits' | 'minReplicaAcks' | 'replicaAckTimeoutMs'>>;

export interface OpenEngineOptions {
  /**
   * Structured log lines: the closed-period cache's status, and what recovery dropped from the
   * data folder (without a log that still goes to stderr: it is never silent).
   */
  readonly log?: (fields: Record<string, unknown>) => void;
  /** The clock that says which periods have closed, for the closed-period cache (tests fix it). */
  readonly now?: () => number;
}

/**
 * Opens Redis or a Redis Cluster (connected, with the closed-period cache when `cacheMb` > 0; a
 * cluster in the sharded layout), or the embedded data folder.
 */
export async function openEngine(settings: EngineSettings, options: OpenEngineOptions = {}): Promise<Engine> {
  const layout = bitmapistLayout(settings.keyPrefix);
  const { log, now } = options;
  const cacheMb = settings.cacheMb ?? 0;
  const cache =
    cacheMb > 0
      ? {
          keyPrefix: layout.prefix,
          maxBytes: cacheMb * 1024 * 1024,
          isClosed: closedPeriodKeys(layout, new TimeZone(settings.timeZone ?? 'UTC'), now),
          onStatus: (msg: string) => log?.({ msg }),
        }
      : undefined;
  const answerCacheBytes = (settings.answerCacheMb ?? 0) * 1024 * 1024;
  if (settings.redisCluster?.length) {
    return new ClusterEngine({
      seeds: settings.redisCluster,
      layout,
      shardBits: settings.shardBits ?? DEFAULT_SHARD_BITS,
      commandTimeoutMs: settings.redisTimeoutMs,
      minReplicaAcks: settings.minReplicaAcks,
      replicaAckTimeoutMs: settings.replicaAckTimeoutMs,
      cache,
      answerCacheBytes,
      onStatus: (msg) => log?.({ msg }),
    }).connect();
  }
  if (settings.redisUrl) {
    return new RedisEngine({
      url: settings.redisUrl,
      mode: settings.redisMode,
      tempPrefix: layout.tempPrefix,
      idKeys: layout.idKeys,
      onceKeyPrefix: `${metaPrefixFor(layout.prefix)}once:`,
      commandTimeoutMs: settings.redisTimeoutMs,
      cache,
      answerCacheBytes,
      watchPrefixes: [layout.prefix, layout.counterPrefix], // live answers: bitmaps and counter hashes
      onStatus: (msg) => log?.({ msg }),
    }).connect();
  }
  return openEmbeddedEngine({ dir: settings.dataDir, fsync: settings.fsync, fsyncIntervalMs: settings.fsyncIntervalMs, log });
}

/** A redis:// or rediss:// URL (any letter case, as REDIS_URL takes it). */
const REDIS_URL = /^rediss?:\/\//i;
/** A Redis Cluster named by its seed nodes: redis-cluster://host:port,host:port,… (REDIS_CLUSTER's list). */
const CLUSTER_URL = /^redis-cluster:\/\//i;
/** Any other URL: taken for a folder name it would make a folder called `http:`. */
const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Opens the storage a command names (`copy FROM TO`, `import --to`): a Redis URL, spoken to in
 * `mode` and without the closed-period cache, a Redis Cluster (`redis-cluster://host:port,…`, in
 * the sharded layout of 2^shardBits ids a shard), or an embedded data folder with fsync left to
 * the OS (the command closes it, which flushes, before it reports success).
 */
export async function openEngineAt(
  where: string,
  options: { readonly mode: RedisMode; readonly keyPrefix: string; readonly shardBits?: number },
): Promise<Engine> {
  if (where.trim() === '') throw new UsageError('expected a redis://host:port[/db] URL, redis-cluster://host:port,… or a data folder, got an empty string');
  if (CLUSTER_URL.test(where)) {
    if (options.mode === 'pipeline') throw new UsageError('--pipeline speaks to a bitmapist-server, not a Redis Cluster: leave it out for redis-cluster://');
    const seeds = SETTINGS.redisCluster.schema.safeParse(where.replace(CLUSTER_URL, ''));
    if (!seeds.success || !seeds.data?.length) {
      throw new UsageError(`${JSON.stringify(where)}: expected redis-cluster://host:port,host:port,… (seed nodes of the cluster)`);
    }
    return openEngine({ redisUrl: undefined, redisCluster: seeds.data, shardBits: options.shardBits, redisMode: 'lua', dataDir: '', fsync: 'os', keyPrefix: options.keyPrefix });
  }
  if (!REDIS_URL.test(where) && OTHER_URL.test(where)) {
    throw new UsageError(
      `${JSON.stringify(where)} is neither a Redis URL nor a folder: expected redis://host:port[/db], rediss://…, redis-cluster://host:port,… or a data folder`,
    );
  }
  return openEngine({
    redisUrl: REDIS_URL.test(where) ? where : undefined,
    redisMode: options.mode,
    dataDir: where,
    fsync: 'os',
    keyPrefix: options.keyPrefix,
  });
}

/** Keys of event periods that have ended (by the real clock); unique sets and counters never are. */
export function closedPeriodKeys(layout: KeyLayout, tz: TimeZone, now: () => number = Date.now): (key: string) => boolean {
  const closesAt = new Map<string, number>(); // key → end of its period (Infinity: never closes)
  return (key) => {
    let at = closesAt.get(key);
    if (at === undefined) {
      const info = layout.parse(key);
      at = info !== null && 'period' in info ? periodEnd(info.period, tz) : Infinity;
      if (closesAt.size >= 100_000) closesAt.clear();
      closesAt.set(key, at);
    }
    return at <= now();
  };
}
