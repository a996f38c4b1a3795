// Counters: occurrences per key and period (hour, day, week, month), top keys and series.

import { counterNames, counterSeries, incrementCounters, topCounters } from '../resolvers/counters.ts';
import { builder } from './builder.ts';
import { PeriodInput, timeZoneArg } from './periods.ts';
import { SeriesPoint, periodRangeArgs } from './series.ts';

const CounterIncrementInput = builder.inputType('CounterIncrementInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Counter name (the rules of event names).' }),
    key: t.string({ required: true, description: 'What is counted, e.g. a song id (1-500 characters).' }),
    by: t.int({ description: 'How much to add, at least 1 (default 1).' }),
    at: t.field({ type: 'DateTime', description: 'When (default: now).' }),
  }),
});

const CounterResult = builder.objectRef<{ incremented: number; replayed: boolean }>('CounterResult').implement({
  fields: (t) => ({
    incremented: t.exposeInt('incremented', { description: 'How many increments were applied (by this call, or by the first call under its idempotencyKey).' }),
    replayed: t.exposeBoolean('replayed', {
      description: 'True when this idempotencyKey had been applied already: nothing was applied again.',
    }),
  }),
});

const idempotencyKeyDescription =
  'Applies the batch at most once: a retry with the same key (within 24 hours) is acknowledged with replayed: true and counts nothing; the same key with another batch is refused (IDEMPOTENCY_CONFLICT). 1-200 characters.';

export const CounterValue = builder.objectRef<{ key: string; value: number }>('CounterValue').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.field({ type: 'Count', resolve: (v) => v.value }),
  }),
});

builder.mutationFields((t) => ({
  incrementCounter: t.field({
    type: CounterResult,
    description: 'Adds `by` to counter `name` for `key` in its hour, day, ISO week and month.',
    args: {
      name: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      by: t.arg.int(),
      at: t.arg({ type: 'DateTime' }),
      idempotencyKey: t.arg.string({ description: idempotencyKeyDescription }),
    },
    resolve: (_, { idempotencyKey, ...args }, ctx) => incrementCounters(ctx, [args], idempotencyKey),
  }),
  incrementCounters: t.field({
    type: CounterResult,
    description: 'Many increments in one round trip, validated whole: one bad item and nothing is written.',
    args: {
      input: t.arg({ type: [CounterIncrementInput], required: true }),
      idempotencyKey: t.arg.string({ description: idempotencyKeyDescription }),
    },
    resolve: (_, { input, idempotencyKey }, ctx) => incrementCounters(ctx, input, idempotencyKey),
  }),
}));

builder.queryFields((t) => ({
  counterNames: t.stringList({
    description: 'Counters that have data, by name (optionally those starting with `prefix`); found by SCAN, never KEYS.',
    args: { prefix: t.arg.string() },
    resolve: (_, { prefix }, ctx) => counterNames(ctx, prefix),
  }),
  counters: t.field({
    type: [CounterValue],
    description: 'The `top` keys of a counter in a period (default 10), highest first. A YEAR sums its months.',
    args: {
      name: t.arg.string({ required: true }),
      period: t.arg({ type: PeriodInput, required: true }),
      top: t.arg.int(),
      timeZone: timeZoneArg(t),
    },
    resolve: (_, { name, period, top, timeZone }, ctx) => topCounters(ctx, name, period, top, timeZone),
  }),
  counterSeries: t.field({
    type: [SeriesPoint],
    description: 'One value per period: the count of `key`, or with no key the total of all keys.',
    args: { name: t.arg.string({ required: true }), key: t.arg.string(), ...periodRangeArgs(t), timeZone: timeZoneArg(t) },
    resolve: (_, { name, key, rollingAverage, ...range }, ctx) => counterSeries(ctx, name, key, range, rollingAverage),
  }),
}));
