// STORAGE_FULL: Redis at maxmemory and the embedded engine on a full disk. A refused request gets
// the code (no stack trace; one log line per episode, not one per request), reads that need no
// room go on, /ready and bitmapql_storage_full show it, and it all works again once there is room.
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { fillDisk, mountSmallTmpfs } from '../full-disk.ts';
import { startRedis } from '../global-setup.ts';
import type { GqlResult } from '../helpers.ts';
import { rng } from '../rng.ts';

const KEY = `bmq_full_${randomBytes(8).toString('hex')}`;
const AUTH = { authorization: `Bearer ${KEY}` };
const AT = '2026-03-04T10:00:00Z';
const DAY = '{ at: { granularity: DAY, date: "2026-03-04" } }';
const MARK = 'mutation Mark($input: [MarkEventInput!]!) { markEvents(input: $input) { marked } }';
const BOTH = `query Both { count(set: { and: [{ event: { name: "a", period: ${DAY} } }, { event: { name: "b", period: ${DAY} } }] }) }`;
const ONLY_A = `query OnlyA { count(set: { event: { name: "a", period: ${DAY} } }) }`;
const REFUSALS = 12;

type Line = Record<string, unknown>;

interface Harness {
  gateway: Gateway;
  lines: Line[];
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>>;
  ready(): Promise<{ status: number; body: { ready: boolean; storageFull?: { since: string; refused: number; reason: string } } }>;
  metric(line: RegExp): Promise<string | undefined>;
}

async function harness(settings: Partial<Config>): Promise<Harness> {
  const lines: Line[] = [];
  const config = loadConfig({}, { ...settings, apiKeys: [{ name: 'full', sha256: hashKey(KEY), scopes: ['read', 'write'] }] });
  const gateway = await createGateway(config, { log: (fields) => lines.push(fields) });
  return {
    gateway,
    lines,
    async gql(query, variables) {
      const res = await gateway.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...AUTH },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<never>;
    },
    async ready() {
      const res = await gateway.yoga.fetch('http://yoga/ready');
      return { status: res.status, body: (await res.json()) as never };
    },
    async metric(line) {
      const text = await (await gateway.yoga.fetch('http://yoga/metrics')).text();
      return text.split('\n').find((l) => line.test(l));
    },
  };
}

const marks = (name: string, ids: readonly number[]) => ({ input: ids.map((userId) => ({ name, userId, at: AT })) });
const codes = (r: GqlResult): string[] => (r.errors ?? []).map((e) => String(e.extensions?.code));

/** Two overlapping random sets of user ids below 60,000 (small bitmaps: 2 MiB of Redis is little), and their intersection, worked out with JS Sets. */
function sets(seed: number): { a: number[]; b: number[]; both: number } {
  const random = rng(seed);
  const a = new Set(Array.from({ length: 300 }, () => Math.floor(random() * 60_000)));
  const b = new Set(Array.from({ length: 300 }, () => Math.floor(random() * 60_000)));
  for (const id of [...a].slice(0, 50)) b.add(id);
  return { a: [...a], b: [...b], both: [...a].filter((id) => b.has(id)).length };
}

/** Storage-full log lines: the start of an episode and its end. */
const starts = (lines: Line[]): Line[] => lines.filter((l) => String(l.msg).startsWith('storage full'));
const ends = (lines: Line[]): Line[] => lines.filter((l) => l.msg === 'storage accepts writes again');

/** What both engines must show once storage refuses writes: the code, one log line, /ready, the metric. */
async function expectRefusing(t: Harness, refusedWrite: () => Promise<GqlResult>, reason: RegExp, extra: Array<() => Promise<GqlResult>> = []): Promise<void> {
  for (let i = 0; i < REFUSALS; i++) {
    const r = await (i % 2 === 0 || extra.length === 0 ? refusedWrite() : extra[i % extra.length]!());
    expect(codes(r)).toEqual(['STORAGE_FULL']);
    expect(r.errors![0]!.message).toMatch(reason);
    expect(r.errors![0]!.message).not.toMatch(/Unexpected error/);
  }
  expect(starts(t.lines)).toHaveLength(1);
  expect(starts(t.lines)[0]).toMatchObject({ level: 'error', reason: expect.stringMatching(reason) });
  expect(t.lines.filter((l) => 'stack' in l)).toEqual([]);
  expect(t.lines.filter((l) => l.level === 'error')).toHaveLength(1); // request lines are info: the episode line says it all
  const ready = await t.ready();
  expect(ready.status).toBe(200);
  expect(ready.body.ready).toBe(true);
  expect(ready.body.storageFull).toMatchObject({ refused: REFUSALS, reason: expect.stringMatching(reason) });
  expect(Date.parse(ready.body.storageFull!.since)).toBeGreaterThan(0);
  expect(await t.metric(/^bitmapql_storage_full /)).toBe('bitmapql_storage_full 1');
  expect(await t.metric(/^bitmapql_graphql_errors_total\{code="STORAGE_FULL"\}/)).toBe(`bitmapql_graphql_errors_total{code="STORAGE_FULL"} ${REFUSALS}`);
}

