// The one engine factory: from the settings and from a place a command names; the right engine, or a refusal that says why.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { closedPeriodKeys, openEngine, openEngineAt } from '../../src/bitmap/engines/open.ts';
import type { EngineSettings } from '../../src/bitmap/engines/open.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { BitmapError } from '../../src/bitmap/errors.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { loadConfig } from '../../src/config.ts';
import { UsageError } from '../../src/usage-error.ts';
import { redisUrl } from '../helpers.ts';

const prefix = `op${randomBytes(4).toString('hex')}_`;
const folders: string[] = [];
const folder = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-open-'));
  folders.push(dir);
  return dir;
};
const settings = (s: Partial<EngineSettings>): EngineSettings => ({ ...loadConfig({}, { keyPrefix: prefix, dataDir: folder(), fsync: 'os' }), ...s });

/** Opens, checks, and always closes. */
async function withEngine(open: Promise<Engine>, check: (engine: Engine) => Promise<void> | void): Promise<void> {
  const engine = await open;
  try {
    await check(engine);
  } finally {
    await engine.close();
  }
}

afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('openEngine (from the settings)', () => {
  it('REDIS_URL set: Redis in its mode, with the closed-period cache when CACHE_MB > 0 (Lua only)', async () => {
    await withEngine(openEngine(settings({ redisUrl: redisUrl(), redisMode: 'lua', cacheMb: 1 })), (e) => {
      expect(e).toBeInstanceOf(RedisEngine);
      expect(e.describe()).toEqual({
        kind: 'redis',
        mode: 'lua',
        stats: { closedCache: { hits: 0, misses: 0, entries: 0, active: true }, answerCache: { hits: 0, misses: 0, entries: 0, bytes: 0 } },
      });
    });
    await withEngine(openEngine(settings({ redisUrl: redisUrl(), redisMode: 'lua', cacheMb: 0 })), (e) => {
      expect(e.describe()).toEqual({ kind: 'redis', mode: 'lua', stats: {} });
    });
    await withEngine(openEngine(settings({ redisUrl: redisUrl(), redisMode: 'pipeline', cacheMb: 8 })), (e) => {
      expect(e.describe()).toEqual({ kind: 'redis', mode: 'pipeline', stats: {} });
    });
  });

  it('no REDIS_URL: the embedded engine in DATA_DIR', async () => {
    const dir = folder();
    await withEngine(openEngine(settings({ redisUrl: undefined, dataDir: dir })), async (e) => {
      expect(e).toBeInstanceOf(EmbeddedEngine);
      expect(e.describe()).toMatchObject({ kind: 'embedded', mode: 'local', stats: { recovery: { droppedRecords: 0, droppedBytes: 0 } } });
      await e.write([{ key: `${prefix}a_2026-03-04`, offset: 5, bit: 1 }]);
    });
    // the same folder again: what was written is there
    await withEngine(openEngine(settings({ redisUrl: undefined, dataDir: dir })), async (e) => {
      expect(await e.dump(`${prefix}a_2026-03-04`)).toEqual(Buffer.from([0x04]));
    });
  });

  it('refuses: Redis away is SERVICE_UNAVAILABLE; an unknown fsync mode is named', async () => {
    const away = await openEngine(settings({ redisUrl: 'redis://127.0.0.1:1' })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(away).toBeInstanceOf(BitmapError);
    expect((away as BitmapError).code).toBe('SERVICE_UNAVAILABLE');
    await expect(openEngine(settings({ fsync: 'sometimes' as never }))).rejects.toThrow(/fsync mode: sometimes/);
  });
});

describe('openEngineAt (a place a command names)', () => {
  it('a redis:// URL, in any letter case, is Redis in the mode asked for, without the cache', async () => {
    await withEngine(openEngineAt(redisUrl(), { mode: 'pipeline', keyPrefix: prefix }), (e) => {
      expect(e).toBeInstanceOf(RedisEngine);
      expect(e.describe()).toEqual({ kind: 'redis', mode: 'pipeline', stats: {} });
    });
    await withEngine(openEngineAt(redisUrl().replace(/^redis:/, 'REDIS:'), { mode: 'lua', keyPrefix: prefix }), async (e) => {
      expect(e.describe()).toEqual({ kind: 'redis', mode: 'lua', stats: {} });
      expect(await e.ready()).toBe(true);
    });
  });

  it('anything else is a data folder, made when missing', async () => {
    const dir = join(folder(), 'new', 'data');
    await withEngine(openEngineAt(dir, { mode: 'lua', keyPrefix: prefix }), (e) => {
      expect(e).toBeInstanceOf(EmbeddedEngine);
      expect(existsSync(dir)).toBe(true);
    });
  });

  it('refuses an empty place and a URL of another scheme, making no folder', async () => {
    for (const where of ['', '  ', 'http://127.0.0.1:6379', 'unix:///tmp/redis.sock', 'valkey://127.0.0.1:6379']) {
      const refusal = await openEngineAt(where, { mode: 'lua', keyPrefix: prefix }).then(
        (e) => e.close().then(() => null),
        (e: unknown) => e,
      );
      expect(refusal, JSON.stringify(where)).toBeInstanceOf(UsageError);
      expect((refusal as Error).message).toMatch(/redis:\/\/.*data folder|data folder.*redis:\/\//);
    }
    expect(existsSync('http:')).toBe(false);
    expect(existsSync('unix:')).toBe(false);
  });
});

describe('closedPeriodKeys', () => {
  it('an event period closes when it ends; unique sets and counters never do', () => {
    const layout = bitmapistLayout('c_');
    let now = Date.parse('2026-03-04T23:59:59Z');
    const closed = closedPeriodKeys(layout, new TimeZone('UTC'), () => now);
    // bitmapist's keys: numbers not zero-padded
    expect(closed('c_a_2026-3-3')).toBe(true);
    expect(closed('c_a_2026-3-4')).toBe(false);
    expect(closed('c_a_u')).toBe(false);
    now = Date.parse('2026-03-05T00:00:00Z');
    expect(closed('c_a_2026-3-4')).toBe(true);
    expect(closed('c_a_2026-3')).toBe(false);
    expect(closed('c_a_2026-2')).toBe(true);
  });
});
