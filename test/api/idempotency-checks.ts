// Idempotent counter increments (idempotencyKey), the same checks on every engine: counters read back against sums worked out in JS.

import { describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers.ts';

const INCREMENTS = 'mutation($in: [CounterIncrementInput!]!, $key: String) { incrementCounters(input: $in, idempotencyKey: $key) { incremented replayed } }';
const DAY = '2026-11-21';

interface Hit {
  name: string;
  key: string;
  by: number;
  at: string;
}

/** Counters of `name` on DAY, as a JS map. */
async function dayCounts(t: TestGateway, name: string): Promise<Record<string, number>> {
  const r = await t.gql(`{ counters(name: "${name}", period: { at: { granularity: DAY, date: "${DAY}" } }, top: 100) { key value } }`);
  expect(r.errors).toBeUndefined();
  const out: Record<string, number> = {};
  for (const { key, value } of (r.data as { counters: Array<{ key: string; value: number }> }).counters) out[key] = value;
  return out;
}

/** The reference: each batch applied `times` times. */
function expected(batches: Array<{ hits: Hit[]; times: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { hits, times } of batches) for (const h of hits) out[h.key] = (out[h.key] ?? 0) + h.by * times;
  return out;
}

/** A batch over several counters and hours of DAY (hour, day, week and month hashes: many slots on a cluster). */
function batch(name: string, n: number, seed: number): Hit[] {
  return Array.from({ length: n }, (_, i) => ({
    name,
    key: `k${(i * 7 + seed) % 5}`,
    by: 1 + ((i + seed) % 4),
    at: `${DAY}T${String((i * 5 + seed) % 24).padStart(2, '0')}:10:00Z`,
  }));
}

/** Registers the idempotency tests on the gateway `gateway()` returns (opened by the caller's beforeAll). */
export function describeIdempotency(label: string, gateway: () => TestGateway): void {
  describe(`idempotent counter increments on ${label}`, () => {
    it('applies a batch sent twice under one key once, and says the second was a replay', async () => {
      const t = gateway();
      const hits = batch('idem_same', 12, 1);
      const first = await t.gql(INCREMENTS, { in: hits, key: 'batch-1' });
      expect(first.errors).toBeUndefined();
      expect(first.data).toEqual({ incrementCounters: { incremented: 12, replayed: false } });
      const again = await t.gql(INCREMENTS, { in: hits, key: 'batch-1' });
      expect(again.errors).toBeUndefined();
      expect(again.data).toEqual({ incrementCounters: { incremented: 12, replayed: true } });
      expect(await dayCounts(t, 'idem_same')).toEqual(expected([{ hits, times: 1 }]));
    });

    it('applies the same batch under two keys, or with no key, each time', async () => {
      const t = gateway();
      const hits = batch('idem_diff', 9, 2);
      for (const key of ['a', 'b', null, null]) expect((await t.gql(INCREMENTS, { in: hits, key })).errors).toBeUndefined();
      expect(await dayCounts(t, 'idem_diff')).toEqual(expected([{ hits, times: 4 }]));
    });

    it('refuses a key reused for another batch (IDEMPOTENCY_CONFLICT), counting nothing, and answers after', async () => {
      const t = gateway();
      const hits = batch('idem_conflict', 6, 3);
      expect((await t.gql(INCREMENTS, { in: hits, key: 'reused' })).errors).toBeUndefined();
      const other = hits.map((h) => ({ ...h, by: h.by + 1 }));
      const r = await t.gql(INCREMENTS, { in: other, key: 'reused' });
      expect(r.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(r.errors?.[0]?.message).toMatch(/different batch/);
      const single = await t.gql('mutation { incrementCounter(name: "idem_conflict", key: "k0", at: "2026-11-21T03:00:00Z", idempotencyKey: "reused") { incremented replayed } }');
      expect(single.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(await dayCounts(t, 'idem_conflict')).toEqual(expected([{ hits, times: 1 }]));
    });

    it('applies once when retries under one key race each other', async () => {
      const t = gateway();
      const hits = batch('idem_race', 10, 4);
      const replies = await Promise.all(Array.from({ length: 6 }, () => t.gql(INCREMENTS, { in: hits, key: 'raced' })));
      for (const r of replies) expect(r.errors).toBeUndefined();
      const replayed = replies.map((r) => (r.data as { incrementCounters: { replayed: boolean } }).incrementCounters.replayed);
      expect(replayed.filter((x) => !x)).toHaveLength(1);
      expect(await dayCounts(t, 'idem_race')).toEqual(expected([{ hits, times: 1 }]));
    });

    it('refuses an empty or overlong key (BAD_INPUT)', async () => {
      const t = gateway();
      const hits = batch('idem_bad', 2, 5);
      for (const key of ['', 'x'.repeat(201)]) {
        const r = await t.gql(INCREMENTS, { in: hits, key });
        expect(r.errors?.[0]?.extensions?.code).toBe('BAD_INPUT');
      }
      expect(await dayCounts(t, 'idem_bad')).toEqual({});
    });
  });
}
