// Hostile anonymous reads (issue #12): refused from the request's shape before a key is named, in the same tick, while /health answers.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markWrites } from '../../src/bitmap/events.ts';
import type { KeyLayout } from '../../src/bitmap/keys.ts';
import { createContext } from '../../src/context.ts';
import { cohort, funnel, series } from '../../src/resolvers/analytics.ts';
import { countSet, memberPage } from '../../src/resolvers/sets.ts';
import type { SetSpec } from '../../src/bitmap/sets.ts';
import { testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const DAY_MS = 86_400_000;
const ANONYMOUS = {}; // no Authorization header: the caller

/** The set: an `or` of 999 ranges of 2000 days (1,000 nodes, the most one expression may have). */
const RANGES_999 = `{ or: [${Array.from({ length: 999 }, (_, i) => `{ range: { name: "r${i}", granularity: DAY, last: 2000 } }`).join(', ')}] }`;
const RANGES_999_SPEC: SetSpec = { or: Array.from({ length: 999 }, (_, i) => ({ range: { name: `r${i}`, granularity: 'DAY' as const, last: 2000 } })) };
const HOSTILE = {
  series10: `{ series(set: ${RANGES_999}, granularity: DAY, last: 10) { count } }`,
  series1: `{ series(set: ${RANGES_999}, granularity: DAY, last: 1) { count } }`,
  aliases: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: count(set: { range: { name: "r${i}", granularity: DAY, last: 2000 } })`).join(' ')} }`,
};

/** Counts the key names the gateway builds (event and counter keys), so "refused before a key is named" can be asserted. */
function countKeyNames(layout: KeyLayout): { readonly named: number; reset(): void } {
  let named = 0;
  const { eventKeys, counterKeys } = layout;
  Object.assign(layout, {
    eventKeys: (name: string, p: Parameters<KeyLayout['eventKeys']>[1]) => {
      named++;
      return eventKeys(name, p);
    },
    counterKeys: (name: string, p: Parameters<KeyLayout['counterKeys']>[1]) => {
      named++;
      return counterKeys(name, p);
    },
  });
  return {
    get named() {
      return named;
    },
    reset: () => {
      named = 0;
    },
  };
}

const only = (r: GqlResult): NonNullable<GqlResult['errors']>[number] => {
  expect(r.errors, JSON.stringify(r).slice(0, 500)).toHaveLength(1);
  return r.errors![0]!;
};

describe('hostile reads are refused from their shape, before any key is named', () => {
  let t: TestGateway;
  let keys: ReturnType<typeof countKeyNames>;
  // Users 0..39 were active on day d (d = 0..19 days before NOW) when id % (d + 1) === 0: the reference is plain Sets.
  const activeOn = (daysAgo: number): Set<number> => new Set(Array.from({ length: 40 }, (_, i) => i).filter((i) => i % (daysAgo + 1) === 0));

  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', now: NOW });
    const { layout, tz } = t.gateway.services;
    const marks = [];
    for (let d = 0; d < 20; d++) for (const userId of activeOn(d)) marks.push({ name: 'r7', userId, at: NOW - d * DAY_MS, hourly: false, unique: false });
    await t.engine.write(markWrites(layout, tz, marks, 1));
    keys = countKeyNames(layout);
  });
  afterAll(() => t.close());

  /** After every hostile request the gateway still answers, with the right numbers. */
  async function stillAnswers(): Promise<void> {
    const r = await t.gql('{ week: count(set: { range: { name: "r7", granularity: DAY, last: 7 } }) one: count(set: { ids: [1, 2, 3] }) }', undefined, ANONYMOUS);
    const week = new Set(Array.from({ length: 7 }, (_, d) => [...activeOn(d)]).flat());
    expect(r).toEqual({ data: { week: week.size, one: 3 } });
  }

  it('an `or` of 999 two-thousand-day ranges in a 10-point series (81 s and out of memory before)', async () => {
    keys.reset();
    const e = only(await t.gql(HOSTILE.series10, undefined, ANONYMOUS));
    expect(keys.named).toBe(0);
    // 10 points × 999 leaves × 2000 days each.
    expect(e.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 10 * 999 * 2000, limit: 50_000 });
    expect(e.message).toMatch(/the request costs at least 19980000 .*the limit is 50000/);
    expect(e.path).toEqual(['series']);
    await stillAnswers();
  });

  it('the same set in a 1-point series (blocked the event loop for 5–7 s before)', async () => {
    keys.reset();
    const e = only(await t.gql(HOSTILE.series1, undefined, ANONYMOUS));
    expect(keys.named).toBe(0);
    expect(e.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 999 * 2000, limit: 50_000 });
    await stillAnswers();
  });

  it('1,000 aliased counts of a 2000-day range: refused at the 26th, the first past 50,000', async () => {
    keys.reset();
    const e = only(await t.gql(HOSTILE.aliases, undefined, ANONYMOUS));
    expect(keys.named).toBe(0);
    expect(e.extensions).toMatchObject({ code: 'TOO_COMPLEX', cost: 26 * 2000, limit: 50_000 });
    expect(e.path).toEqual(['a25']);
    await stillAnswers();
  });

  it('/health answers while a hostile request is refused: the event loop is never held for long', async () => {
    const server = http.createServer(t.gateway.yoga);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    try {
      const hostile = (): Promise<GqlResult> =>
        fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query: HOSTILE.series1 }),
        }).then(async (res) => (await res.json()) as GqlResult);
      await hostile(); // once cold, so what is measured is the refusal, not the first parse of a large document
      loop.enable();
      const [refused, health] = await Promise.all([
        hostile(),
        fetch(`http://127.0.0.1:${port}/health`).then(async (res) => ({ status: res.status, text: await res.text() })),
      ]);
      loop.disable();
      expect(health.status).toBe(200);
      expect(only(refused).extensions?.code).toBe('TOO_COMPLEX');
      // Before, resolving that one request held the loop (and /health with it) for 5–7 s; parsing and
      // refusing it takes milliseconds. 2 s leaves room for a loaded machine.
      expect(loop.max / 1e6).toBeLessThan(2000);
    } finally {
      loop.disable();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await stillAnswers();
  });

  describe('the resolvers check the cost before they name a key, too (the second line, without the plugin)', () => {
    const ctx = () => createContext(t.gateway.services);
    const tooComplex = async (p: Promise<unknown>): Promise<void> => {
      await expect(p).rejects.toMatchObject({ code: 'TOO_COMPLEX' });
    };

    it('count, members, series, cohort and funnel of the issue’s set', async () => {
      keys.reset();
      await tooComplex(countSet(ctx(), RANGES_999_SPEC));
      await tooComplex(memberPage(ctx(), RANGES_999_SPEC, 10, null));
      await tooComplex(series(ctx(), RANGES_999_SPEC, { granularity: 'DAY', last: 10 }, null));
      await tooComplex(cohort(ctx(), { cohort: RANGES_999_SPEC, activity: { event: { name: 'a' } }, granularity: 'DAY', rows: 3 }));
      await tooComplex(funnel(ctx(), [RANGES_999_SPEC, RANGES_999_SPEC]));
      expect(keys.named).toBe(0);
    });

    it('fields of one request add up: the 26th 2000-day count is refused before it names its keys', async () => {
      const c = ctx();
      keys.reset();
      const answers = Array.from({ length: 30 }, (_, i) => countSet(c, { range: { name: `r${i}`, granularity: 'DAY', last: 2000 } }));
      const settled = await Promise.allSettled(answers);
      // The request went over: the 25 admitted fields' batch is refused with it, before it is planned.
      expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as { code?: string }).code : 'answered'))).toEqual(Array(30).fill('TOO_COMPLEX'));
      expect(keys.named).toBe(25 * 2000);
    });

    it('a YEAR range over the per-leaf limit is refused before its month keys are named', async () => {
      keys.reset();
      await expect(countSet(ctx(), { range: { name: 'r1', granularity: 'YEAR', last: 200 } })).rejects.toMatchObject({
        code: 'TOO_COMPLEX',
        message: expect.stringContaining('2400 periods'),
      });
      expect(keys.named).toBe(0);
    });
  });
});
