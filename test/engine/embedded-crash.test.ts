// Embedded engine: SIGKILL a writer process mid-stream; every acknowledged batch must survive.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { EmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import { BITS_PER_BATCH, MARKER_KEY, batchFor } from './fixtures/embedded-writer.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/embedded-writer.ts', import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs the writer until `killAfterMs` after it is ready, SIGKILLs it, returns the acknowledged ids. */
function runWriter(dir: string, mode: string, firstId: number, killAfterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, mode, String(firstId), '65536'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!timer && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code ?? signal}: ${err}`));
      // only complete lines are acknowledgements
      const lines = out.slice(0, out.lastIndexOf('\n') + 1).split('\n');
      resolve(lines.filter((l) => /^\d+$/.test(l)).map(Number));
    });
  });
}

async function bits(engine: EmbeddedEngine, key: string): Promise<Set<number>> {
  const [page] = await engine.run({ registers: 0, instructions: [{ op: 'scan', src: { key }, after: -1, limit: 1e9 }] });
  return new Set((page as { ids: number[] }).ids);
}

async function verify(dir: string, acked: readonly number[]): Promise<number> {
  const engine = await openEmbeddedEngine({ dir, fsync: 'always' });
  try {
    const markers = await bits(engine, MARKER_KEY);
    const problems: string[] = [];
    for (const id of acked) if (!markers.has(id)) problems.push(`acknowledged batch ${id} is missing`);
    // all or none: every batch whose marker is present is complete
    const keys = new Map<string, Set<number>>();
    for (const id of markers) {
      const key = batchFor(id)[0]!.key;
      if (!keys.has(key)) keys.set(key, await bits(engine, key));
      const set = keys.get(key)!;
      for (let j = 0; j < BITS_PER_BATCH; j++) if (!set.has(id * 64 + j)) problems.push(`batch ${id} lacks bit ${j}`);
      if (set.has(id * 64 + 50)) problems.push(`batch ${id}: bit 50 was set then cleared`);
    }
    // and nothing but whole batches
    for (const [key, set] of keys) {
      for (const offset of set) {
        const id = Math.floor(offset / 64);
        if (!markers.has(id) || `crash_k${id % 7}` !== key) problems.push(`stray bit ${key}:${offset}`);
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
    return markers.size;
  } finally {
    await engine.close();
  }
}

describe('embedded engine: SIGKILL', () => {
  for (const mode of ['always', 'interval'] as const) {
    it(`keeps every acknowledged batch (fsync ${mode}), across two kills`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `bitmapql-embedded-kill-${mode}-`));
      dirs.push(dir);
      const first = await runWriter(dir, mode, 0, 300);
      expect(first.length).toBeGreaterThan(0);
      const present = await verify(dir, first);
      expect(present).toBeGreaterThanOrEqual(first.length);
      // a second writer continues on the recovered folder and is killed too
      const second = await runWriter(dir, mode, 1_000_000, 300);
      expect(second.length).toBeGreaterThan(0);
      await verify(dir, [...first, ...second]);
    });
  }
});
