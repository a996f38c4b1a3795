// Timing scenarios: a batch of count expressions and the competitors that answer it.
// To add one, write a CountScenario and append it to COUNT_SCENARIOS. (The 30×30 cohort,
// scenario D, answers a table rather than a list of counts: see cohort.ts.)

import type { Redis } from 'ioredis';
import { gateway, lua, naive, pipeline } from './competitors.ts';
import type { Competitor } from './competitors.ts';
import { SEED, rng, subSeed } from './dataset.ts';
import type { Dataset } from './dataset.ts';
import { and, day, exprText, minus, or, range, xor } from './expr.ts';
import type { BExpr } from './expr.ts';
import type { GatewayProcess } from './gateway-process.ts';

export interface ScenarioContext {
  readonly ds: Dataset;
  /** A client of the bench's redis-server (holds the dataset). */
  readonly redis: Redis;
  /** Gateway over that Redis as configured by default: Lua mode, closed-period cache on. */
  readonly gatewayRedis: GatewayProcess;
  /** The same with CACHE_MB=0: every request is one EVALSHA. */
  readonly gatewayRedisNoCache: GatewayProcess;
  /** Gateway over the same Redis with REDIS_MODE=pipeline (plain commands in one MULTI/EXEC). */
  readonly gatewayRedisPipeline: GatewayProcess;
  /** Gateway with the embedded engine, loaded with the same dataset. */
  readonly gatewayEmbedded: GatewayProcess;
}

export interface CountScenario {
  readonly id: string;
  readonly title: string;
  readonly notes: readonly string[];
  /** The batch of counts (seeded, so identical on every run). */
  exprs(ds: Dataset): BExpr[];
  competitors(ctx: ScenarioContext, exprs: readonly BExpr[]): Promise<Competitor[]>;
  /** Ratios are relative to this competitor. */
  readonly baseline: string;
  readonly speedups: ReadonlyArray<readonly [string, string]>;
}

/** The gateways answering a batch: Redis (cache on, cache off, pipeline mode) and embedded. */
function gatewayCompetitors(ctx: ScenarioContext, exprs: readonly BExpr[]): Competitor[] {
  return [
    gateway('gateway-redis', ctx.gatewayRedis.url, ctx.ds, exprs),
    gateway('gateway-redis-nocache', ctx.gatewayRedisNoCache.url, ctx.ds, exprs),
    gateway('gateway-redis-pipeline', ctx.gatewayRedisPipeline.url, ctx.ds, exprs),
    gateway('gateway-embedded', ctx.gatewayEmbedded.url, ctx.ds, exprs),
  ];
}

/** The six competitors of a dashboard batch. */
async function standardCompetitors(ctx: ScenarioContext, exprs: readonly BExpr[]): Promise<Competitor[]> {
  return [
    naive(ctx.redis, ctx.ds, exprs),
    pipeline(ctx.redis, ctx.ds, exprs),
    await lua(ctx.redis, ctx.ds, exprs, { share: false }),
    ...gatewayCompetitors(ctx, exprs),
  ];
}

/** Picks `n` distinct items of `from` with the PRNG. */
function pick<T>(next: () => number, from: readonly T[], n: number): T[] {
  const pool = [...from];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(next() * pool.length), 1)[0]!);
  return out;
}

const allDayLeaves = (ds: Dataset): BExpr[] => ds.events.flatMap((e) => ds.days.map((_, d) => day(e, d)));

export const dashboard: CountScenario = {
  id: 'A',
  title: 'Scenario A — dashboard, 50 counts',
  notes: [
    '50 seeded counts, each an AND / OR / XOR (a few MINUS) over 2–3 distinct day keys of 1M-bit, 10%-dense bitmaps',
  ],
  exprs(ds) {
    const next = rng(subSeed(SEED, 1001));
    const leaves = allDayLeaves(ds);
    const seen = new Set<string>();
    const out: BExpr[] = [];
    while (out.length < 50) {
      const r = next();
      const op = r < 0.4 ? 'and' : r < 0.65 ? 'or' : r < 0.9 ? 'xor' : 'minus';
      const keys = pick(next, leaves, next() < 0.5 ? 2 : 3);
      const e =
        op === 'minus'
          ? minus(keys.length === 2 ? keys[0]! : and(keys[0]!, keys[1]!), keys[keys.length - 1]!)
          : op === 'and'
            ? and(...keys)
            : op === 'or'
              ? or(...keys)
              : xor(...keys);
      const text = exprText(e);
      if (seen.has(text)) continue;
      seen.add(text);
      out.push(e);
    }
    return out;
  },
  competitors: standardCompetitors,
  baseline: 'lua',
  speedups: [
    ['naive', 'gateway-redis'],
    ['naive', 'gateway-embedded'],
    ['gateway-redis', 'gateway-embedded'],
    ['naive', 'gateway-redis-nocache'],
    ['lua', 'gateway-redis'],
    ['gateway-redis-pipeline', 'gateway-redis-nocache'],
  ],
};

export const sharedSubexpressions: CountScenario = {
  id: 'B',
  title: 'Scenario B — shared sub-expressions, 20 counts',
  notes: [
    '20 counts, each AND( OR of the 7 day keys of "active" , one day key of another event )',
    'the naive, pipeline and lua competitors recompute the 7-key OR for every count; the gateways plan it once',
    'lua-once is the hand-optimised script (OR computed once), shown for reference',
  ],
  exprs(ds) {
    const anchor = ds.events[0]!;
    const next = rng(subSeed(SEED, 1002));
    const others = allDayLeaves(ds).filter((l) => l.kind === 'day' && l.event !== anchor);
    return pick(next, others, 20).map((leaf) => and(range(anchor, 0, ds.days.length - 1), leaf));
  },
  async competitors(ctx, exprs) {
    return [
      naive(ctx.redis, ctx.ds, exprs),
      pipeline(ctx.redis, ctx.ds, exprs),
      await lua(ctx.redis, ctx.ds, exprs, { share: false }),
      await lua(ctx.redis, ctx.ds, exprs, { name: 'lua-once', share: true }),
      ...gatewayCompetitors(ctx, exprs),
    ];
  },
  baseline: 'lua',
  speedups: [
    ['naive', 'gateway-redis'],
    ['naive', 'gateway-embedded'],
    ['lua', 'gateway-redis'],
    ['lua', 'gateway-redis-nocache'],
    ['gateway-redis-pipeline', 'gateway-redis-nocache'],
  ],
};

export const COUNT_SCENARIOS: readonly CountScenario[] = [dashboard, sharedSubexpressions];
