// A gateway as its own process (`node bin/bitmapql.js serve`) on the embedded engine in a fresh
// data folder, with one read/write API key: for what only a real process shows (SIGTERM).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashKey } from '../src/auth.ts';
import { freePort } from './global-setup.ts';

export interface ServedProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Its API key (scopes read and write). */
  readonly key: string;
  /** Resolves with the exit code. */
  readonly exit: Promise<number | null>;
  /** Kills it if it is still running and removes its data folder. */
  stop(): void;
}

/** Starts the gateway and resolves once it logged that it listens (within `ms`). */
export async function serveProcess(env: Record<string, string> = {}, ms = 20_000): Promise<ServedProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-serve-'));
  const key = `bmq_serve_${randomBytes(8).toString('hex')}`;
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/bitmapql.js', 'serve'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      API_KEYS: JSON.stringify([{ name: 'serve', sha256: hashKey(key), scopes: ['read', 'write'] }]),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + ms;
  while (!out.includes('"listening"')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`the gateway did not listen: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port, key, exit, stop };
}
