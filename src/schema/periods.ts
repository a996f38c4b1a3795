// Periods: the Granularity enum, PeriodInput, the Period type and the `period` query.

import { periodSuffix } from '../bitmap/keys.ts';
import { GRANULARITIES, formatInstant, periodAt, periodEnd, periodLabel, periodStart, resolveTime, shiftPeriod } from '../bitmap/period.ts';
import type { Period } from '../bitmap/period.ts';
import type { PeriodSpec } from '../bitmap/sets.ts';
import { assertEventName } from '../bitmap/errors.ts';
import { builder } from './builder.ts';

export const GranularityEnum = builder.enumType('Granularity', {
  description: 'Period lengths. WEEK is the ISO week (Monday to Sunday, ISO week-year). YEAR is the union of its 12 months.',
  values: GRANULARITIES,
});

const PeriodAt = builder.inputType('PeriodAt', {
  description: 'The period of this granularity that contains `date`.',
  fields: (t) => ({
    granularity: t.field({ type: GranularityEnum, required: true }),
    date: t.field({ type: 'DateTime', required: true }),
  }),
});

const PeriodAgo = builder.inputType('PeriodAgo', {
  description: 'The period `periods` before the current one (0 = the current period, 1 = the one before).',
  fields: (t) => ({
    granularity: t.field({ type: GranularityEnum, required: true }),
    periods: t.int({ required: true }),
  }),
});

export const PeriodInput = builder.inputRef<PeriodSpec>('PeriodInput').implement({
  description: 'One period, given exactly one way.',
  isOneOf: true,
  fields: (t) => ({
    at: t.field({ type: PeriodAt }),
    current: t.field({ type: GranularityEnum, description: 'The period that contains now.' }),
    ago: t.field({ type: PeriodAgo }),
  }),
});

export const PeriodType = builder.objectRef<Period>('Period');

PeriodType.implement({
  description: 'A calendar period in the gateway time zone.',
  fields: (t) => ({
    granularity: t.field({ type: GranularityEnum, resolve: (p) => p.granularity }),
    start: t.field({ type: 'DateTime', description: 'First instant of the period.', resolve: (p, _, ctx) => formatInstant(periodStart(p, ctx.services.tz), ctx.services.tz) }),
    end: t.field({
      type: 'DateTime',
      description: 'End of the period, exclusive: the first instant of the next period.',
      resolve: (p, _, ctx) => formatInstant(periodEnd(p, ctx.services.tz), ctx.services.tz),
    }),
    label: t.string({ description: 'e.g. 2026-11-22T09, 2026-11-22, 2026-W47, 2026-11, 2026.', resolve: periodLabel }),
    key: t.string({
      nullable: true,
      description: 'The period part of bitmapist keys (2026-11-22-9, 2026-11-22, W2026-47, 2026-11); null for YEAR, which has no key.',
      resolve: (p) => (p.granularity === 'YEAR' ? null : periodSuffix(p)),
    }),
    eventKeys: t.stringList({
      description: 'The storage keys of an event in this period (a YEAR lists its 12 month keys).',
      args: { name: t.arg.string({ required: true }) },
      resolve: (p, { name }, ctx) => ctx.services.layout.eventKeys(assertEventName(name), p),
    }),
    previous: t.field({ type: PeriodType, resolve: (p) => shiftPeriod(p, -1) }),
    next: t.field({ type: PeriodType, resolve: (p) => shiftPeriod(p, 1) }),
    shift: t.field({
      type: PeriodType,
      description: 'The period `by` periods later (negative: earlier).',
      args: { by: t.arg.int({ required: true }) },
      resolve: (p, { by }) => shiftPeriod(p, by),
    }),
  }),
});

builder.queryField('period', (t) =>
  t.field({
    type: PeriodType,
    description: 'The period of a granularity that contains `at` (default: now).',
    args: {
      granularity: t.arg({ type: GranularityEnum, required: true }),
      at: t.arg({ type: 'DateTime' }),
    },
    resolve: (_, { granularity, at }, ctx) => {
      const { tz } = ctx.services;
      return periodAt(granularity, at ? resolveTime(at, tz) : ctx.setContext.now, tz);
    },
  }),
);
