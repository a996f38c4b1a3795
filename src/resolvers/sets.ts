// Set queries: GraphQL arguments in, one load on the request's set loader out.

import { BitmapError } from '../bitmap/errors.ts';
import type { MemberPage } from '../bitmap/program.ts';
import { userRef } from '../bitmap/ids.ts';
import { resolveSet } from '../bitmap/sets.ts';
import type { SetSpec } from '../bitmap/sets.ts';
import type { Answer, Query } from '../bitmap/plan.ts';
import type { Context } from '../context.ts';
import { userIds } from './ids.ts';

/** One question's answer. */
const askOne = async (ctx: Context, q: Query): Promise<Answer> => (await ctx.ask([q]))[0]!;

export const countSet = async (ctx: Context, set: SetSpec): Promise<number> =>
  (await askOne(ctx, { kind: 'count', expr: resolveSet(set, ctx.setContext) })) as number;

export const hasMembers = async (ctx: Context, set: SetSpec): Promise<boolean> =>
  (await askOne(ctx, { kind: 'exists', expr: resolveSet(set, ctx.setContext) })) as boolean;

export async function containsUser(
  ctx: Context,
  set: SetSpec,
  userId: number | null | undefined,
  externalId: string | null | undefined,
): Promise<boolean> {
  const expr = resolveSet(set, ctx.setContext);
  const ref = userRef(userId, externalId, ctx.services.config.idMapping);
  // A dense id asks in this tick, joining the request's one program; an external id is looked up first.
  const id = 'id' in ref ? ref.id : (await userIds(ctx, [ref], false))[0];
  if (id === null || id === undefined) return false; // never mapped: in no set
  return (await askOne(ctx, { kind: 'contains', expr, id })) as boolean;
}

export interface MemberPageResult extends MemberPage {
  endCursor: number | null;
}

export async function memberPage(
  ctx: Context,
  set: SetSpec,
  first: number | null | undefined,
  after: number | null | undefined,
): Promise<MemberPageResult> {
  const max = ctx.services.config.maxPageSize;
  const limit = first ?? Math.min(100, max);
  if (!Number.isInteger(limit) || limit < 1) throw new BitmapError('BAD_INPUT', `first must be at least 1, got ${limit}`);
  if (limit > max) {
    throw new BitmapError('TOO_COMPLEX', `first is ${limit}; the largest page is ${max} (page with \`after\`)`, { limit: max });
  }
  const expr = resolveSet(set, ctx.setContext);
  const page = (await askOne(ctx, { kind: 'members', expr, after: after ?? null, limit })) as MemberPage;
  return { ...page, endCursor: page.ids.length ? page.ids[page.ids.length - 1]! : null };
}
