// Graceful shutdown: `bitmapql serve` as a child process gets SIGTERM in the middle of a stream of
// markEvent mutations. It must finish what is in flight, flush storage, exit 0, and every
// mark it acknowledged must be stored.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { freePort } from '../global-setup.ts';
import { redisUrl } from '../helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const KEY = `bmq_shutdown_${randomBytes(8).toString('hex')}`;
const API_KEYS = JSON.stringify([{ name: 'shutdown', sha256: hashKey(KEY), scopes: ['read', 'write'] }]);
const AT = '2026-03-04T10:00:00Z';
/** bitmapist keys of event "s" at AT: month, ISO week, day. */
const KEYS_AT = (prefix: string): string[] => [`${prefix}s_2026-3`, `${prefix}s_W2026-10`, `${prefix}s_2026-3-4`];
const CONCURRENCY = 8;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Server {
  child: ChildProcess;
  port: number;
  lines: Array<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `node bin/bitmapql.js serve` and waits for its "listening" line. */
async function serve(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/bitmapql.js', 'serve'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', API_KEYS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let partial = '';
  let listening: () => void = () => {};
  const listeningNow = new Promise<void>((resolve) => (listening = resolve));
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const l of complete) {
      if (!l.trim()) continue;
      const line = JSON.parse(l) as Record<string, unknown>;
      lines.push(line);
      if (line.msg === 'listening') listening();
    }
  });
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  await Promise.race([
    listeningNow,
    exit.then((e) => Promise.reject(new Error(`serve exited before listening (${e.code ?? e.signal}): ${e.stderr}`))),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000)),
  ]);
  return { child, port, lines, exit };
}

interface StreamResult {
  acked: number[];
  /** Acknowledged marks whose request was sent before SIGTERM and answered after it. */
  inFlightAcked: number;
  failed: number;
  requestIds: string[];
  /** From SIGTERM to the process's exit. */
  stopMs: number;
}

/** Streams markEvent mutations, CONCURRENCY at a time, SIGTERMs the server after `ackedBeforeSignal` acks, until it exits. */
async function streamAndStop(server: Server, ackedBeforeSignal: number): Promise<StreamResult> {
  const result: StreamResult = { acked: [], inFlightAcked: 0, failed: 0, requestIds: [], stopMs: NaN };
  let next = 0;
  let signalled = false;
  let signalAt = 0;
  let exited = false;
  void server.exit.then(() => {
    exited = true;
    result.stopMs = performance.now() - signalAt;
  });
  const worker = async (): Promise<void> => {
    while (!exited) {
      const userId = next++;
      const sentBeforeSignal = !signalled;
      try {
        const res = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${KEY}`,
            'x-request-id': `mark-${userId}`,
          },
          body: JSON.stringify({
            query: 'mutation Mark($userId: UserId!, $at: DateTime) { markEvent(input: { name: "s", userId: $userId, at: $at }) { marked } }',
            variables: { userId, at: AT },
          }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { data?: { markEvent?: { marked: number } } | null; errors?: unknown[] };
        if (res.status === 200 && !body.errors && body.data?.markEvent?.marked === 1) {
          result.acked.push(userId);
          result.requestIds.push(res.headers.get('x-request-id') ?? '');
          if (sentBeforeSignal && signalled) result.inFlightAcked++;
        } else result.failed++;
      } catch {
        result.failed++; // refused or reset: not acknowledged
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!signalled && result.acked.length >= ackedBeforeSignal) {
        signalled = true;
        signalAt = performance.now();
        server.child.kill('SIGTERM'); // this child only, by its pid
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return result;
}

async function members(engine: Engine, key: string): Promise<Set<number>> {
  const [page] = await engine.run({ registers: 0, instructions: [{ op: 'scan', src: { key }, after: -1, limit: 1e9 }] });
  return new Set((page as { ids: number[] }).ids);
}

function expectCleanStop(server: Server, exit: { code: number | null; signal: NodeJS.Signals | null; stderr: string }, r: StreamResult): void {
  expect(exit.signal).toBeNull();
  expect(exit.code, exit.stderr).toBe(0);
  expect(r.acked.length).toBeGreaterThanOrEqual(50);
  expect(r.inFlightAcked).toBeGreaterThan(0); // requests in flight at SIGTERM were finished
  expect(r.stopMs).toBeLessThan(3000); // no waiting for the 10 s grace: keep-alive connections are closed once idle
  // request ids are echoed; one JSON log line per request, without variables
  expect(r.requestIds.slice(0, 5)).toEqual(r.acked.slice(0, 5).map((id) => `mark-${id}`));
  const requestLines = server.lines.filter((l) => l.msg === 'request');
  expect(requestLines.length).toBeGreaterThanOrEqual(r.acked.length);
  expect(requestLines[0]).toMatchObject({ operation: 'Mark', type: 'mutation', status: 200 });
  expect(typeof requestLines[0]!.time).toBe('string');
  expect(typeof requestLines[0]!.durationMs).toBe('number');
  expect(JSON.stringify(requestLines)).not.toContain('userId');
  const msgs = server.lines.map((l) => l.msg);
  expect(msgs).toContain('stopping');
  expect(msgs.at(-1)).toBe('stopped');
}

describe('graceful shutdown (SIGTERM while marks stream in)', () => {
  it('embedded engine: exits 0 and every acknowledged mark is in the data folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-shutdown-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A long group-commit interval keeps several acknowledged-after-fsync writes in flight at the signal.
    const server = await serve({ DATA_DIR: dir, FSYNC: 'interval', FSYNC_INTERVAL_MS: '40' });
    const r = await streamAndStop(server, 100);
    const exit = await server.exit;
    expectCleanStop(server, exit, r);

    const engine = await openEmbeddedEngine({ dir, fsync: 'always' });
    try {
      for (const key of KEYS_AT('trackist_')) {
        const stored = await members(engine, key);
        expect(r.acked.filter((id) => !stored.has(id)), key).toEqual([]);
      }
    } finally {
      await engine.close();
    }
  });

  it('Redis engine: exits 0 and every acknowledged mark is in Redis (bitmapist keys)', async () => {
    const prefix = `sd${randomBytes(4).toString('hex')}_`;
    const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    cleanups.push(async () => {
      await redis.del(...KEYS_AT(prefix));
      redis.disconnect();
    });
    const server = await serve({ REDIS_URL: redisUrl(), KEY_PREFIX: prefix, CACHE_MB: '0' });
    const r = await streamAndStop(server, 100);
    const exit = await server.exit;
    expectCleanStop(server, exit, r);

    for (const key of KEYS_AT(prefix)) {
      const bytes = (await redis.getBuffer(key)) ?? Buffer.alloc(0);
      const missing = r.acked.filter((id) => ((bytes[id >> 3] ?? 0) & (0x80 >> (id & 7))) === 0);
      expect(missing, key).toEqual([]);
    }
  });
});
