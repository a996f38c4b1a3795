// Start-up failures as a person meets them (node bin/bitmapql.js): one line on stderr naming what
// to change, no stack trace, exit 1 for a failure to start and 2 for bad usage or settings; and
// the "listening" line names both URLs.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { newKey } from '../../src/auth.ts';
import { SETTINGS } from '../../src/config.ts';
import { freePort } from '../global-setup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bitmapql-startup-'));
let folders = 0;
const dataDir = (): string => join(dir, `data-${folders++}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The environment without any setting taken from the one the tests run in. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const s of Object.values(SETTINGS)) delete out[s.env];
  delete out.CONFIG_FILE;
  return { ...out, HOST: '127.0.0.1', ...env };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/bitmapql.js', ...args], { cwd: ROOT, env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The one line a failed start-up prints: exactly one, and no stack trace. */
function oneLine(run: Run): string {
  expect(run.stderr, run.stderr).not.toMatch(/^\s+at /m);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0]!;
}

/** A gateway child process, once it has printed its "listening" line. */
async function startGateway(env: Record<string, string>): Promise<{ pid: number; listening: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['bin/bitmapql.js', 'serve'], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s: ${out}${err}`)), 30_000);
    child.stdout!.on('data', () => {
      const line = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'listening');
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then(() => reject(new Error(`the gateway exited before listening: ${err}`)));
  });
  return { pid: child.pid!, listening };
}

describe('start-up failures', () => {
  it('a port in use: exit 1 naming the port and PORT, and the data folder is released', async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const data = dataDir();
    const run = await cli(['serve'], { PORT: String(port), DATA_DIR: data });
    expect(run.code).toBe(1);
    const line = oneLine(run);
    expect(line).toContain(`port ${port}`);
    expect(line).toContain('PORT');
    expect(line).toMatch(/in use/);
    // The storage it had opened was closed before exiting: no LOCK left behind.
    expect(existsSync(join(data, 'LOCK'))).toBe(false);
  }, 60_000);

  it('a locked data folder: exit 1 naming the process that holds it, and DATA_DIR', async () => {
    const data = dataDir();
    const first = await startGateway({ PORT: '0', DATA_DIR: data });
    const run = await cli(['serve'], { PORT: '0', DATA_DIR: data });
    expect(run.code).toBe(1);
    const line = oneLine(run);
    expect(line).toContain(`process ${first.pid}`);
    expect(line).toContain('bin/bitmapql.js serve'); // what that process is
    expect(line).toContain(data);
    expect(line).toMatch(/stop (it|that process).*DATA_DIR/);
  }, 60_000);

  it('an unreachable Redis: exit 1 naming the URL with its password hidden', async () => {
    const port = await freePort(); // free, so nothing listens there
    const run = await cli(['serve'], { PORT: '0', REDIS_URL: `redis://app:s3cr3t-pw@127.0.0.1:${port}/2` });
    expect(run.code).toBe(1);
    const line = oneLine(run);
    expect(line).toContain(`redis://app:***@127.0.0.1:${port}/2`);
    expect(line).toContain('REDIS_URL');
    expect(line).toContain('ECONNREFUSED'); // why, not just "Connection is closed."
    expect(run.stderr + run.stdout).not.toContain('s3cr3t-pw');
  }, 60_000);

  it('PORT=abc: exit 2 saying what a port looks like', async () => {
    const run = await cli(['serve'], { PORT: 'abc' });
    expect(run.code).toBe(2);
    const line = oneLine(run);
    expect(line).toContain('PORT="abc"');
    expect(line).toContain('expected a whole number from 0 to 65535');
    expect(line).not.toContain('NaN');
  }, 60_000);

  it('API_KEYS holding a raw key: exit 2 saying to configure its sha256, without printing the key', async () => {
    const key = newKey();
    const run = await cli(['serve'], { API_KEYS: key });
    expect(run.code).toBe(2);
    const line = oneLine(run);
    expect(line).toContain('API_KEYS');
    expect(line).toContain('sha256');
    expect(line).toContain('bitmapql hash-key');
    expect(line).not.toContain('not valid JSON');
    expect(run.stderr + run.stdout).not.toContain(key);
  }, 60_000);

  it('several bad settings: still one line, each setting named', async () => {
    const run = await cli(['serve'], { PORT: 'abc', MAX_BATCH: '-1', METRICS: 'maybe' });
    expect(run.code).toBe(2);
    const line = oneLine(run);
    for (const s of ['PORT="abc"', 'MAX_BATCH="-1"', 'METRICS="maybe"']) expect(line).toContain(s);
    expect(line).toContain('MAX_BATCH="-1": expected a whole number of 1 or more');
  }, 60_000);

  it('an unknown command: exit 2 saying so and listing the commands', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    const line = oneLine(run);
    expect(line).toContain("unknown command 'frobnicate'");
    expect(line).toContain('serve');
    expect(line).toContain('import');
    expect(line).not.toContain('too many arguments');
  }, 60_000);

  it('an unknown option: exit 2', async () => {
    const run = await cli(['--frobnicate']);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toContain("unknown option '--frobnicate'");
  }, 60_000);
});

describe('the command line', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await cli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  }, 60_000);

  it('the "listening" line names the GraphQL and dashboard URLs, with the port actually bound', async () => {
    const { listening } = await startGateway({ PORT: '0', DATA_DIR: dataDir() });
    const url = new URL(String(listening.url));
    expect(url.port).not.toBe('0');
    expect(listening.url).toBe(`http://127.0.0.1:${url.port}/graphql`);
    expect(listening.dashboard).toBe(`http://127.0.0.1:${url.port}/`);
    const page = await fetch(String(listening.dashboard));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const gql = await fetch(String(listening.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await gql.json()).toEqual({ data: { __typename: 'Query' } });
  }, 60_000);

  it('DASHBOARD=false: the "listening" line names no dashboard', async () => {
    const { listening } = await startGateway({ PORT: '0', DATA_DIR: dataDir(), DASHBOARD: 'false' });
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(listening).not.toHaveProperty('dashboard');
  }, 60_000);
});
