// Sets: the SetExpr input and the set queries (count, contains, hasEvents, members).

import type { SetSpec } from '../bitmap/sets.ts';
import { containsUser, countSet, hasMembers, memberPage } from '../resolvers/sets.ts';
import type { MemberPageResult } from '../resolvers/sets.ts';
import { externalIdsOf } from '../resolvers/ids.ts';
import { builder } from './builder.ts';
import { GranularityEnum, PeriodInput, timeZoneArg } from './periods.ts';

const EventSet = builder.inputType('EventSet', {
  description:
    'Users who had event `name` in a period. In `series` and `cohort` the period may be left out: it is bound to the point, row or column period.',
  fields: (t) => ({
    name: t.string({ required: true }),
    period: t.field({ type: PeriodInput }),
    shift: t.int({ description: 'Periods to move: -1 is the period before.' }),
  }),
});

const RangeSet = builder.inputType('RangeSet', {
  description: 'Users who had event `name` in any of consecutive periods: `from`..`to` (both inclusive; `to` defaults to now), or the `last` N periods ending with `to` (default: the current period).',
  fields: (t) => ({
    name: t.string({ required: true }),
    granularity: t.field({ type: GranularityEnum, required: true }),
    from: t.field({ type: 'DateTime' }),
    to: t.field({ type: 'DateTime' }),
    last: t.int(),
  }),
});

export const SetExpr = builder.inputRef<SetSpec>('SetExpr');

const SetDifference = builder.inputType('SetDifference', {
  description: 'Members of `from` that are in none of `subtract`.',
  fields: (t) => ({
    from: t.field({ type: SetExpr, required: true }),
    subtract: t.field({ type: [SetExpr], required: true }),
  }),
});

SetExpr.implement({
  description: 'A set of users, given exactly one way.',
  isOneOf: true,
  fields: (t) => ({
    event: t.field({ type: EventSet }),
    unique: t.string({ description: 'The date-free set of an event (bitmapist `_u` key).' }),
    range: t.field({ type: RangeSet }),
    and: t.field({ type: [SetExpr], description: 'Intersection. May hold `not` operands next to at least one positive one.' }),
    or: t.field({ type: [SetExpr], description: 'Union.' }),
    xor: t.field({ type: [SetExpr], description: 'Members of an odd number of the operands.' }),
    minus: t.field({ type: SetDifference }),
    not: t.field({
      type: SetExpr,
      description: 'Complement: only inside an `and` with a positive operand (otherwise UNBOUNDED_NOT). Prefer `minus`.',
    }),
    ids: t.field({ type: ['UserId'], description: 'These users.' }),
  }),
});

const MemberPageType = builder.objectRef<MemberPageResult>('MemberPage').implement({
  description: 'One page of members, ascending. Pass `endCursor` as `after` for the next page.',
  fields: (t) => ({
    ids: t.field({ type: ['UserId'], resolve: (p) => p.ids }),
    externalIds: t.field({
      type: ['String'],
      nullable: { list: false, items: true },
      description: 'The external id of each member, in the order of `ids` (null where none was mapped).',
      resolve: (p, _, ctx) => externalIdsOf(ctx, p.ids),
    }),
    hasMore: t.exposeBoolean('hasMore'),
    endCursor: t.field({ type: 'UserId', nullable: true, resolve: (p) => p.endCursor }),
  }),
});

builder.queryFields((t) => ({
  count: t.field({
    type: 'Count',
    description: 'How many users are in the set.',
    args: { set: t.arg({ type: SetExpr, required: true }), timeZone: timeZoneArg(t) },
    resolve: (_, { set, timeZone }, ctx, info) => countSet(ctx, set, info.fieldNodes[0], timeZone),
  }),
  contains: t.boolean({
    description: 'Whether the user is in the set.',
    args: {
      set: t.arg({ type: SetExpr, required: true }),
      userId: t.arg({ type: 'UserId', description: 'The user (or give externalId).' }),
      externalId: t.arg.string({ description: 'The user as a string id (needs ID_MAPPING); one never mapped is in no set.' }),
      timeZone: timeZoneArg(t),
    },
    resolve: (_, { set, userId, externalId, timeZone }, ctx, info) => containsUser(ctx, set, userId, externalId, info.fieldNodes[0], timeZone),
  }),
  hasEvents: t.boolean({
    description: 'Whether the set has any member.',
    args: { set: t.arg({ type: SetExpr, required: true }), timeZone: timeZoneArg(t) },
    resolve: (_, { set, timeZone }, ctx, info) => hasMembers(ctx, set, info.fieldNodes[0], timeZone),
  }),
  members: t.field({
    type: MemberPageType,
    description: 'Members of the set in ascending order, a page at a time.',
    args: {
      set: t.arg({ type: SetExpr, required: true }),
      first: t.arg.int({ description: 'Page size (default 100).' }),
      after: t.arg({ type: 'UserId', description: 'Start after this id (the previous page’s endCursor).' }),
      timeZone: timeZoneArg(t),
    },
    resolve: (_, { set, first, after, timeZone }, ctx, info) => memberPage(ctx, set, first, after, info.fieldNodes[0], timeZone),
  }),
}));
