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

export type SeriesPanelPointFragment = { count: number, average: number | null, period: { label: string, start: string, end: string } };

export type CohortPanelTableFragment = { average: Array<number | null>, rows: Array<{ size: number, cells: Array<number | null>, period: { label: string } }> };

export type CountersPanelEntryFragment = { key: string, value: number };

export type BreakdownPanelSeriesFragment = { value: string, total: number, points: Array<{ count: number, average: number | null, period: { label: string, start: string, end: string } }> };

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

export type LiveEventBreakdownSubscriptionVariables = Exact<{
  prefix: string;
  granularity: Granularity;
  from: string;
  to: string;
  window: number;
}>;


export type LiveEventBreakdownSubscription = { seriesBreakdown: Array<{ value: string, total: number, points: Array<{ count: number, average: number | null, period: { label: string, start: string, end: string } }> }> };

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
export const CohortPanelTableFragmentDoc = new TypedDocumentString(`
    fragment CohortPanelTable on CohortTable {
  rows {
    period {
      label
    }
    size
    cells
  }
  average
}
    `, {"fragmentName":"CohortPanelTable"}) as unknown as TypedDocumentString<CohortPanelTableFragment, unknown>;
export const CountersPanelEntryFragmentDoc = new TypedDocumentString(`
    fragment CountersPanelEntry on CounterValue {
  key
  value
}
    `, {"fragmentName":"CountersPanelEntry"}) as unknown as TypedDocumentString<CountersPanelEntryFragment, unknown>;
export const SeriesPanelPointFragmentDoc = new TypedDocumentString(`
    fragment SeriesPanelPoint on SeriesPoint {
  period {
    label
    start
    end
  }
  count
  average
}
    `, {"fragmentName":"SeriesPanelPoint"}) as unknown as TypedDocumentString<SeriesPanelPointFragment, unknown>;
export const BreakdownPanelSeriesFragmentDoc = new TypedDocumentString(`
    fragment BreakdownPanelSeries on BreakdownSeries {
  value
  total
  points {
    ...SeriesPanelPoint
  }
}
    fragment SeriesPanelPoint on SeriesPoint {
  period {
    label
    start
    end
  }
  count
  average
}`, {"fragmentName":"BreakdownPanelSeries"}) as unknown as TypedDocumentString<BreakdownPanelSeriesFragment, unknown>;
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
    ...SeriesPanelPoint
  }
}
    fragment SeriesPanelPoint on SeriesPoint {
  period {
    label
    start
    end
  }
  count
  average
}`, {"hash":"sha256:ef25c66a426a906bbf57b88d59a8bbf4e1b622a76d691d7d96aace844cae9d9c"}) as unknown as TypedDocumentString<EventSeriesQuery, EventSeriesQueryVariables>;
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
    ...CohortPanelTable
  }
}
    fragment CohortPanelTable on CohortTable {
  rows {
    period {
      label
    }
    size
    cells
  }
  average
}`, {"hash":"sha256:fde2144262f8260ed02296ba15c5e44fdfe62a35c32c170ff87f7f95263b7353"}) as unknown as TypedDocumentString<EventCohortQuery, EventCohortQueryVariables>;
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
    ...CountersPanelEntry
  }
}
    fragment CountersPanelEntry on CounterValue {
  key
  value
}`, {"hash":"sha256:2346dbf10aa94c179949fd29dc4afadd3f3a39a199c77867b7f824821fae2c4e"}) as unknown as TypedDocumentString<TopCountersQuery, TopCountersQueryVariables>;
export const EventBreakdownDocument = new TypedDocumentString(`
    query EventBreakdown($prefix: String!, $granularity: Granularity!, $from: DateTime!, $to: DateTime!, $window: Int!) {
  seriesBreakdown(
    prefix: $prefix
    granularity: $granularity
    from: $from
    to: $to
    rollingAverage: $window
  ) {
    ...BreakdownPanelSeries
  }
}
    fragment SeriesPanelPoint on SeriesPoint {
  period {
    label
    start
    end
  }
  count
  average
}
fragment BreakdownPanelSeries on BreakdownSeries {
  value
  total
  points {
    ...SeriesPanelPoint
  }
}`, {"hash":"sha256:3aeb267f890189ea534a111deaafe14432717166a29c5d5d48f7f5bad068c90d"}) as unknown as TypedDocumentString<EventBreakdownQuery, EventBreakdownQueryVariables>;
export const LiveEventSeriesDocument = new TypedDocumentString(`
    subscription LiveEventSeries($event: String!, $granularity: Granularity!, $from: DateTime!, $to: DateTime!, $window: Int!) {
  series(
    set: {event: {name: $event}}
    granularity: $granularity
    from: $from
    to: $to
    rollingAverage: $window
  ) {
    ...SeriesPanelPoint
  }
}
    fragment SeriesPanelPoint on SeriesPoint {
  period {
    label
    start
    end
  }
  count
  average
}`, {"hash":"sha256:af142cd6a3c55aff4e89f082e001665367dcebdc16bf0fa50fb5a4c430ef30fc"}) as unknown as TypedDocumentString<LiveEventSeriesSubscription, LiveEventSeriesSubscriptionVariables>;
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
    ...CohortPanelTable
  }
}
    fragment CohortPanelTable on CohortTable {
  rows {
    period {
      label
    }
    size
    cells
  }
  average
}`, {"hash":"sha256:e63831ba1d3613a86fffff73da683680a656b159b035ca151174fe348d78ffa6"}) as unknown as TypedDocumentString<LiveEventCohortSubscription, LiveEventCohortSubscriptionVariables>;
export const LiveTopCountersDocument = new TypedDocumentString(`
    subscription LiveTopCounters($name: String!, $granularity: Granularity!, $at: DateTime!, $top: Int!) {
  counters(
    name: $name
    period: {at: {granularity: $granularity, date: $at}}
    top: $top
  ) {
    ...CountersPanelEntry
  }
}
    fragment CountersPanelEntry on CounterValue {
  key
  value
}`, {"hash":"sha256:2d907fa809d68cf34fb02eb7fe805c6bd2d0cab870cbecbe4213d43b1aed1820"}) as unknown as TypedDocumentString<LiveTopCountersSubscription, LiveTopCountersSubscriptionVariables>;
export const LiveEventBreakdownDocument = new TypedDocumentString(`
    subscription LiveEventBreakdown($prefix: String!, $granularity: Granularity!, $from: DateTime!, $to: DateTime!, $window: Int!) {
  seriesBreakdown(
    prefix: $prefix
    granularity: $granularity
    from: $from
    to: $to
    rollingAverage: $window
  ) {
    ...BreakdownPanelSeries
  }
}
    fragment SeriesPanelPoint on SeriesPoint {
  period {
    label
    start
    end
  }
  count
  average
}
fragment BreakdownPanelSeries on BreakdownSeries {
  value
  total
  points {
    ...SeriesPanelPoint
  }
}`, {"hash":"sha256:870a0d946e83bd7d03f6677583d88279a2825e50672d4d9640ba09299e4381b9"}) as unknown as TypedDocumentString<LiveEventBreakdownSubscription, LiveEventBreakdownSubscriptionVariables>;