/** Once there is room: /ready and the metric say so before any write, the end is logged once, writes work. */
async function expectRecovered(t: Harness): Promise<void> {
  const ready = await t.ready();
  expect(ready).toEqual({ status: 200, body: { ready: true } });
  expect(ends(t.lines)).toEqual([expect.objectContaining({ refused: REFUSALS })]);
  expect(await t.metric(/^bitmapql_storage_full /)).toBe('bitmapql_storage_full 0');
  await t.ready();
  expect(ends(t.lines)).toHaveLength(1);
  expect(starts(t.lines)).toHaveLength(1);
}

describe('STORAGE_FULL', () => {
  it('Redis at maxmemory (noeviction): writes and BITOP reads refused with STORAGE_FULL, plain counts go on, all works again with more memory', async () => {
    const redis = await startRedis(undefined, ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    const t = await harness({ redisUrl: redis.url, keyPrefix: `sf${randomBytes(3).toString('hex')}_` });
    try {
      const { a, b, both } = sets(1);
      expect(codes(await t.gql(MARK, marks('a', a)))).toEqual([]);
      expect(codes(await t.gql(MARK, marks('b', b)))).toEqual([]);
      expect(await t.gql<{ count: number }>(BOTH)).toEqual({ data: { count: both } });

      // Fill Redis until it refuses a write; then set the limit 200 KB below what it uses, or the
      // buffers it frees after each refusal could let the next write slip under the limit.
      const filler = Buffer.alloc(4000, 0x5a);
      for (let i = 0; ; i++) {
        const full = await admin.set(`filler:${i}`, filler).then(
          () => false,
          (e: Error) => /^OOM /.test(e.message),
        );
        if (full) break;
      }
      const used = Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))![1]);
      await admin.config('SET', 'maxmemory', String(used - 200_000));

      const refusedIds = [61_001, 61_002];
      await expectRefusing(t, () => t.gql(MARK, marks('a', refusedIds)), /maxmemory/, [
        () => t.gql(BOTH),
        () => t.gql('mutation { markEvent(input: { name: "b", userId: 61003, at: "2026-03-04T10:00:00Z" }) { marked } }'),
      ]);
      // a count of one stored key needs no temporary key: Redis still answers it
      expect(await t.gql<{ count: number }>(ONLY_A)).toEqual({ data: { count: a.length } });

      await admin.config('SET', 'maxmemory', '64mb');
      await expectRecovered(t);
      expect(codes(await t.gql(MARK, marks('a', [62_000])))).toEqual([]);
      expect(codes(await t.gql(MARK, marks('b', [62_000])))).toEqual([]);
      // nothing of the refused writes was stored
      expect(await t.gql<{ count: number }>(ONLY_A)).toEqual({ data: { count: a.length + 1 } });
      expect(await t.gql<{ count: number }>(BOTH)).toEqual({ data: { count: both + 1 } });
    } finally {
      await t.gateway.close();
      admin.disconnect();
      await redis.stop();
    }
  });

  it('embedded engine on a full disk (2 MiB tmpfs): writes refused with STORAGE_FULL, reads go on, writes resume by themselves when space is freed, nothing acknowledged lost', async (ctx) => {
    const disk = mountSmallTmpfs();
    if (!disk) return ctx.skip('mounting a tmpfs is not allowed here');
    const dataDir = join(disk.dir, 'data');
    mkdirSync(dataDir);
    const settings: Partial<Config> = { dataDir, fsync: 'always' };
    let t = await harness(settings);
    try {
      const { a, b, both } = sets(2);
      expect(codes(await t.gql(MARK, marks('a', a)))).toEqual([]);
      expect(codes(await t.gql(MARK, marks('b', b)))).toEqual([]);
      const filler = fillDisk(disk.dir);

      // 1,000 marks: a log record far larger than what is left of the log's last page
      const refused = Array.from({ length: 1000 }, (_, i) => 63_000 + i);
      await expectRefusing(t, () => t.gql(MARK, marks('a', refused)), /no space left/);
      expect(await t.gql<{ count: number }>(ONLY_A)).toEqual({ data: { count: a.length } });
      expect(await t.gql<{ count: number }>(BOTH)).toEqual({ data: { count: both } });

      unlinkSync(filler);
      await expectRecovered(t);
      expect(codes(await t.gql(MARK, marks('a', [62_000])))).toEqual([]);
      expect(codes(await t.gql(MARK, marks('b', [62_000])))).toEqual([]);
      expect(await t.gql<{ count: number }>(BOTH)).toEqual({ data: { count: both + 1 } });

      // everything acknowledged is still there after a restart, and nothing refused is
      await t.gateway.close();
      t = await harness(settings);
      expect(await t.gql<{ count: number }>(ONLY_A)).toEqual({ data: { count: a.length + 1 } });
      expect(await t.gql<{ count: number }>(BOTH)).toEqual({ data: { count: both + 1 } });
    } finally {
      await t.gateway.close();
      disk.unmount();
    }
  });
});
