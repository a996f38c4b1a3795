// Admin mutations: GraphQL arguments in, domain deletes out.

import { deleteAll, deleteEvent, deleteEventPeriod, deleteTemporaryKeys } from '../bitmap/admin.ts';
import { BitmapError, assertEventName } from '../bitmap/errors.ts';
import { resolvePeriod } from '../bitmap/sets.ts';
import type { PeriodSpec } from '../bitmap/sets.ts';
import type { Context } from '../context.ts';

export interface DeleteResult {
  readonly deleted: number;
}

export async function removeEventPeriod(ctx: Context, name: string, period: PeriodSpec): Promise<DeleteResult> {
  const { engine, layout, tz } = ctx.services;
  const p = resolvePeriod(period, tz, ctx.setContext.now);
  return { deleted: await deleteEventPeriod(engine, layout, assertEventName(name), p) };
}

export async function removeEvent(ctx: Context, name: string): Promise<DeleteResult> {
  const { engine, layout } = ctx.services;
  return { deleted: await deleteEvent(engine, layout, assertEventName(name)) };
}

export async function removeTemporaryKeys(ctx: Context): Promise<DeleteResult> {
  const { engine, layout } = ctx.services;
  return { deleted: await deleteTemporaryKeys(engine, layout) };
}

export async function removeAll(ctx: Context, confirm: string): Promise<DeleteResult> {
  const { engine, layout } = ctx.services;
  if (confirm !== layout.prefix) {
    throw new BitmapError(
      'BAD_INPUT',
      `deleteAll removes every key under the key prefix and every counter; to go ahead pass confirm: ${JSON.stringify(layout.prefix)} (the KEY_PREFIX setting)`,
    );
  }
  return { deleted: await deleteAll(engine, layout) };
}
