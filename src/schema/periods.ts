// Periods: the Granularity enum, PeriodInput, the Period type and the `period` query.

import { periodSuffix } from '../bitmap/keys.ts';
import { GRANULARITIES, formatInstant, periodAt, periodEnd, periodLabel, periodStart, resolveTime, shiftPeriod } from '../bitmap/period.ts';
import type { Period } from '../bitmap/period.ts';
import type { PeriodSpec } from '../bitmap/sets.ts';
import { assertEventName } from '../bitmap/errors.ts';
import { coverKeys, sameZone } from '../bitmap/zones.ts';
import { zonedContext } from '../resolvers/analytics.ts';
import type { ZonedPeriod } from '../resolvers/analytics.ts';
import type { Context } from '../context.ts';
import { builder } from './builder.ts';
import type { ArgBuilder } from './series.ts';

export const GranularityEnum = builder.enumType('Granularity', {
  description:
    'Period lengths. MINUTE keys are written only with TRACK_MINUTELY (or trackMinutely on a mark) and are not bitmapist’s. WEEK is the ISO week (Monday to Sunday, ISO week-year). YEAR is the union of its 12 months.',
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

/** The zone a question names its periods in: for series, cohort, funnel and period (README: Time zones). */
export const timeZoneArg = (t: ArgBuilder) =>
  t.arg.string({
    description:
      'IANA time zone (e.g. America/New_York) every period of the question is named in (`current`, `ago`, `at`, ranges, bound periods); default: the gateway’s TIME_ZONE. Another zone’s periods are read as the storage keys covering them, with hour keys at their edges (HOURS_NOT_TRACKED where those hours were not recorded), and minute keys where an edge is inside a storage hour, as for a zone not a whole number of hours from TIME_ZONE (MINUTES_NOT_TRACKED where those minutes were not recorded, for counters where an hour’s minute hashes sum to less than its hour hash; TIME_ZONE_UNALIGNED where no key can split the hour).',
  });

export const PeriodType = builder.objectRef<ZonedPeriod>('Period');

/** The zone a period is named in: the request's (`timeZone`), else the gateway's. */
const zoneOf = (p: ZonedPeriod, ctx: Context) => p.zone ?? ctx.services.tz;
/** Another period of the same zone. */
const sameZoneAs = (p: ZonedPeriod, q: Period): ZonedPeriod => (p.zone ? { ...q, zone: p.zone } : q);
/** True when the period is named in a zone other than the storage zone: it has no key of its own. */
const foreign = (p: ZonedPeriod, ctx: Context): boolean => !sameZone(p.zone, ctx.services.tz);

PeriodType.implement({
  description: 'A calendar period in the gateway time zone, or in the `timeZone` the question named.',
  fields: (t) => ({
    granularity: t.field({ type: GranularityEnum, resolve: (p) => p.granularity }),
    start: t.field({ type: 'DateTime', description: 'First instant of the period.', resolve: (p, _, ctx) => formatInstant(periodStart(p, zoneOf(p, ctx)), zoneOf(p, ctx)) }),
    end: t.field({
      type: 'DateTime',
      description: 'End of the period, exclusive: the first instant of the next period.',
      resolve: (p, _, ctx) => formatInstant(periodEnd(p, zoneOf(p, ctx)), zoneOf(p, ctx)),
    }),
    label: t.string({ description: 'e.g. 2026-11-22T09:05, 2026-11-22T09, 2026-11-22, 2026-W47, 2026-11, 2026.', resolve: periodLabel }),
    key: t.string({
      nullable: true,
      description:
        'The period part of bitmapist keys (2026-11-22-9, 2026-11-22, W2026-47, 2026-11; a MINUTE, ours: m2026-11-22-9-5); null for YEAR, which has no key, and for a period of another `timeZone` than the gateway’s (see eventKeys).',
      resolve: (p, _, ctx) => (p.granularity === 'YEAR' || foreign(p, ctx) ? null : periodSuffix(p)),
    }),
    eventKeys: t.stringList({
      description:
        'The storage keys of an event in this period (a YEAR lists its 12 month keys); in another `timeZone`, the storage keys whose union it is read as (whole storage months, weeks and days inside it, hour keys at its edges).',
      args: { name: t.arg.string({ required: true }) },
      resolve: (p, { name }, ctx) =>
        foreign(p, ctx)
          ? coverKeys(ctx.services.layout, assertEventName(name), p, p, ctx.services.tz, p.zone!).keys
          : ctx.services.layout.eventKeys(assertEventName(name), p),
    }),
    previous: t.field({ type: PeriodType, resolve: (p) => sameZoneAs(p, shiftPeriod(p, -1)) }),
    next: t.field({ type: PeriodType, resolve: (p) => sameZoneAs(p, shiftPeriod(p, 1)) }),
    shift: t.field({
      type: PeriodType,
      description: 'The period `by` periods later (negative: earlier).',
      args: { by: t.arg.int({ required: true }) },
      resolve: (p, { by }) => sameZoneAs(p, shiftPeriod(p, by)),
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
      timeZone: timeZoneArg(t),
    },
    resolve: (_, { granularity, at, timeZone }, ctx): ZonedPeriod => {
      const sc = zonedContext(ctx, timeZone);
      const tz = sc.zone ?? sc.tz;
      const p = periodAt(granularity, at ? resolveTime(at, tz) : sc.now, tz);
      return sc.zone ? { ...p, zone: sc.zone } : p;
    },
  }),
);
