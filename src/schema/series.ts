// Series: one count per period, with an optional rolling average.

import { series } from '../resolvers/analytics.ts';
import type { SeriesPointData } from '../resolvers/analytics.ts';
import { builder } from './builder.ts';
import { GranularityEnum, PeriodType, timeZoneArg } from './periods.ts';
import { SetExpr } from './sets.ts';

export const SeriesPoint = builder.objectRef<SeriesPointData>('SeriesPoint').implement({
  fields: (t) => ({
    period: t.field({ type: PeriodType, resolve: (p) => p.period }),
    count: t.field({ type: 'Count', resolve: (p) => p.count }),
    average: t.float({
      nullable: true,
      description:
        'Mean of the counts of the `rollingAverage` periods ending with this one. The periods before the first point are read for it, so every point has one; null without `rollingAverage`, or where the window would start before the year 0000.',
      resolve: (p) => p.average,
    }),
  }),
});

/** Arguments that pick consecutive periods, shared by series and counterSeries. */
export const periodRangeArgs = (t: ArgBuilder) => ({
  granularity: t.arg({ type: GranularityEnum, required: true }),
  from: t.arg({ type: 'DateTime', description: 'First point’s period (inclusive).' }),
  to: t.arg({ type: 'DateTime', description: 'Last point’s period (inclusive; default now).' }),
  last: t.arg.int({ description: 'The last N periods, ending with `to` (default: the current period); default 30 when there is no `from`.' }),
  rollingAverage: t.arg.int({ description: 'Window of the rolling average, in periods (e.g. 7), at most MAX_POINTS; each point averages this many periods, its own and those before it.' }),
});

type QueryFieldBuilder = Parameters<Parameters<typeof builder.queryField>[1]>[0];
/** What makes arguments: the same for query and subscription fields. */
export type ArgBuilder = Pick<QueryFieldBuilder, 'arg'>;

builder.queryField('series', (t) =>
  t.field({
    type: [SeriesPoint],
    description:
      'One count per period. Event leaves of `set` without a period are bound to each point’s period (`shift: -1`: the period before it).',
    args: { set: t.arg({ type: SetExpr, required: true }), ...periodRangeArgs(t), timeZone: timeZoneArg(t) },
    resolve: (_, { set, rollingAverage, ...range }, ctx) => series(ctx, set, range, rollingAverage),
  }),
);
