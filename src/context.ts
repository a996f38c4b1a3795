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
  /** Every set and counter query of the request, gathered and run as one program. */
  readonly sets: DataLoader<Query, Answer, string>;
  /** Resolution context for set expressions, with the request's clock fixed. */
  readonly setContext: SetContext;
}

const signature = (q: Query): string => {
  switch (q.kind) {
    case 'contains':
      return `contains ${q.id} ${q.expr.text}`;
    case 'members':
      return `members ${q.after} ${q.limit} ${q.expr.text}`;
    case 'counter':
      return `counter ${JSON.stringify(q.field)} ${q.keys.join(' ')}`;
    case 'counterTop':
      return `counterTop ${q.top} ${q.keys.join(' ')}`;
    default:
      return `${q.kind} ${q.expr.text}`;
  }
};

export function createContext(services: Services): Context {
  const sets = new DataLoader<Query, Answer, string>(
    async (queries) => {
      const p = plan(queries);
      return p.answer(await services.engine.run(p.program));
    },
    { cacheKeyFn: signature, maxBatchSize: Infinity },
  );
  const now = services.now();
  return {
    services,
    sets,
    setContext: { layout: services.layout, tz: services.tz, now, limits: services.limits },
  };
}
