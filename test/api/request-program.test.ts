// "This request becomes this program": a whole GraphQL request is planned into one printed program.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Program } from '../../src/bitmap/program.ts';
import { printProgram } from '../../src/bitmap/program.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

describe('a request becomes one program', () => {
  let t: TestGateway;
  const programs: Program[] = [];
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', now: Date.parse('2026-11-22T09:05:00Z') });
    const run = t.engine.run.bind(t.engine);
    t.engine.run = (p) => {
      programs.push(p);
      return run(p);
    };
  });
  afterAll(() => t.close());

  it('computes the shared week once, reads leaf counts directly, answers membership by bits', async () => {
    const week = (e: string) => `{ event: { name: "${e}", period: { current: WEEK } } }`;
    const r = await t.gql(`{
      a: count(set: { and: [${week('active')}, ${week('paid')}] })
      b: count(set: { and: [${week('paid')}, ${week('active')}, ${week('active')}] })
      c: count(set: { minus: { from: ${week('active')}, subtract: [${week('paid')}] } })
      d: count(set: ${week('active')})
      e: contains(set: { or: [${week('active')}, ${week('paid')}] }, userId: 7)
      f: hasEvents(set: { xor: [${week('active')}, ${week('paid')}, ${week('paid')}] })
    }`);
    expect(r.errors).toBeUndefined();
    expect(programs).toHaveLength(1);
    const k = (e: string) => `${t.prefix}${e}_W2026-47`;
    expect(printProgram(programs[0]!)).toBe(
      [
        `r0 = and ${k('active')} ${k('paid')}`,
        `out count r0`, // a and b are one set: one output
        `r0 = diff ${k('active')} ${k('paid')}`,
        `out count r0`,
        `out count ${k('active')}`,
        `out getbit ${k('active')} 7`,
        `out getbit ${k('paid')} 7`,
        `out any ${k('active')}`, // xor(a, p, p) is a
      ].join('\n'),
    );
    expect(r.data).toEqual({ a: 0, b: 0, c: 0, d: 0, e: false, f: false });
  });
});
