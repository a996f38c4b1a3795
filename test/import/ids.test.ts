// String ids of an import against a real Redis and the embedded engine: two round trips at most a
// batch, each new id counted once, batches resolved one after the other, a failure that does
// not stop the next batch, and a cache that starts over.

import { describe, expect, it } from 'vitest';
import { IdAssigner } from '../../src/import/ids.ts';
import { ENGINES } from '../helpers.ts';
import { openStore, wrapEngine } from './store.ts';
import type { Store } from './store.ts';

/** The store's engine, counting resolveIds calls (look-ups and assignments apart). */
function counted(s: Store): { engine: Store['engine']; calls: { find: number; assign: number } } {
  const calls = { find: 0, assign: 0 };
  const engine = wrapEngine(s.engine, {
    resolveIds: (externals, assign) => {
      calls[assign ? 'assign' : 'find']++;
      return s.engine.resolveIds(externals, assign);
    },
  });
  return { engine, calls };
}

describe.each(ENGINES)('IdAssigner in %s', (kind) => {
  it('assigns dense ids to new string ids, counts them once, and finds them again in the store', async () => {
    const s = await openStore(kind);
    try {
      const { engine, calls } = counted(s);
      const news: number[] = [];
      const ids = new IdAssigner(engine, (n) => news.push(n));
      await ids.resolve(['a', 'b', 7, 'a', 'c']);
      expect(news).toEqual([3]);
      expect(calls).toEqual({ find: 1, assign: 1 });
      const dense = ['a', 'b', 'c'].map((e) => ids.dense(e));
      expect(new Set(dense).size).toBe(3);
      expect(ids.dense(7)).toBe(7);
      expect(ids.known('a')).toBe(dense[0]);
      expect(ids.known('zz')).toBeUndefined();
      // The store's mapping holds them.
      expect(await s.engine.resolveIds(['a', 'b', 'c'], false)).toEqual(dense);

      // Known to this import: no round trip.
      await ids.resolve(['b', 'a', 3]);
      expect(calls).toEqual({ find: 1, assign: 1 });
      // Known to the store only (another import): one look-up, nothing new.
      const again = new IdAssigner(engine, (n) => news.push(n));
      await again.resolve(['c', 'a']);
      expect(calls).toEqual({ find: 2, assign: 1 });
      expect(news).toEqual([3]);
      expect([again.dense('a'), again.dense('c')]).toEqual([dense[0], dense[2]]);
      // Numeric ids only: nothing to ask.
      await again.resolve([1, 2, 3]);
      expect(calls).toEqual({ find: 2, assign: 1 });
    } finally {
      await s.close();
    }
  });

  it('resolves batches one after the other: an id two batches share is assigned and counted once', async () => {
    const s = await openStore(kind);
    try {
      let news = 0;
      const ids = new IdAssigner(s.engine, (n) => (news += n));
      // Queued together, as the pipeline does while the previous write is in flight.
      const batches = [
        ['x', 'y', 'shared'],
        ['shared', 'z'],
        ['z', 'x', 'w'],
      ];
      await Promise.all(batches.map((b) => ids.resolve(b)));
      const distinct = new Set(batches.flat());
      expect(news).toBe(distinct.size);
      const dense = [...distinct].map((e) => ids.dense(e));
      expect(new Set(dense).size).toBe(distinct.size);
      expect(await s.engine.resolveIds([...distinct], false)).toEqual(dense);
    } finally {
      await s.close();
    }
  });

  it('a failed look-up fails its own batch only; the next one still resolves', async () => {
    const s = await openStore(kind);
    try {
      let fail = true;
      const engine = wrapEngine(s.engine, {
        resolveIds: (externals, assign) => {
          if (fail) {
            fail = false;
            return Promise.reject(new Error('connection lost'));
          }
          return s.engine.resolveIds(externals, assign);
        },
      });
      let news = 0;
      const ids = new IdAssigner(engine, (n) => (news += n));
      const first = ids.resolve(['a']);
      const second = ids.resolve(['a', 'b']);
      await expect(first).rejects.toThrow('connection lost');
      await second;
      expect(news).toBe(2);
      expect(ids.known('a')).toBe((await s.engine.resolveIds(['a'], false))[0]);
    } finally {
      await s.close();
    }
  });

  it('starts its cache over past its limit, and still gives every id the store holds', async () => {
    const s = await openStore(kind);
    try {
      let news = 0;
      const ids = new IdAssigner(s.engine, (n) => (news += n), 2);
      await ids.resolve(['a', 'b', 'c']);
      const a = ids.dense('a');
      await ids.resolve(['d', 'a']);
      // Forgotten by the cache, not by the store: 'b' is no longer known, 'a' came back the same.
      expect(ids.known('b')).toBeUndefined();
      expect(ids.dense('a')).toBe(a);
      expect(news).toBe(4);
      const stored = await s.engine.resolveIds(['a', 'b', 'c', 'd'], false);
      expect(stored[0]).toBe(a);
      expect(stored[3]).toBe(ids.dense('d'));
      expect(new Set(stored.filter((d) => d !== null)).size).toBe(4);
    } finally {
      await s.close();
    }
  });
});
