// Per-request context: the shared services and this request's set loader.

import DataLoader from 'dataloader';
import type { Engine } from './bitmap/engines/engine.ts';
import type { KeyLayout } from './bitmap/keys.ts';
import type { TimeZone } from './bitmap/period.ts';
import { plan } from './bitmap/plan.ts';
import type { Answer, Query } from './bitmap/plan.ts';
import type { SetContext, SetLimits } from './bitmap/sets.ts';
import type { Config } from './config.ts';

/** What every request shares. */
export interface Services {
  readonly config: Config;
  readonly engine: Engine;
  readonly layout: KeyLayout;
  readonly tz: TimeZone;
  readonly limits: SetLimits;
  readonly now: () => number;
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
}

export function createContext(services: Services): Context {
  // One loader key is a field's whole list of questions; the planner merges equal questions.
  const batches = new DataLoader<readonly Query[], Answer[]>(
    async (lists) => {
      const p = plan(lists.flat());
      const answers = p.answer(await services.engine.run(p.program));
      let at = 0;
      return lists.map((l) => answers.slice(at, (at += l.length)));
    },
    { cache: false, maxBatchSize: Infinity },
  );
  const now = services.now();
  return {
    services,
    ask: (queries) => (queries.length ? batches.load(queries) : Promise.resolve([])),
    setContext: { layout: services.layout, tz: services.tz, now, limits: services.limits },
  };
}
