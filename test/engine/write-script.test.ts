// The Redis engine's batch write: one script in 'lua' mode (write.lua), a MULTI of SETBITs in
// 'pipeline' mode; both leave exactly the same bits, including a bit written twice in one batch.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { redisUrl, rng } from '../helpers.ts';

describe('batch writes (redis engine, lua and pipeline modes)', () => {
  const p = `ws${randomBytes(4).toString('hex')}_`;
  let lua: RedisEngine;
  let pipeline: RedisEngine;
  let raw: Redis;

  beforeAll(async () => {
    lua = await new RedisEngine({ url: redisUrl(), mode: 'lua', tempPrefix: `${p}bitop_` }).connect();
    pipeline = await new RedisEngine({ url: redisUrl(), mode: 'pipeline', tempPrefix: `${p}bitop_` }).connect();
    raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
  });
  afterAll(async () => {
    const keys: string[] = [];
    for await (const batch of lua.scan(p)) keys.push(...batch);
    await lua.delete(keys);
    await lua.close();
    await pipeline.close();
    raw.disconnect();
  });

  /** The same writes through both modes, into two key spaces; their bytes must be equal. */
  async function both(writes: (space: string) => BitWrite[], keys: string[]): Promise<void> {
    await lua.write(writes(`${p}l_`));
    await pipeline.write(writes(`${p}p_`));
    for (const k of keys) {
      const [l, q] = await Promise.all([raw.getBuffer(`${p}l_${k}`), raw.getBuffer(`${p}p_${k}`)]);
      expect(l && q && l.equals(q), k).toBe(true); // Buffer.equals: a failure must not print megabytes
    }
  }

  it('sets and clears bits, the last write of a bit winning, in either mode alike', async () => {
    const w = (space: string): BitWrite[] => [
      { key: `${space}a`, offset: 7, bit: 1 },
      { key: `${space}b`, offset: 0, bit: 1 },
      { key: `${space}a`, offset: 7, bit: 0 }, // set then cleared: 0
      { key: `${space}a`, offset: 9, bit: 0 },
      { key: `${space}a`, offset: 9, bit: 1 }, // cleared then set: 1
      { key: `${space}b`, offset: 2 ** 24 - 1, bit: 1 }, // a 2 MiB bitmap
      { key: `${space}c`, offset: 0, bit: 0 }, // creates a zero byte, as SETBIT does
    ];
    await both(w, ['a', 'b', 'c']);
    expect(await raw.getbit(`${p}l_a`, 7)).toBe(0);
    expect(await raw.getbit(`${p}l_a`, 9)).toBe(1);
    expect(await raw.getbit(`${p}l_b`, 2 ** 24 - 1)).toBe(1);
    expect(await raw.exists(`${p}l_c`)).toBe(1);
  });

  it('a 10,000-mark batch over 5 keys (50,000 writes) in one call', async () => {
    const random = rng(7);
    const ids = Array.from({ length: 10_000 }, () => Math.floor(random() * 2 ** 20));
    const keys = ['v', 'w', 'x', 'y', 'z'];
    await both((space) => ids.flatMap((id, i) => keys.map((k) => ({ key: `${space}${k}`, offset: id, bit: (i % 7 === 0 ? 0 : 1) as 0 | 1 }))), keys);
    expect(await raw.bitcount(`${p}l_v`)).toBeGreaterThan(8000);
  });

  it('a key of the wrong type: the other writes are applied and the error is reported, as with MULTI', async () => {
    for (const space of ['l_', 'p_']) await raw.hset(`${p}${space}hash`, 'f', '1');
    const writes = (space: string): BitWrite[] => [
      { key: `${space}ok1`, offset: 3, bit: 1 },
      { key: `${space}hash`, offset: 3, bit: 1 },
      { key: `${space}ok2`, offset: 4, bit: 1 },
    ];
    await expect(lua.write(writes(`${p}l_`))).rejects.toThrow(/WRONGTYPE/);
    await expect(pipeline.write(writes(`${p}p_`))).rejects.toThrow(/WRONGTYPE/);
    for (const space of ['l_', 'p_']) {
      expect(await raw.getbit(`${p}${space}ok1`, 3)).toBe(1);
      expect(await raw.getbit(`${p}${space}ok2`, 4)).toBe(1);
    }
  });
});
