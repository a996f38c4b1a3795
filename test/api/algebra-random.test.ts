// Set algebra through GraphQL against an independent reference (algebra-world.ts): seeded random
// marks, then hundreds of seeded random nested expressions, batched with aliases so the planner
// shares work; expected answers come from plain JS Sets over the same marks.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisEngine } from '../../src/bitmap/engines/redis.ts';
import { ENGINES, redisUrl, rng, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import type { RedisMode } from '../../src/bitmap/engines/redis.ts';
import { scanAll } from '../assertions.ts';
import { BATCH, EXPRESSIONS, NOW, World, checkRandomExpressions, checkSpellings, iso } from './algebra-world.ts';

const SETUPS: Array<{ label: string; engine: (typeof ENGINES)[number]; redisMode?: RedisMode; cache?: boolean }> = [
  ...ENGINES.map((engine) => ({ label: engine, engine })),
  { label: 'redis pipeline', engine: 'redis', redisMode: 'pipeline' },
  // Periods before NOW are closed: those sets are answered from roaring copies in the gateway.
  { label: 'redis with the closed-period cache', engine: 'redis', cache: true },
];

describe.each(SETUPS)('set algebra against a JS Set reference ($label)', ({ engine, redisMode, cache }) => {
  let t: TestGateway;
  const world = new World(rng(20261122));

  beforeAll(async () => {
    t = await testGateway({ engine, redisMode, cache, now: NOW });
    for (let i = 0; i < world.marks.length; i += 500) {
      const batch = world.marks.slice(i, i + 500).map((m) => ({
        name: m.name,
        userId: m.userId,
        at: iso(m.at),
        trackHourly: true,
        trackUnique: m.unique,
      }));
      const r = await t.gql('mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }', { in: batch });
      expect(r.errors).toBeUndefined();
    }
  });
  afterAll(async () => {
    if (cache) {
      // The closed periods really were answered from copies.
      expect((t.engine as RedisEngine).cache!.hits).toBeGreaterThan(0);
    }
    await t.close();
  });

  it(`answers ${EXPRESSIONS} random expressions, ${BATCH} to a request, as the reference does`, async () => {
    await checkRandomExpressions(t, world);
  });

  it('gives two spellings of one set the same count', async () => {
    await checkSpellings(t, world);
  });

  it('leaves no temporary key behind', async () => {
    expect((await t.keys()).filter((k) => k.includes('bitop_'))).toEqual([]);
    if (engine === 'redis') {
      const raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
      try {
        expect(await scanAll(raw, '*bitop_*')).toEqual([]);
      } finally {
        raw.disconnect();
      }
    }
  });
});
