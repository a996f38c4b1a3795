// Admin mutations: deleting event data. They need the `admin` scope instead of `write`.

import { removeAll, removeEvent, removeEventPeriod, removeTemporaryKeys } from '../resolvers/admin.ts';
import type { DeleteResult } from '../resolvers/admin.ts';
import { builder } from './builder.ts';
import { PeriodInput } from './periods.ts';

const DeleteResultType = builder.objectRef<DeleteResult>('DeleteResult').implement({
  fields: (t) => ({
    deleted: t.field({ type: 'Count', description: 'How many keys were deleted.', resolve: (r) => r.deleted }),
  }),
});

const BATCHES = ' Keys are found by SCAN and deleted a batch at a time, so this is not all-or-nothing: after a failure, run it again.';

/** Admin scope only: the type-level `write` requirement of Mutation is replaced, not added to. */
const admin = { skipTypeScopes: true, authScopes: { admin: true } } as const;

builder.mutationFields((t) => ({
  deleteEventPeriod: t.field({
    ...admin,
    type: DeleteResultType,
    description:
      'Admin: deletes the event’s bitmap of one period (HOUR, DAY, WEEK or MONTH: its one key; YEAR: its 12 month keys — ' +
      'not the days, weeks or hours inside). Only event keys: counters of the same name and the unique (_u) set are kept.',
    args: { name: t.arg.string({ required: true }), period: t.arg({ type: PeriodInput, required: true }) },
    resolve: (_, { name, period }, ctx) => removeEventPeriod(ctx, name, period),
  }),
  deleteEvent: t.field({
    ...admin,
    type: DeleteResultType,
    description:
      'Admin: deletes every key of the event — hour, day, week and month bitmaps and the unique (_u) set. ' +
      'Events whose names merely start with `name` are kept; so are counters of the same name.' + BATCHES,
    args: { name: t.arg.string({ required: true }) },
    resolve: (_, { name }, ctx) => removeEvent(ctx, name),
  }),
  deleteTemporaryKeys: t.field({
    ...admin,
    type: DeleteResultType,
    description: 'Admin: deletes temporary result keys (<prefix>bitop_…), e.g. left behind by a crashed gateway.' + BATCHES,
    resolve: (_, __, ctx) => removeTemporaryKeys(ctx),
  }),
  deleteAll: t.field({
    ...admin,
    type: DeleteResultType,
    description:
      'Admin: deletes every key under the key prefix (events, unique sets, temporary keys) and every counter. ' +
      '`confirm` must equal the key prefix (e.g. "trackist_").' + BATCHES,
    args: { confirm: t.arg.string({ required: true }) },
    resolve: (_, { confirm }, ctx) => removeAll(ctx, confirm),
  }),
}));
