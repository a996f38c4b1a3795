// Test helpers: a gateway on any engine, isolated by a fresh key prefix or data folder.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Engine } from '../src/bitmap/engines/engine.ts';
import { openEngine } from '../src/bitmap/engines/open.ts';
import type { RedisMode } from '../src/bitmap/engines/redis.ts';
import { hashKey } from '../src/auth.ts';
import { loadConfig } from '../src/config.ts';
import type { Config } from '../src/config.ts';
import { createGateway } from '../src/gateway.ts';
import type { Gateway } from '../src/gateway.ts';

export type EngineKind = 'redis' | 'embedded' | 'cluster';
/** The engines every API test runs on; the cluster has test files of its own (test/cluster/), each starting a cluster. */
export const ENGINES: EngineKind[] = ['redis', 'embedded'];

export interface GqlResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }>;
}

export interface TestGateway {
  gateway: Gateway;
  engine: Engine;
  config: Config;
  prefix: string;
  /** Sends TEST_AUTH unless `headers` are given (then exactly those, e.g. `{}` for an anonymous caller). */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResult<T>>;
  /** Every key of this gateway's prefix. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export const redisUrl = (): string => inject('redisUrl');

/**
 * Every test gateway without its own `config.apiKeys` accepts this key with every scope, and
 * gql() sends it by default (writes need a key; see src/auth.ts).
 */
export const TEST_KEY = `bmq_test_${randomBytes(16).toString('hex')}`;
export const TEST_AUTH: Record<string, string> = { authorization: `Bearer ${TEST_KEY}` };
const testApiKeys = [{ name: 'test', sha256: hashKey(TEST_KEY), scopes: ['read' as const, 'write' as const, 'admin' as const] }];

export interface TestGatewayOptions {
  engine: EngineKind;
  redisMode?: RedisMode;
  /** Redis engine: cache closed periods (closed relative to `now`). */
  cache?: boolean;
  now?: number;
  /** The cluster engine: seed nodes of a running cluster (test/cluster/cluster.ts). */
  cluster?: Config['redisCluster'];
  config?: Partial<Config>;
}

function clusterSeeds(options: TestGatewayOptions): NonNullable<Config['redisCluster']> {
  if (!options.cluster?.length) throw new Error("testGateway({ engine: 'cluster' }) needs `cluster`: the seeds of a running cluster");
  return options.cluster;
}

export async function testGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const prefix = `t${randomBytes(4).toString('hex')}_`;
  const dir = options.engine === 'embedded' ? mkdtempSync(join(tmpdir(), 'bitmapql-test-')) : undefined;
  const config = loadConfig({}, { keyPrefix: prefix, dataDir: dir ?? './data', apiKeys: testApiKeys, ...options.config });
  const clock = (): number => options.now ?? Date.now();
  const engine = await openEngine(
    {
      ...config,
      redisUrl: options.engine === 'redis' ? redisUrl() : undefined,
      redisCluster: options.engine === 'cluster' ? clusterSeeds(options) : undefined,
      redisMode: options.redisMode ?? 'lua',
      cacheMb: options.cache ? 64 : 0,
      fsync: 'os',
    },
    { now: clock },
  );
  const gateway = await createGateway(config, { engine, now: options.now === undefined ? undefined : () => options.now! });
  /** Every key of this gateway: bitmaps under the prefix and counter hashes under the counter prefix. */
  const keys = async (): Promise<string[]> => {
    const all: string[] = [];
    for (const p of [prefix, gateway.services.layout.counterPrefix]) for await (const batch of engine.scan(p)) all.push(...batch);
    return all.sort();
  };
  return {
    gateway,
    engine,
    config,
    prefix,
    keys,
    async gql(query, variables, headers) {
      const res = await gateway.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(headers ?? TEST_AUTH) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<never>;
    },
    async close() {
      const { idKeys, importsKey } = gateway.services.layout;
      await engine.delete([...(await keys()), idKeys.forward, idKeys.reverse, idKeys.next, importsKey]);
      await gateway.close();
      await engine.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The gateway on a Node HTTP server on a free loopback port (the path `bitmapql serve` takes);
 * its base URL and how to close it (open connections, such as event streams, ended first).
 */
export async function serveOnHttp(g: Gateway): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer(g.yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { rng } from './rng.ts';
