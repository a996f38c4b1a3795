// Breakdowns: the count or series of every event under a name prefix, and a counter's top keys as series.

import { counterBreakdown, countBreakdown, seriesBreakdown } from '../resolvers/breakdown.ts';
import type { BreakdownCountData, BreakdownSeriesData, CounterBreakdownData } from '../resolvers/breakdown.ts';
import { builder } from './builder.ts';
import { live, same } from './live.ts';
import { PeriodInput, timeZoneArg } from './periods.ts';
import { SeriesPoint, periodRangeArgs } from './series.ts';
import type { ArgBuilder } from './series.ts';
import { SetExpr } from './sets.ts';

const nameFields = {
  name: 'The event’s whole name.',
  value: 'The part of the name after the prefix (e.g. `gh` for `launch:provider:gh` under `launch:provider:`).',
};

const BreakdownCount = builder.objectRef<BreakdownCountData>('BreakdownCount').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: nameFields.name }),
    value: t.exposeString('value', { description: nameFields.value }),
    count: t.field({ type: 'Count', resolve: (b) => b.count }),
  }),
});

const BreakdownSeries = builder.objectRef<BreakdownSeriesData>('BreakdownSeries').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: nameFields.name }),
    value: t.exposeString('value', { description: nameFields.value }),
    total: t.field({ type: 'Count', description: 'Sum of the points’ counts (what the values are sorted by).', resolve: (b) => b.total }),
    points: t.field({ type: [SeriesPoint], resolve: (b) => b.points }),
  }),
});

const CounterBreakdownSeries = builder.objectRef<CounterBreakdownData>('CounterBreakdownSeries').implement({
  fields: (t) => ({
    key: t.string({ nullable: true, description: 'The counter key; null for the last series, every other key.', resolve: (b) => b.key }),
    other: t.boolean({ description: 'True for the series of every key outside the top ones (the total less them).', resolve: (b) => b.key === null }),
    total: t.field({ type: 'Count', description: 'Sum of the points’ counts.', resolve: (b) => b.total }),
    points: t.field({ type: [SeriesPoint], resolve: (b) => b.points }),
  }),
});

const prefixArg = (t: ArgBuilder) =>
  t.arg.string({
    required: true,
    description: 'Every event whose name starts with this is a value (found by SCAN, as `events(prefix:)`); at most MAX_BREAKDOWN_VALUES of them.',
  });

const filterArg = (t: ArgBuilder) =>
  t.arg({ type: SetExpr, description: 'ANDed with every value’s event, e.g. only active users.' });

// The same three, live: evaluated again when a key they read changes, or when a key appears under
// the prefix that the last listing did not hold (a new event, or a known one's new period).
builder.subscriptionFields((t) => ({
  countBreakdown: t.field({
    type: [BreakdownCount],
    description: 'The query `countBreakdown`, live: again when a count changes or a new event under `prefix` appears.',
    args: { prefix: prefixArg(t), period: t.arg({ type: PeriodInput, required: true }), set: filterArg(t), timeZone: timeZoneArg(t) },
    subscribe: (_, args, ctx) => live(ctx, 'countBreakdown', args, (c) => countBreakdown(c, args.prefix, args.period, args.set, args.timeZone)),
    resolve: same,
  }),
  seriesBreakdown: t.field({
    type: [BreakdownSeries],
    description: 'The query `seriesBreakdown`, live: again when a point changes, a period ends (without `to`) or a new event under `prefix` appears.',
    args: { prefix: prefixArg(t), set: filterArg(t), ...periodRangeArgs(t), timeZone: timeZoneArg(t) },
    subscribe: (_, args, ctx) =>
      live(ctx, 'seriesBreakdown', args, (c) => {
        const { prefix, set, rollingAverage, ...range } = args;
        return seriesBreakdown(c, prefix, set, range, rollingAverage);
      }),
    resolve: same,
  }),
  counterBreakdown: t.field({
    type: [CounterBreakdownSeries],
    description: 'The query `counterBreakdown`, live: again when the counter changes (the top keys may change with it) or a period ends (without `to`).',
    args: {
      name: t.arg.string({ required: true }),
      top: t.arg.int({ description: 'How many keys get a series of their own (default 10), the highest over the whole range.' }),
      ...periodRangeArgs(t),
      timeZone: timeZoneArg(t),
    },
    subscribe: (_, args, ctx) =>
      live(ctx, 'counterBreakdown', args, (c) => {
        const { name, top, rollingAverage, ...range } = args;
        return counterBreakdown(c, name, range, rollingAverage, top);
      }),
    resolve: same,
  }),
}));

builder.queryFields((t) => ({
  countBreakdown: t.field({
    type: [BreakdownCount],
    description:
      'The count of every event under `prefix` in `period` (optionally within `set`), highest first, then by name; all in one program. More than MAX_BREAKDOWN_VALUES events: TOO_COMPLEX.',
    args: { prefix: prefixArg(t), period: t.arg({ type: PeriodInput, required: true }), set: filterArg(t), timeZone: timeZoneArg(t) },
    resolve: (_, { prefix, period, set, timeZone }, ctx) => countBreakdown(ctx, prefix, period, set, timeZone),
  }),
  seriesBreakdown: t.field({
    type: [BreakdownSeries],
    description:
      'The series of every event under `prefix` (optionally within `set`: its event leaves without a period are bound to each point), highest total first, then by name; all in one program. More than MAX_BREAKDOWN_VALUES events: TOO_COMPLEX.',
    args: { prefix: prefixArg(t), set: filterArg(t), ...periodRangeArgs(t), timeZone: timeZoneArg(t) },
    resolve: (_, { prefix, set, rollingAverage, ...range }, ctx) => seriesBreakdown(ctx, prefix, set, range, rollingAverage),
  }),
  counterBreakdown: t.field({
    type: [CounterBreakdownSeries],
    description:
      'A series for each of the `top` keys of a counter over the whole range (default 10, at most MAX_BREAKDOWN_VALUES), highest total first, then a last series of every other key (`other: true`).',
    args: {
      name: t.arg.string({ required: true }),
      top: t.arg.int({ description: 'How many keys get a series of their own (default 10), the highest over the whole range.' }),
      ...periodRangeArgs(t),
      timeZone: timeZoneArg(t),
    },
    resolve: (_, { name, top, rollingAverage, ...range }, ctx) => counterBreakdown(ctx, name, range, rollingAverage, top),
  }),
}));
