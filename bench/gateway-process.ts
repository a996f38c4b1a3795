// A gateway as a child process (`node bin/bitmapql.js serve`, as `npm start` runs it) on a free loopback port.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/global-setup.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface GatewayProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** SIGTERM to this child only (by pid), SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Settings that must come from `env` alone, never from the caller's environment. */
const GATEWAY_SETTINGS = ['REDIS_URL', 'REDIS_MODE', 'CACHE_MB', 'ANSWER_CACHE_MB', 'DATA_DIR', 'FSYNC', 'PORT', 'HOST', 'KEY_PREFIX', 'TIME_ZONE'];

export async function startGateway(name: string, env: Record<string, string>, timeoutMs = 60_000): Promise<GatewayProcess> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of GATEWAY_SETTINGS) delete childEnv[k];
  Object.assign(childEnv, { HOST: '127.0.0.1', PORT: String(port), TIME_ZONE: 'UTC' }, env);

  const child = spawn(process.execPath, ['bin/bitmapql.js', 'serve'], {
    cwd: PROJECT_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start the gateway`);

  const url = `http://127.0.0.1:${port}`;
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name}: the gateway exited with code ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/ready`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name}: GET /ready did not answer 200 within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, url, pid, stop };
}
