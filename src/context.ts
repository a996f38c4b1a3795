// Per-request context: the shared services and this request's set loader.

import DataLoader from 'dataloader';
import type { Engine } from './bitmap/engines/engine.ts';
import type { KeyLayout } from './bitmap/keys.ts';
import type { TimeZone } from './bitmap/period.ts';
import { planOnce } from './bitmap/plan.ts';
import type { Answer, Query } from './bitmap/plan.ts';
import type { SetContext, SetLimits } from './bitmap/sets.ts';
import type { Config } from './config.ts';
import { authenticate } from './auth.ts';
import type { Auth } from './auth.ts';
import { costMeter } from './limits.ts';
import type { CostMeter } from './limits.ts';
import type { LiveRegistry } from './live.ts';

/**
 * Writes storage acknowledged, reported by the code that made them (so a metric does not hang on
 * which GraphQL field asked for them).
 */
export interface WriteTally {
  /** Marks acknowledged: `mark` sets their bits, `unmark` clears them. */
  marks(action: 'mark' | 'unmark', n: number): void;
  /** Counter increments acknowledged (one per hit, however many period hashes it adds to). */
  counterIncrements(n: number): void;
}

/** What every request shares. */
export interface Services {
  readonly config: Config;
  readonly engine: Engine;
  readonly tally: WriteTally;
  readonly layout: KeyLayout;
  readonly tz: TimeZone;
  readonly limits: SetLimits;
  readonly now: () => number;
  /** Subscriptions: shared evaluations kept live (src/live.ts). */
  readonly live: LiveRegistry;
}

export interface Context {
  readonly services: Services;
  /**
   * Every question of the request, gathered over one tick and run as one program: a field asks
   * one question, a series or cohort all of its points and cells at once.
   */
  ask(queries: readonly Query[]): Promise<Answer[]>;
  /** Resolution context for set expressions, with the request's clock fixed. */
  readonly setContext: SetContext;
  /** Who the request is and its scopes, from the Authorization header (src/auth.ts). */
  readonly auth: Auth;
  /** The request's cost so far against MAX_COST (see src/limits.ts); ask() charges it. */
  readonly cost: CostMeter;
  /** String ids, looked up (never assigned) in one call per request: dense id of an external id, or null. */
  readonly idOf: DataLoader<string, number | null>;
  /** The external id of a dense id, or null; one call per request. */
  readonly externalOf: DataLoader<number, string | null>;
}

/** Throws UNAUTHENTICATED for a malformed Authorization header or an unknown key (never falls back to anonymous). */
export function createContext(services: Services, request?: { readonly headers: { get(name: string): string | null } }): Context {
  const auth = authenticate(services.config, request?.headers.get('authorization'));
  // One loader key is a field's whole list of questions; the planner merges equal questions.
  const batches = new DataLoader<readonly Query[], Answer[]>(
    async (lists) => {
      cost.assertWithin(); // a later field of the request went over: the whole batch is refused
      const p = planOnce(lists.flat());
      const answers = p.answer(await services.engine.run(p.program));
      let at = 0;
      return lists.map((l) => answers.slice(at, (at += l.length)));
    },
    { cache: false, maxBatchSize: Infinity },
  );
  const now = services.now();
  const cost = costMeter(services.config.maxCost);
  const idOf = new DataLoader<string, number | null>((externals) => services.engine.resolveIds(externals, false), {
    maxBatchSize: 10_000,
  });
  const externalOf = new DataLoader<number, string | null>((ids) => services.engine.externalIds(ids), { maxBatchSize: 10_000 });
  return {
    services,
    auth,
    cost,
    idOf,
    externalOf,
    ask: (queries) => {
      if (!queries.length) return Promise.resolve([]);
      try {
        cost.charge(queries);
      } catch (e) {
        return Promise.reject(e as Error);
      }
      return batches.load(queries);
    },
    setContext: { layout: services.layout, tz: services.tz, now, limits: services.limits },
  };
}
