// The widest set the documented limits allow, answered on every engine and Redis mode (issue #12,
// item 3): one question may read MAX_COST keys (50,000 by default), e.g. 25 `range` leaves of
// MAX_PERIODS_PER_LEAF (2000) hours each, which Lua's unpack (about 8,000 values) cannot pass to
// one BITOP.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { periodAt, shiftPeriod } from '../../src/bitmap/period.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { rng } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const NAMES = Array.from({ length: 25 }, (_, i) => `w${i}`);
const HOURS = 2000;

describe.each([
  ['redis', 'lua'],
  ['redis', 'pipeline'],
  ['embedded', undefined],
] as const)('an or of 50,000 keys (%s %s)', (engine, redisMode) => {
  let t: TestGateway;
  /** Members of each key that holds any, by key. */
  const stored = new Map<string, Set<number>>();
  let keyCount = 0;

  /** `first` hours of the first event, HOURS of the others. */
  const wide = (op: 'or' | 'xor', first = HOURS): string =>
    `{ ${op}: [${NAMES.map((n, i) => `{ range: { name: "${n}", granularity: HOUR, last: ${i ? HOURS : first} } }`).join(', ')}] }`;

  beforeAll(async () => {
    // No closed-period cache: the program runs inside Redis.
    t = await testGateway({ engine, redisMode, now: NOW, config: { cacheMb: 0 } });
    const { layout, tz } = t.gateway.services;
    const last = periodAt('HOUR', NOW, tz);
    const keys = NAMES.flatMap((n) => Array.from({ length: HOURS }, (_, i) => layout.eventKeys(n, shiftPeriod(last, -i))).flat());
    keyCount = new Set(keys).size;
    // One key in 25 holds members (the rest are missing, as most hours of most events are),
    // spread over the whole list so that every chunk of a BITOP has some.
    const random = rng(8000);
    const writes: BitWrite[] = [];
    for (let i = 0; i < keys.length; i += 1 + Math.floor(random() * 49)) {
      if (i === HOURS - 1) continue; // the oldest hour of w0, left out below to make room for ids
      const members = new Set<number>();
      for (let j = 0; j < 3; j++) members.add(Math.floor(random() * 20_000));
      stored.set(keys[i]!, members);
      for (const offset of members) writes.push({ key: keys[i]!, offset, bit: 1 });
    }
    await t.engine.write(writes);
  });
  afterAll(() => t.close());

  it('counts the or, the xor and a page of members exactly, at the cost limit', async () => {
    expect(keyCount).toBe(50_000);
    expect(t.config.maxCost).toBe(50_000);
    const union = new Set([...stored.values()].flatMap((s) => [...s]));
    // The xor is over the 25 ranges, each the or of its hours.
    const odd = new Set<number>();
    for (const name of NAMES) {
      const range = new Set([...stored].filter(([key]) => key.startsWith(`${t.prefix}${name}_`)).flatMap(([, s]) => [...s]));
      for (const x of range) if (!odd.delete(x)) odd.add(x);
    }
    expect(stored.size).toBeGreaterThan(1000);

    const or = await t.gql(`{ count(set: ${wide('or')}) }`);
    expect(or.errors).toBeUndefined();
    expect(or.data).toEqual({ count: union.size });

    const xor = await t.gql(`{ count(set: ${wide('xor')}) }`);
    expect(xor.errors).toBeUndefined();
    expect(xor.data).toEqual({ count: odd.size });

    const sorted = [...union].sort((a, b) => a - b);
    // A page costs 1 per 100 ids besides the keys: one key less (the unseeded one) leaves room.
    const page = await t.gql(`{ members(set: ${wide('or', HOURS - 1)}, after: ${sorted[99]}, first: 50) { ids hasMore } }`);
    expect(page.errors).toBeUndefined();
    expect(page.data).toEqual({ members: { ids: sorted.slice(100, 150), hasMore: true } });

    // With an ids literal beside the widest or that leaves room for its cost: the ids are
    // answered by reading these bits.
    const absent = [20_001, 3_000_000];
    const withIds = await t.gql(`{ count(set: { or: [{ ids: [${[sorted[0], ...absent].join(', ')}] }, ${wide('or', HOURS - 1)}] }) }`);
    expect(withIds.errors).toBeUndefined();
    expect(withIds.data).toEqual({ count: union.size + absent.length });

    // One key more is over the cost limit: refused before anything runs.
    const over = await t.gql(`{ count(set: { or: [{ unique: "w0" }, ${wide('or')}] }) }`);
    expect(over.errors?.[0]?.extensions?.code).toBe('TOO_COMPLEX');
  });
});
