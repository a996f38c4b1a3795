// Events: the `events` query and the mark/unmark mutations.

import { events, markEvents, markUnique } from '../resolvers/events.ts';
import { builder } from './builder.ts';

const EventType = builder.objectRef<{ name: string }>('Event').implement({
  description: 'An event that has data.',
  fields: (t) => ({ name: t.exposeString('name') }),
});

const MarkEventInput = builder.inputType('MarkEventInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Event name: 1-200 characters, no whitespace, no * ? [ ] \\.' }),
    userId: t.field({ type: 'UserId', description: 'The user (or give externalId).' }),
    externalId: t.string({
      description: 'The user as a string id, mapped to a dense id (assigned on first mark); needs ID_MAPPING. Exactly one of userId and externalId.',
    }),
    at: t.field({ type: 'DateTime', description: 'When it happened (default: now).' }),
    trackHourly: t.boolean({ description: 'Also write the hour key (default: the gateway setting).' }),
    trackMinutely: t.boolean({
      description: 'Also write the minute key, `<prefix><name>_m<y>-<m>-<d>-<h>-<minute>` (not bitmapist’s; default: the gateway setting TRACK_MINUTELY).',
    }),
    trackUnique: t.boolean({ description: 'Also write the date-free unique key (default: the gateway setting).' }),
  }),
});

const uniqueArgs = builder.args((t) => ({
  name: t.string({ required: true }),
  userId: t.field({ type: 'UserId', description: 'The user (or give externalId).' }),
  externalId: t.string({ description: 'The user as a string id (needs ID_MAPPING). Exactly one of userId and externalId.' }),
}));

const MarkResult = builder.objectRef<{ marked: number }>('MarkResult').implement({
  fields: (t) => ({
    marked: t.exposeInt('marked', { description: 'How many marks were written (an unmark of a never-mapped externalId writes none).' }),
  }),
});

builder.queryField('events', (t) =>
  t.field({
    type: [EventType],
    description: 'Events that have data, by name (optionally those starting with `prefix`).',
    args: { prefix: t.arg.string() },
    resolve: (_, { prefix }, ctx) => events(ctx, prefix),
  }),
);

builder.mutationFields((t) => ({
  markEvent: t.field({
    type: MarkResult,
    description: "Records that a user had an event: writes the month, ISO week and day keys (and hour/minute/unique when asked).",
    args: { input: t.arg({ type: MarkEventInput, required: true }) },
    resolve: (_, { input }, ctx) => markEvents(ctx, [input], 1, () => 'input'),
  }),
  markEvents: t.field({
    type: MarkResult,
    description: 'Records many marks in one round trip. The batch is validated whole: one bad item and nothing is written.',
    args: { input: t.arg({ type: [MarkEventInput], required: true }) },
    resolve: (_, { input }, ctx) => markEvents(ctx, input, 1),
  }),
  unmarkEvent: t.field({
    type: MarkResult,
    description:
      'Clears the bits markEvent would set for `at`: the day, ISO week and month keys (and hour/minute/unique when asked), as bitmapist’s unmark_event. The user leaves that week and month even if marked on other days of them.',
    args: { input: t.arg({ type: MarkEventInput, required: true }) },
    resolve: (_, { input }, ctx) => markEvents(ctx, [input], 0, () => 'input'),
  }),
  markUnique: t.field({
    type: MarkResult,
    description: 'Adds a user to an event’s date-free set.',
    args: uniqueArgs,
    resolve: (_, args, ctx) => markUnique(ctx, args, 1),
  }),
  unmarkUnique: t.field({
    type: MarkResult,
    description: 'Removes a user from an event’s date-free set.',
    args: uniqueArgs,
    resolve: (_, args, ctx) => markUnique(ctx, args, 0),
  }),
}));
