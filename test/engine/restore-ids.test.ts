// restoreIds (copying a string-id mapping) refuses pairs that contradict each other, on every engine.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

async function mapping(t: TestGateway): Promise<Array<[string, number]>> {
  const all: Array<[string, number]> = [];
  for await (const batch of t.engine.idPairs()) all.push(...batch);
  return all.sort((a, b) => a[1] - b[1]);
}

describe.each(ENGINES)('restoreIds on %s', (engine) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, config: { idMapping: true } });
  });
  afterAll(async () => t.close());

  it('refuses two external ids for one dense id, or two dense ids for one external id, and stores none of them', async () => {
    await t.engine.restoreIds([['kept', 0]]);
    await expect(t.engine.restoreIds([['x', 1], ['y', 1]])).rejects.toThrow(/contradicts/);
    await expect(t.engine.restoreIds([['x', 1], ['x', 2]])).rejects.toThrow(/contradicts/);
    expect(await mapping(t)).toEqual([['kept', 0]]);
    expect(await t.engine.externalIds([0, 1, 2])).toEqual(['kept', null, null]);
  });

  it('takes a repeated pair that agrees with itself', async () => {
    await t.engine.restoreIds([['z', 5], ['z', 5]]);
    expect(await t.engine.resolveIds(['z'], false)).toEqual([5]);
  });
});
