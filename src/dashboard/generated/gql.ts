/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query DashboardMeta {\n  events {\n    name\n  }\n  counterNames\n}\n\nquery EventSeries($event: String!, $to: DateTime!, $last: Int!, $window: Int!) {\n  series(\n    set: {event: {name: $event}}\n    granularity: DAY\n    to: $to\n    last: $last\n    rollingAverage: $window\n  ) {\n    period {\n      label\n    }\n    count\n    average\n  }\n}\n\nquery EventCohort($event: String!, $granularity: Granularity!, $to: DateTime!, $rows: Int!) {\n  cohort(\n    cohort: {event: {name: $event}}\n    activity: {event: {name: $event}}\n    granularity: $granularity\n    to: $to\n    rows: $rows\n    asPercent: true\n  ) {\n    rows {\n      period {\n        label\n      }\n      size\n      cells\n    }\n    average\n  }\n}\n\nquery TopCounters($name: String!, $granularity: Granularity!, $at: DateTime!, $top: Int!) {\n  period(granularity: $granularity, at: $at) {\n    label\n  }\n  counters(\n    name: $name\n    period: {at: {granularity: $granularity, date: $at}}\n    top: $top\n  ) {\n    key\n    value\n  }\n}": typeof types.DashboardMetaDocument,
};
const documents: Documents = {
    "query DashboardMeta {\n  events {\n    name\n  }\n  counterNames\n}\n\nquery EventSeries($event: String!, $to: DateTime!, $last: Int!, $window: Int!) {\n  series(\n    set: {event: {name: $event}}\n    granularity: DAY\n    to: $to\n    last: $last\n    rollingAverage: $window\n  ) {\n    period {\n      label\n    }\n    count\n    average\n  }\n}\n\nquery EventCohort($event: String!, $granularity: Granularity!, $to: DateTime!, $rows: Int!) {\n  cohort(\n    cohort: {event: {name: $event}}\n    activity: {event: {name: $event}}\n    granularity: $granularity\n    to: $to\n    rows: $rows\n    asPercent: true\n  ) {\n    rows {\n      period {\n        label\n      }\n      size\n      cells\n    }\n    average\n  }\n}\n\nquery TopCounters($name: String!, $granularity: Granularity!, $at: DateTime!, $top: Int!) {\n  period(granularity: $granularity, at: $at) {\n    label\n  }\n  counters(\n    name: $name\n    period: {at: {granularity: $granularity, date: $at}}\n    top: $top\n  ) {\n    key\n    value\n  }\n}": types.DashboardMetaDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DashboardMeta {\n  events {\n    name\n  }\n  counterNames\n}\n\nquery EventSeries($event: String!, $to: DateTime!, $last: Int!, $window: Int!) {\n  series(\n    set: {event: {name: $event}}\n    granularity: DAY\n    to: $to\n    last: $last\n    rollingAverage: $window\n  ) {\n    period {\n      label\n    }\n    count\n    average\n  }\n}\n\nquery EventCohort($event: String!, $granularity: Granularity!, $to: DateTime!, $rows: Int!) {\n  cohort(\n    cohort: {event: {name: $event}}\n    activity: {event: {name: $event}}\n    granularity: $granularity\n    to: $to\n    rows: $rows\n    asPercent: true\n  ) {\n    rows {\n      period {\n        label\n      }\n      size\n      cells\n    }\n    average\n  }\n}\n\nquery TopCounters($name: String!, $granularity: Granularity!, $at: DateTime!, $top: Int!) {\n  period(granularity: $granularity, at: $at) {\n    label\n  }\n  counters(\n    name: $name\n    period: {at: {granularity: $granularity, date: $at}}\n    top: $top\n  ) {\n    key\n    value\n  }\n}"): typeof import('./graphql.js').DashboardMetaDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
