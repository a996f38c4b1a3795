// The sharded layout without a cluster: slots as Redis computes them, tags spread evenly over the slot space, keys read back.

import { describe, expect, it } from 'vitest';
import { shardedLayout } from '../../src/bitmap/engines/cluster/layout.ts';
import { keySlot, shardTag } from '../../src/bitmap/engines/cluster/slots.ts';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';

/** Slot ranges `redis-cli --cluster create` gives three masters. */
const THREE_MASTERS = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];

describe('hash slots', () => {
  it('are the ones Redis documents', () => {
    // Redis Cluster specification examples: CLUSTER KEYSLOT answers these.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}')); // an empty tag: the whole key
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });
});

describe('shard tags', () => {
  it('are distinct and spread evenly over three masters for every count of shards', () => {
    const seen = new Set<string>();
    for (let k = 0; k < 20_000; k++) seen.add(shardTag(k));
    expect(seen.size).toBe(20_000);
    for (const shards of [3, 8, 16, 100, 1000, 4096]) {
      const per = THREE_MASTERS.map(() => 0);
      for (let k = 0; k < shards; k++) {
        const slot = keySlot(`{${shardTag(k)}}x`);
        per[THREE_MASTERS.findIndex(([a, b]) => slot >= a! && slot <= b!)]!++;
      }
      const even = shards / 3;
      for (const n of per) expect(Math.abs(n - even), `${shards} shards: ${per.join('/')}`).toBeLessThanOrEqual(Math.max(2, even * 0.02));
    }
  });

  it('beat tags chosen by their text, which crowd masters', () => {
    const per = THREE_MASTERS.map(() => 0);
    for (let k = 0; k < 8; k++) {
      const slot = keySlot(`{${k}}x`);
      per[THREE_MASTERS.findIndex(([a, b]) => slot >= a! && slot <= b!)]!++;
    }
    expect(Math.max(...per) - Math.min(...per)).toBeGreaterThanOrEqual(2); // the 4/2/2
  });
});

describe('sharded layout', () => {
  const layout = shardedLayout(bitmapistLayout('trackist_'), 16);

  it('puts id x in shard x >> W at bit x - k * 2^W, every key of a shard in one slot', () => {
    expect(layout.shardOf(0)).toBe(0);
    expect(layout.shardOf(65_535)).toBe(0);
    expect(layout.shardOf(65_536)).toBe(1);
    expect(layout.shardOf(2 ** 32 - 1)).toBe(65_535);
    expect(layout.base(3)).toBe(196_608);
    const a = layout.key('trackist_active_2026-11', 7);
    const b = layout.key('trackist_buy_W2026-47', 7);
    expect(a).toMatch(/^\{7\.[0-9A-Za-z]{3}\}trackist_active_2026-11$/);
    expect(keySlot(a)).toBe(keySlot(b));
    expect(keySlot(a)).not.toBe(keySlot(layout.key('trackist_active_2026-11', 8)));
  });

  it('reads its keys back and refuses look-alikes', () => {
    expect(layout.parse(layout.key('trackist_a_u', 42))).toEqual({ shard: 42, key: 'trackist_a_u' });
    expect(layout.parse('{42.abc}trackist_a_u')).toBeNull();
    expect(layout.parse('trackist_a_u')).toBeNull();
    expect(layout.parse(`{70000.${layout.tag(70000).split('.')[1]}}x`)).toBeNull(); // past the last shard
  });

  it('keeps counters, the id mapping and the ledger out of the shards, the mapping in one slot', () => {
    expect(layout.isSharded('trackist_active_2026-11')).toBe(true);
    expect(layout.isSharded('trackist:counter:launches:2026-11')).toBe(false);
    expect(layout.isSharded('trackist:imports')).toBe(false);
    const { forward, reverse, next } = layout.idKeys;
    expect(new Set([keySlot(forward), keySlot(reverse), keySlot(next)]).size).toBe(1);
    expect(layout.unsharded('trackist:ids:forward')).toBe(forward);
    expect(layout.unsharded('trackist:counter:x:2026-11')).toBe('trackist:counter:x:2026-11');
  });

  it('takes W from 3 to 32', () => {
    expect(shardedLayout(bitmapistLayout(), 32).shardCount).toBe(1);
    expect(() => shardedLayout(bitmapistLayout(), 2)).toThrow();
    expect(() => shardedLayout(bitmapistLayout(), 33)).toThrow();
  });
});
