/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Period lengths. MINUTE keys are written only with TRACK_MINUTELY (or trackMinutely on a mark) and are not bitmapist’s. WEEK is the ISO week (Monday to Sunday, ISO week-year). YEAR is the union of its 12 months. */
export type Granularity =
  | 'DAY'
  | 'HOUR'
  | 'MINUTE'
  | 'MONTH'
  | 'WEEK'
  | 'YEAR';

export type DashboardMetaQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardMetaQuery = { counterNames: Array<string>, events: Array<{ name: string }> };

export type EventSeriesQueryVariables = Exact<{
  event: string;
  granularity: Granularity;
  from: string;
  to: string;
  window: number;
}>;


export type EventSeriesQuery = { series: Array<{ count: number, average: number | null, period: { label: string, start: string, end: string } }> };

export type EventCohortQueryVariables = Exact<{
  event: string;
  activity: string;
  granularity: Granularity;
  to: string;
  rows: number;
  asPercent: boolean;
}>;


export type EventCohortQuery = { cohort: { average: Array<number | null>, rows: Array<{ size: number, cells: Array<number | null>, period: { label: string } }> } };

export type TopCountersQueryVariables = Exact<{
  name: string;
  granularity: Granularity;
  at: string;
  top: number;
}>;


export type TopCountersQuery = { period: { label: string }, counters: Array<{ key: string, value: number }> };

export type EventBreakdownQueryVariables = Exact<{
  prefix: string;
  granularity: Granularity;
  from: string;
  to: string;
  window: number;
}>;


export type EventBreakdownQuery = { seriesBreakdown: Array<{ value: string, total: number, points: Array<{ count: number, average: number | null, period: { label: string, start: string, end: string } }> }> };

export type LiveEventSeriesSubscriptionVariables = Exact<{
  event: string;
  granularity: Granularity;
  from: string;
  to: string;
  window: number;
}>;


export type LiveEventSeriesSubscription = { series: Array<{ count: number, average: number | null, period: { label: string, start: string, end: string } }> };

export type LiveEventCohortSubscriptionVariables = Exact<{
  event: string;
  activity: string;
  granularity: Granularity;
  to: string;
  rows: number;
  asPercent: boolean;
}>;


export type LiveEventCohortSubscription = { cohort: { average: Array<number | null>, rows: Array<{ size: number, cells: Array<number | null>, period: { label: string } }> } };

export type LiveTopCountersSubscriptionVariables = Exact<{
  name: string;
  granularity: Granularity;
  at: string;
  top: number;
}>;


export type LiveTopCountersSubscription = { counters: Array<{ key: string, value: number }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const DashboardMetaDocument = new TypedDocumentString(`
    query DashboardMeta {
  events {
    name
  }
  counterNames
}
    `, {"hash":"sha256:7700e442d566c94a8b1f4d7da3a332896eeade9178b545211934bf2d5adfecab"}) as unknown as TypedDocumentString<DashboardMetaQuery, DashboardMetaQueryVariables>;
export const EventSeriesDocument = new TypedDocumentString(`
    query EventSeries($event: String!, $granularity: Granularity!, $from: DateTime!, $to: DateTime!, $window: Int!) {
  series(
    set: {event: {name: $event}}
    granularity: $granularity
    from: $from
    to: $to
    rollingAverage: $window
  ) {
    period {
      label
      start
      end
    }
    count
    average
  }
}
    `, {"hash":"sha256:096280fd345aa4bd337a557b25d823994270fdf94fd5e024e9688ff002814b62"}) as unknown as TypedDocumentString<EventSeriesQuery, EventSeriesQueryVariables>;
export const EventCohortDocument = new TypedDocumentString(`
    query EventCohort($event: String!, $activity: String!, $granularity: Granularity!, $to: DateTime!, $rows: Int!, $asPercent: Boolean!) {
  cohort(
    cohort: {event: {name: $event}}
    activity: {event: {name: $activity}}
    granularity: $granularity
    to: $to
    rows: $rows
    asPercent: $asPercent
  ) {
    rows {
      period {
        label
      }
      size
      cells
    }
    average
  }
}
    `, {"hash":"sha256:968e291530c36306369b9c1b8d7aaacf134b6e1dfb401c8c90caf5686fec5ad6"}) as unknown as TypedDocumentString<EventCohortQuery, EventCohortQueryVariables>;
export const TopCountersDocument = new TypedDocumentString(`
    query TopCounters($name: String!, $granularity: Granularity!, $at: DateTime!, $top: Int!) {
  period(granularity: $granularity, at: $at) {
    label
  }
  counters(
    name: $name
    period: {at: {granularity: $granularity, date: $at}}
    top: $top
  ) {
    key
    value
  }
}
    `, {"hash":"sha256:ce16878f684e91b6f32dc13bc95400807a6bffbfff774041a3633a61f5465f50"}) as unknown as TypedDocumentString<TopCountersQuery, TopCountersQueryVariables>;
export const EventBreakdownDocument = new TypedDocumentString(`
    query EventBreakdown($prefix: String!, $granularity: Granularity!, $from: DateTime!, $to: DateTime!, $window: Int!) {
  seriesBreakdown(
    prefix: $prefix
    granularity: $granularity
    from: $from
    to: $to
    rollingAverage: $window
  ) {
    value
    total
    points {
      period {
        label
        start
        end
      }
      count
      average
    }
  }
}
    `, {"hash":"sha256:df4e747d386ae20cc5bcd609e929844285c6ed5f776554c2c63b57afba3e4685"}) as unknown as TypedDocumentString<EventBreakdownQuery, EventBreakdownQueryVariables>;
export const LiveEventSeriesDocument = new TypedDocumentString(`
    subscription LiveEventSeries($event: String!, $granularity: Granularity!, $from: DateTime!, $to: DateTime!, $window: Int!) {
  series(
    set: {event: {name: $event}}
    granularity: $granularity
    from: $from
    to: $to
    rollingAverage: $window
  ) {
    period {
      label
      start
      end
    }
    count
    average
  }
}
    `, {"hash":"sha256:8ba605e3b963bfe6202910013e5f528ad7e5a0c382120055e180b43971d39103"}) as unknown as TypedDocumentString<LiveEventSeriesSubscription, LiveEventSeriesSubscriptionVariables>;
export const LiveEventCohortDocument = new TypedDocumentString(`
    subscription LiveEventCohort($event: String!, $activity: String!, $granularity: Granularity!, $to: DateTime!, $rows: Int!, $asPercent: Boolean!) {
  cohort(
    cohort: {event: {name: $event}}
    activity: {event: {name: $activity}}
    granularity: $granularity
    to: $to
    rows: $rows
    asPercent: $asPercent
  ) {
    rows {
      period {
        label
      }
      size
      cells
    }
    average
  }
}
    `, {"hash":"sha256:3683f10bad31abdd146ecff79fb71a1473d1da531259dbd2fd937c869b9d84ae"}) as unknown as TypedDocumentString<LiveEventCohortSubscription, LiveEventCohortSubscriptionVariables>;
export const LiveTopCountersDocument = new TypedDocumentString(`
    subscription LiveTopCounters($name: String!, $granularity: Granularity!, $at: DateTime!, $top: Int!) {
  counters(
    name: $name
    period: {at: {granularity: $granularity, date: $at}}
    top: $top
  ) {
    key
    value
  }
}
    `, {"hash":"sha256:bce94bc52db0702281da36018d8ae99b9e951c4e4a3c0a7fa9d59c988196a041"}) as unknown as TypedDocumentString<LiveTopCountersSubscription, LiveTopCountersSubscriptionVariables>;