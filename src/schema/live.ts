// Subscriptions: the queries count, hasEvents, series, cohort, funnel, counters and counterSeries, kept live (src/live.ts); breakdowns are in breakdown.ts.

import type { Context } from '../context.ts';
import type { Answer, Evaluate } from '../live.ts';
import { cohort, funnel, series } from '../resolvers/analytics.ts';
import { counterSeries, topCounters } from '../resolvers/counters.ts';
import { countSet, hasMembers } from '../resolvers/sets.ts';
import { builder } from './builder.ts';
import { CohortTable, FunnelStep, cohortArgs } from './cohort.ts';
import { CounterValue } from './counters.ts';
import { PeriodInput, timeZoneArg } from './periods.ts';
import { SeriesPoint, periodRangeArgs } from './series.ts';
import { SetExpr } from './sets.ts';

/** Who a subscription counts against (LIVE_MAX_PER_KEY): its API key, or every anonymous caller together. */
const ownerOf = (ctx: Context): string => (ctx.auth.principal.kind === 'key' ? `key ${ctx.auth.principal.name}` : 'anonymous');

/** A field's stream of answers: the registry shares one evaluation among equal questions. */
export function live<T>(ctx: Context, field: string, args: unknown, evaluate: (ctx: Context) => Promise<T>): Promise<AsyncIterable<Answer<T>>> {
  return ctx.services.live.subscribe(field, args, ownerOf(ctx), evaluate as Evaluate) as Promise<AsyncIterable<Answer<T>>>;
}

/** A live field's resolver: the shared answer as it is. */
export const same = <T>(a: Answer<T>): T => a.value;

builder.subscriptionFields((t) => {
  const range = periodRangeArgs(t);
  return {
    count: t.field({
      type: 'Count',
      description: 'The query `count`, live.',
      args: { set: t.arg({ type: SetExpr, required: true }), timeZone: timeZoneArg(t) },
      subscribe: (_, args, ctx) => live(ctx, 'count', args, (c) => countSet(c, args.set, undefined, args.timeZone)),
      resolve: same,
    }),
    hasEvents: t.boolean({
      description: 'The query `hasEvents`, live.',
      args: { set: t.arg({ type: SetExpr, required: true }), timeZone: timeZoneArg(t) },
      subscribe: (_, args, ctx) => live(ctx, 'hasEvents', args, (c) => hasMembers(c, args.set, undefined, args.timeZone)),
      resolve: same,
    }),
    series: t.field({
      type: [SeriesPoint],
      description: 'The query `series`, live: the current period’s point as writes arrive, and a new point when a period ends (without `to`).',
      args: { set: t.arg({ type: SetExpr, required: true }), ...range, timeZone: timeZoneArg(t) },
      subscribe: (_, args, ctx) =>
        live(ctx, 'series', args, (c) => {
          const { set, rollingAverage, ...r } = args;
          return series(c, set, r, rollingAverage);
        }),
      resolve: same,
    }),
    cohort: t.field({
      type: CohortTable,
      description: 'The query `cohort`, live.',
      args: cohortArgs(t),
      subscribe: (_, args, ctx) => live(ctx, 'cohort', args, (c) => cohort(c, args)),
      resolve: same,
    }),
    funnel: t.field({
      type: [FunnelStep],
      description: 'The query `funnel`, live.',
      args: { steps: t.arg({ type: [SetExpr], required: true }), timeZone: timeZoneArg(t) },
      subscribe: (_, args, ctx) => live(ctx, 'funnel', args, (c) => funnel(c, args.steps, args.timeZone)),
      resolve: same,
    }),
    counters: t.field({
      type: [CounterValue],
      description: 'The query `counters`, live.',
      args: {
        name: t.arg.string({ required: true }),
        period: t.arg({ type: PeriodInput, required: true }),
        top: t.arg.int(),
        timeZone: timeZoneArg(t),
      },
      subscribe: (_, args, ctx) => live(ctx, 'counters', args, (c) => topCounters(c, args.name, args.period, args.top, args.timeZone)),
      resolve: same,
    }),
    counterSeries: t.field({
      type: [SeriesPoint],
      description: 'The query `counterSeries`, live.',
      args: { name: t.arg.string({ required: true }), key: t.arg.string(), ...range, timeZone: timeZoneArg(t) },
      subscribe: (_, args, ctx) =>
        live(ctx, 'counterSeries', args, (c) => {
          const { name, key, rollingAverage, ...r } = args;
          return counterSeries(c, name, key, r, rollingAverage);
        }),
      resolve: same,
    }),
  };
});
