// Cohort tables (bitmapist get_dates_data) and funnels.

import { cohort, funnel } from '../resolvers/analytics.ts';
import type { CohortResult } from '../resolvers/analytics.ts';
import type { CohortRowData, FunnelStepData } from '../bitmap/analytics.ts';
import type { Period } from '../bitmap/period.ts';
import { builder } from './builder.ts';
import { GranularityEnum, PeriodType, timeZoneArg } from './periods.ts';
import { SetExpr } from './sets.ts';
import type { ArgBuilder } from './series.ts';

const CohortRow = builder.objectRef<CohortRowData & { period: Period }>('CohortRow').implement({
  fields: (t) => ({
    period: t.field({ type: PeriodType, resolve: (r) => r.period }),
    size: t.field({ type: 'Count', description: 'Users in the cohort.', resolve: (r) => r.size }),
    cells: t.field({
      type: ['Float'],
      nullable: { list: false, items: true },
      description:
        'Cell k: cohort members active k periods later, as a count or percent of size; null where the cohort is empty or that period has no activity data at all (the future).',
      resolve: (r) => r.cells,
    }),
  }),
});

export const CohortTable = builder.objectRef<CohortResult>('CohortTable').implement({
  fields: (t) => ({
    rows: t.field({ type: [CohortRow], resolve: (c) => c.rows.map((r, i) => ({ ...r, period: c.periods[i]! })) }),
    average: t.field({
      type: ['Float'],
      nullable: { list: false, items: true },
      description: 'Per column, the mean of its non-null cells.',
      resolve: (c) => c.average,
    }),
    csv: t.string({ description: 'The table as CSV: period, size, one column per offset, then the averages.', resolve: (c) => c.csv }),
  }),
});

/** The cohort's arguments, for the query and its live subscription alike. */
export const cohortArgs = (t: ArgBuilder) => ({
  cohort: t.arg({ type: SetExpr, required: true }),
  activity: t.arg({ type: SetExpr, required: true }),
  granularity: t.arg({ type: GranularityEnum, required: true }),
  rows: t.arg.int(),
  columns: t.arg.int(),
  from: t.arg({ type: 'DateTime' }),
  to: t.arg({ type: 'DateTime' }),
  asPercent: t.arg.boolean({ description: 'Cells as percent of the row size (default: counts).' }),
  timeZone: timeZoneArg(t),
});

builder.queryField('cohort', (t) =>
  t.field({
    type: CohortTable,
    description:
      'Retention table. Rows are cohort periods, oldest first (`from` is the first row, `to` the last; neither: the last row is the current period; default 12 rows). Cell k = |cohort(p) ∧ activity(p+k)|, k = 0..columns-1 (default: as many columns as rows). Event leaves without a period bind to p in `cohort` and to p+k in `activity`.',
    args: cohortArgs(t),
    resolve: (_, args, ctx) => cohort(ctx, args),
  }),
);

export const FunnelStep = builder.objectRef<FunnelStepData>('FunnelStep').implement({
  fields: (t) => ({
    count: t.field({ type: 'Count', description: 'Users in this step and every step before it.', resolve: (s) => s.count }),
    fromPrevious: t.float({ nullable: true, description: 'count / the previous step’s count (0..1).', resolve: (s) => s.fromPrevious }),
    fromFirst: t.float({ nullable: true, description: 'count / the first step’s count (0..1).', resolve: (s) => s.fromFirst }),
  }),
});

builder.queryField('funnel', (t) =>
  t.field({
    type: [FunnelStep],
    description:
      'Step k counts the users in steps 1..k (an AND). Bitmaps record whether, not when within a period: a funnel over sets of one period cannot tell the order of events inside it; give later steps later periods to enforce order.',
    args: { steps: t.arg({ type: [SetExpr], required: true }), timeZone: timeZoneArg(t) },
    resolve: (_, { steps, timeZone }, ctx) => funnel(ctx, steps, timeZone),
  }),
);
