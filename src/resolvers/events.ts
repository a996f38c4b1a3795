// Marks and the event list: GraphQL arguments in, domain calls out.

import { BitmapError, assertEventName } from '../bitmap/errors.ts';
import { listEvents, markWrites } from '../bitmap/events.ts';
import type { Mark } from '../bitmap/events.ts';
import { userRef } from '../bitmap/ids.ts';
import type { UserRef } from '../bitmap/ids.ts';
import { resolveTime } from '../bitmap/period.ts';
import type { TimeInput } from '../bitmap/period.ts';
import type { Context } from '../context.ts';
import { userIds } from './ids.ts';

export interface MarkEventArgs {
  readonly name: string;
  readonly userId?: number | null;
  readonly externalId?: string | null;
  readonly at?: TimeInput | null;
  readonly trackHourly?: boolean | null;
  readonly trackMinutely?: boolean | null;
  readonly trackUnique?: boolean | null;
}

type PendingMark = Omit<Mark, 'userId'> & { readonly user: UserRef };

/** Validates every item before anything is written; a bad item names its index. */
function toMarks(ctx: Context, inputs: readonly MarkEventArgs[], where: (i: number) => string): PendingMark[] {
  const { config, tz } = ctx.services;
  if (inputs.length > config.maxBatch) {
    throw new BitmapError('TOO_LARGE', `a batch holds at most ${config.maxBatch} marks, got ${inputs.length}; split it`, {
      limit: config.maxBatch,
    });
  }
  return inputs.map((m, i) => {
    try {
      return {
        name: assertEventName(m.name),
        user: userRef(m.userId, m.externalId, config.idMapping),
        at: m.at ? resolveTime(m.at, tz) : ctx.setContext.now,
        hourly: m.trackHourly ?? config.trackHourly,
        minutely: m.trackMinutely ?? config.trackMinutely,
        unique: m.trackUnique ?? config.trackUnique,
      };
    } catch (e) {
      if (e instanceof BitmapError) throw new BitmapError(e.code, `${where(i)}: ${e.message}`, { index: i });
      throw e;
    }
  });
}

export async function markEvents(
  ctx: Context,
  inputs: readonly MarkEventArgs[],
  bit: 0 | 1,
  where: (i: number) => string = (i) => `input[${i}]`,
): Promise<{ marked: number }> {
  const { engine, layout, tz } = ctx.services;
  const pending = toMarks(ctx, inputs, where);
  const ids = await userIds(ctx, pending.map((m) => m.user), bit === 1);
  // An external id that was never mapped has no bits to clear: that unmark writes nothing.
  const marks = pending.flatMap((m, i) => (ids[i] === null ? [] : [{ ...m, userId: ids[i]! }]));
  await engine.write(markWrites(layout, tz, marks, bit));
  ctx.services.tally.marks(bit === 1 ? 'mark' : 'unmark', marks.length);
  return { marked: marks.length };
}

export async function markUnique(
  ctx: Context,
  args: { name: string; userId?: number | null; externalId?: string | null },
  bit: 0 | 1,
): Promise<{ marked: number }> {
  const { engine, layout, config } = ctx.services;
  const key = layout.uniqueKey(assertEventName(args.name));
  const [id] = await userIds(ctx, [userRef(args.userId, args.externalId, config.idMapping)], bit === 1);
  if (id === null || id === undefined) return { marked: 0 };
  await engine.write([{ key, offset: id, bit }]);
  ctx.services.tally.marks(bit === 1 ? 'mark' : 'unmark', 1);
  return { marked: 1 };
}


export async function events(ctx: Context, prefix: string | null | undefined): Promise<Array<{ name: string }>> {
  const { engine, layout } = ctx.services;
  if (prefix) assertEventName(prefix, 'prefix');
  return (await listEvents(engine, layout, prefix ?? '')).map((name) => ({ name }));
}
