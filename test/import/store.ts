// A store for the import's unit tests: Redis under a fresh key prefix, or a fresh embedded data folder.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { openEngineAt } from '../../src/bitmap/engines/open.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import type { KeyLayout } from '../../src/bitmap/keys.ts';
import { redisUrl } from '../helpers.ts';
import type { EngineKind } from '../helpers.ts';

export interface Store {
  readonly engine: Engine;
  readonly layout: KeyLayout;
  readonly prefix: string;
  /** Removes what the test wrote and closes the engine. */
  close(): Promise<void>;
}

export async function openStore(kind: EngineKind): Promise<Store> {
  const prefix = `imu${randomBytes(4).toString('hex')}_`;
  const layout = bitmapistLayout(prefix);
  if (kind === 'redis') {
    const engine = await openEngineAt(redisUrl(), { mode: 'lua', keyPrefix: prefix });
    return {
      engine,
      layout,
      prefix,
      async close() {
        const keys: string[] = [];
        for (const p of [prefix, `${prefix.replace(/_$/, '')}:`]) for await (const b of engine.scan(p)) keys.push(...b);
        await engine.delete(keys);
        await engine.close();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-import-unit-'));
  const engine = await openEngineAt(dir, { mode: 'lua', keyPrefix: prefix });
  return {
    engine,
    layout,
    prefix,
    async close() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `engine` with some methods replaced (to count calls, delay or fail them); the rest is the real engine. */
export function wrapEngine(engine: Engine, methods: Partial<Engine>): Engine {
  return Object.create(engine, Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, { value: v }]))) as Engine;
}
