/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

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
    "query Dashboard($userId: UserId!) {\n  activeToday: count(set: {event: {name: \"active\", period: {current: DAY}}})\n  activeThisWeek: count(set: {event: {name: \"active\", period: {current: WEEK}}})\n  activeThisYear: count(set: {event: {name: \"active\", period: {current: YEAR}}})\n  userActiveThisWeek: contains(\n    set: {event: {name: \"active\", period: {current: WEEK}}}\n    userId: $userId\n  )\n  retained: count(\n    set: {and: [{event: {name: \"active\", period: {ago: {granularity: MONTH, periods: 1}}}}, {event: {name: \"active\", period: {current: MONTH}}}]}\n  )\n  activeNotPaid: count(\n    set: {minus: {from: {event: {name: \"active\", period: {current: WEEK}}}, subtract: [{unique: \"paid\"}]}}\n  )\n  anyPlaysToday: hasEvents(set: {event: {name: \"played\", period: {current: DAY}}})\n}": typeof types.DashboardDocument,
    "mutation MarkActive($userId: UserId!) {\n  markEvent(input: {name: \"active\", userId: $userId}) {\n    marked\n  }\n}\n\nmutation MarkBatch($input: [MarkEventInput!]!) {\n  markEvents(input: $input) {\n    marked\n  }\n}\n\nmutation Unmark($userId: UserId!) {\n  unmarkEvent(\n    input: {name: \"active\", userId: $userId, at: \"2026-11-22T09:05:00Z\"}\n  ) {\n    marked\n  }\n}\n\nmutation Paid($userId: UserId!) {\n  markUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}\n\nmutation Refunded($userId: UserId!) {\n  unmarkUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}": typeof types.MarkActiveDocument,
    "query PlayersToday($after: UserId) {\n  members(\n    set: {event: {name: \"played\", period: {current: DAY}}}\n    first: 100\n    after: $after\n  ) {\n    ids\n    hasMore\n    endCursor\n  }\n}": typeof types.PlayersTodayDocument,
    "query ThisWeek {\n  period(granularity: WEEK) {\n    label\n    key\n    start\n    end\n    previous {\n      label\n      key\n    }\n    eventKeys(name: \"active\")\n  }\n  events(prefix: \"act\") {\n    name\n  }\n}": typeof types.ThisWeekDocument,
};
const documents: Documents = {
    "query Dashboard($userId: UserId!) {\n  activeToday: count(set: {event: {name: \"active\", period: {current: DAY}}})\n  activeThisWeek: count(set: {event: {name: \"active\", period: {current: WEEK}}})\n  activeThisYear: count(set: {event: {name: \"active\", period: {current: YEAR}}})\n  userActiveThisWeek: contains(\n    set: {event: {name: \"active\", period: {current: WEEK}}}\n    userId: $userId\n  )\n  retained: count(\n    set: {and: [{event: {name: \"active\", period: {ago: {granularity: MONTH, periods: 1}}}}, {event: {name: \"active\", period: {current: MONTH}}}]}\n  )\n  activeNotPaid: count(\n    set: {minus: {from: {event: {name: \"active\", period: {current: WEEK}}}, subtract: [{unique: \"paid\"}]}}\n  )\n  anyPlaysToday: hasEvents(set: {event: {name: \"played\", period: {current: DAY}}})\n}": types.DashboardDocument,
    "mutation MarkActive($userId: UserId!) {\n  markEvent(input: {name: \"active\", userId: $userId}) {\n    marked\n  }\n}\n\nmutation MarkBatch($input: [MarkEventInput!]!) {\n  markEvents(input: $input) {\n    marked\n  }\n}\n\nmutation Unmark($userId: UserId!) {\n  unmarkEvent(\n    input: {name: \"active\", userId: $userId, at: \"2026-11-22T09:05:00Z\"}\n  ) {\n    marked\n  }\n}\n\nmutation Paid($userId: UserId!) {\n  markUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}\n\nmutation Refunded($userId: UserId!) {\n  unmarkUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}": types.MarkActiveDocument,
    "query PlayersToday($after: UserId) {\n  members(\n    set: {event: {name: \"played\", period: {current: DAY}}}\n    first: 100\n    after: $after\n  ) {\n    ids\n    hasMore\n    endCursor\n  }\n}": types.PlayersTodayDocument,
    "query ThisWeek {\n  period(granularity: WEEK) {\n    label\n    key\n    start\n    end\n    previous {\n      label\n      key\n    }\n    eventKeys(name: \"active\")\n  }\n  events(prefix: \"act\") {\n    name\n  }\n}": types.ThisWeekDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Dashboard($userId: UserId!) {\n  activeToday: count(set: {event: {name: \"active\", period: {current: DAY}}})\n  activeThisWeek: count(set: {event: {name: \"active\", period: {current: WEEK}}})\n  activeThisYear: count(set: {event: {name: \"active\", period: {current: YEAR}}})\n  userActiveThisWeek: contains(\n    set: {event: {name: \"active\", period: {current: WEEK}}}\n    userId: $userId\n  )\n  retained: count(\n    set: {and: [{event: {name: \"active\", period: {ago: {granularity: MONTH, periods: 1}}}}, {event: {name: \"active\", period: {current: MONTH}}}]}\n  )\n  activeNotPaid: count(\n    set: {minus: {from: {event: {name: \"active\", period: {current: WEEK}}}, subtract: [{unique: \"paid\"}]}}\n  )\n  anyPlaysToday: hasEvents(set: {event: {name: \"played\", period: {current: DAY}}})\n}"): (typeof documents)["query Dashboard($userId: UserId!) {\n  activeToday: count(set: {event: {name: \"active\", period: {current: DAY}}})\n  activeThisWeek: count(set: {event: {name: \"active\", period: {current: WEEK}}})\n  activeThisYear: count(set: {event: {name: \"active\", period: {current: YEAR}}})\n  userActiveThisWeek: contains(\n    set: {event: {name: \"active\", period: {current: WEEK}}}\n    userId: $userId\n  )\n  retained: count(\n    set: {and: [{event: {name: \"active\", period: {ago: {granularity: MONTH, periods: 1}}}}, {event: {name: \"active\", period: {current: MONTH}}}]}\n  )\n  activeNotPaid: count(\n    set: {minus: {from: {event: {name: \"active\", period: {current: WEEK}}}, subtract: [{unique: \"paid\"}]}}\n  )\n  anyPlaysToday: hasEvents(set: {event: {name: \"played\", period: {current: DAY}}})\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation MarkActive($userId: UserId!) {\n  markEvent(input: {name: \"active\", userId: $userId}) {\n    marked\n  }\n}\n\nmutation MarkBatch($input: [MarkEventInput!]!) {\n  markEvents(input: $input) {\n    marked\n  }\n}\n\nmutation Unmark($userId: UserId!) {\n  unmarkEvent(\n    input: {name: \"active\", userId: $userId, at: \"2026-11-22T09:05:00Z\"}\n  ) {\n    marked\n  }\n}\n\nmutation Paid($userId: UserId!) {\n  markUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}\n\nmutation Refunded($userId: UserId!) {\n  unmarkUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}"): (typeof documents)["mutation MarkActive($userId: UserId!) {\n  markEvent(input: {name: \"active\", userId: $userId}) {\n    marked\n  }\n}\n\nmutation MarkBatch($input: [MarkEventInput!]!) {\n  markEvents(input: $input) {\n    marked\n  }\n}\n\nmutation Unmark($userId: UserId!) {\n  unmarkEvent(\n    input: {name: \"active\", userId: $userId, at: \"2026-11-22T09:05:00Z\"}\n  ) {\n    marked\n  }\n}\n\nmutation Paid($userId: UserId!) {\n  markUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}\n\nmutation Refunded($userId: UserId!) {\n  unmarkUnique(name: \"paid\", userId: $userId) {\n    marked\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query PlayersToday($after: UserId) {\n  members(\n    set: {event: {name: \"played\", period: {current: DAY}}}\n    first: 100\n    after: $after\n  ) {\n    ids\n    hasMore\n    endCursor\n  }\n}"): (typeof documents)["query PlayersToday($after: UserId) {\n  members(\n    set: {event: {name: \"played\", period: {current: DAY}}}\n    first: 100\n    after: $after\n  ) {\n    ids\n    hasMore\n    endCursor\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ThisWeek {\n  period(granularity: WEEK) {\n    label\n    key\n    start\n    end\n    previous {\n      label\n      key\n    }\n    eventKeys(name: \"active\")\n  }\n  events(prefix: \"act\") {\n    name\n  }\n}"): (typeof documents)["query ThisWeek {\n  period(granularity: WEEK) {\n    label\n    key\n    start\n    end\n    previous {\n      label\n      key\n    }\n    eventKeys(name: \"active\")\n  }\n  events(prefix: \"act\") {\n    name\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;