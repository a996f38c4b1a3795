// What the cache tests share: a gateway on its own redis-server with the closed-period cache on
// (days before the 22nd of November 2026 have ended), days' bits kept in plain Sets as they are
// written from another client (as bitmapist would), and the commands Redis ran meanwhile.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { hashKey } from '../../src/auth.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { startRedis } from '../global-setup.ts';
import type { GqlResult } from '../helpers.ts';

export const NOW = Date.parse('2026-11-22T09:05:00Z'); // the 20th and 21st have ended; the 22nd is open
/** A count request's set: event `seen` on one day of November 2026. */
export const day = (d: number): string => `{ event: { name: "seen", period: { at: { granularity: DAY, date: "2026-11-${d}" } } } }`;

export interface CacheHarness {
  redis: Awaited<ReturnType<typeof startRedis>>;
  raw: Redis;
  engine: RedisEngine;
  gateway: Gateway;
  prefix: string;
  /** The cache's status lines. */
  status: string[];
  /** The bitmapist key of a day, as bitmapist writes it. */
  key(d: number): string;
  gql<T = Record<string, unknown>>(query: string): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface CacheHarnessOptions {
  /** redis-server arguments. */
  extraArgs?: readonly string[];
  /** The closed-period cache's budget (64 MiB). */
  cacheBytes?: number;
  /** The answer cache's budget (off when absent). */
  answerBytes?: number;
}

export async function cacheHarness(o: CacheHarnessOptions = {}): Promise<CacheHarness> {
  const redis = await startRedis(undefined, o.extraArgs ?? []);
  const raw = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  raw.on('error', () => {});
  const prefix = `c${randomBytes(4).toString('hex')}_`;
  const apiKey = `bmq_cache_${randomBytes(8).toString('hex')}`;
  const config = loadConfig({}, { keyPrefix: prefix, apiKeys: [{ name: 'cache', sha256: hashKey(apiKey), scopes: ['read', 'write'] }] });
  const layout = bitmapistLayout(prefix);
  const status: string[] = [];
  const engine = await new RedisEngine({
    url: redis.url,
    tempPrefix: layout.tempPrefix,
    idKeys: layout.idKeys,
    cache: {
      keyPrefix: prefix,
      maxBytes: o.cacheBytes ?? 64 << 20,
      isClosed: (key) => key.startsWith(`${prefix}seen_2026-11-`) && Number(key.slice(-2)) < 22, // the days that have ended at NOW
      onStatus: (m) => status.push(m),
    },
    ...(o.answerBytes !== undefined ? { answerCacheBytes: o.answerBytes } : {}),
  }).connect();
  const gateway = await createGateway(config, { engine, now: () => NOW });
  const h: CacheHarness = {
    redis,
    raw,
    engine,
    gateway,
    prefix,
    status,
    key: (d) => `${prefix}seen_2026-11-${d}`,
    async gql(query) {
      const res = await gateway.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as GqlResult<never>;
    },
    async close() {
      await gateway.close();
      await engine.close();
      raw.disconnect();
      await h.redis.stop(); // the one running now: a test may have restarted it
    },
  };
  return h;
}

/** Days' members in plain Sets, written with plain SETBIT from a client other than the gateway. */
export class DaySets<D extends number> {
  readonly days: Record<D, Set<number>>;
  constructor(days: readonly D[]) {
    this.days = Object.fromEntries(days.map((d) => [d, new Set<number>()])) as Record<D, Set<number>>;
  }
  async set(h: Pick<CacheHarness, 'raw' | 'key'>, d: D, ids: readonly number[], bit: 0 | 1 = 1): Promise<void> {
    const p = h.raw.pipeline();
    for (const id of ids) {
      p.setbit(h.key(d), id, bit);
      if (bit) this.days[d].add(id);
      else this.days[d].delete(id);
    }
    await p.exec();
  }
  clear(): void {
    for (const s of Object.values<Set<number>>(this.days)) s.clear();
  }
}

/** Every command Redis runs while `work` does, from any client (MONITOR on another connection); names upper-cased. */
export async function commandsDuring(raw: Redis, work: () => Promise<void>): Promise<string[][]> {
  const monitor = await raw.monitor();
  monitor.on('error', () => {});
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => seen.push([String(args[0]).toUpperCase(), ...args.slice(1).map(String)]));
  await new Promise((r) => setTimeout(r, 50));
  const start = seen.length;
  await work();
  await new Promise((r) => setTimeout(r, 100));
  monitor.disconnect();
  return seen.slice(start);
}
