// Marks and the event list: GraphQL arguments in, domain calls out.

import { BitmapError, assertEventName, assertUserId } from '../bitmap/errors.ts';
import { listEvents, markWrites } from '../bitmap/events.ts';
import type { Mark } from '../bitmap/events.ts';
import { resolveTime } from '../bitmap/period.ts';
import type { TimeInput } from '../bitmap/period.ts';
import type { Context } from '../context.ts';

export interface MarkEventArgs {
  readonly name: string;
  readonly userId: number;
  readonly at?: TimeInput | null;
  readonly trackHourly?: boolean | null;
  readonly trackUnique?: boolean | null;
}

/** Validates every item before anything is written; a bad item names its index. */
function toMarks(ctx: Context, inputs: readonly MarkEventArgs[], where: (i: number) => string): Mark[] {
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
        userId: assertUserId(m.userId),
        at: m.at ? resolveTime(m.at, tz) : ctx.setContext.now,
        hourly: m.trackHourly ?? config.trackHourly,
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
  const marks = toMarks(ctx, inputs, where);
  await engine.write(markWrites(layout, tz, marks, bit));
  return { marked: marks.length };
}

export async function markUnique(ctx: Context, name: string, userId: number, bit: 0 | 1): Promise<{ marked: number }> {
  const { engine, layout } = ctx.services;
  await engine.write([{ key: layout.uniqueKey(assertEventName(name)), offset: assertUserId(userId), bit }]);
  return { marked: 1 };
}

export async function events(ctx: Context, prefix: string | null | undefined): Promise<Array<{ name: string }>> {
  const { engine, layout } = ctx.services;
  if (prefix) assertEventName(prefix, 'prefix');
  return (await listEvents(engine, layout, prefix ?? '')).map((name) => ({ name }));
}
