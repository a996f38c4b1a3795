// Set queries: GraphQL arguments in, one load on the request's set loader out.

import { BitmapError } from '../bitmap/errors.ts';
import type { Expr } from '../bitmap/expr.ts';
import type { MemberPage } from '../bitmap/program.ts';
import { userRef } from '../bitmap/ids.ts';
import { resolveSet } from '../bitmap/sets.ts';
import type { SetSpec } from '../bitmap/sets.ts';
import type { Answer, Query } from '../bitmap/plan.ts';
import type { Context } from '../context.ts';
import { PAGE_PER_UNIT, setShapeCost } from '../limits.ts';
import { userIds } from './ids.ts';

/** One question's answer. */
const askOne = async (ctx: Context, q: Query): Promise<Answer> => (await ctx.ask([q]))[0]!;

/** Cost of a count, hasEvents or contains, from the set as written (src/limits.ts). */
export const setQuestionCost = (ctx: Context, set: SetSpec): number => setShapeCost(set, ctx.setContext);

/** The set over keys, once the request has room for what it may cost: an oversized set is refused before a key is named. */
function resolveWithin(ctx: Context, set: SetSpec, cost: number): Expr {
  ctx.cost.assertRoomFor(cost);
  return resolveSet(set, ctx.setContext);
}

export async function countSet(ctx: Context, set: SetSpec): Promise<number> {
  const expr = resolveWithin(ctx, set, setQuestionCost(ctx, set));
  return (await askOne(ctx, { kind: 'count', expr })) as number;
}

export async function hasMembers(ctx: Context, set: SetSpec): Promise<boolean> {
  const expr = resolveWithin(ctx, set, setQuestionCost(ctx, set));
  return (await askOne(ctx, { kind: 'exists', expr })) as boolean;
}

export async function containsUser(
  ctx: Context,
  set: SetSpec,
  userId: number | null | undefined,
  externalId: string | null | undefined,
): Promise<boolean> {
  const cost = setQuestionCost(ctx, set);
  const ref = userRef(userId, externalId, ctx.services.config.idMapping);
  if ('id' in ref) {
    // A dense id asks in this tick, joining the request's one program.
    return (await askOne(ctx, { kind: 'contains', expr: resolveWithin(ctx, set, cost), id: ref.id })) as boolean;
  }
  // An external id is looked up first; the set is resolved after it, in the tick it is asked in, so
  // the request's other fields see its cost.
  const id = (await userIds(ctx, [ref], false))[0];
  const expr = resolveWithin(ctx, set, cost);
  if (id === null || id === undefined) return false; // never mapped: in no set
  return (await askOne(ctx, { kind: 'contains', expr, id })) as boolean;
}

export interface MemberPageResult extends MemberPage {
  endCursor: number | null;
}

/** The page size asked for (default 100), checked against MAX_PAGE_SIZE. */
function pageSize(ctx: Context, first: number | null | undefined): number {
  const max = ctx.services.config.maxPageSize;
  const limit = first ?? Math.min(100, max);
  if (!Number.isInteger(limit) || limit < 1) throw new BitmapError('BAD_INPUT', `first must be at least 1, got ${limit}`);
  if (limit > max) {
    throw new BitmapError('TOO_COMPLEX', `first is ${limit}; the largest page is ${max} (page with \`after\`)`, { limit: max });
  }
  return limit;
}

/** Cost of a members page: its set's keys plus its size by the hundred. */
export const memberPageCost = (ctx: Context, set: SetSpec, first: number | null | undefined): number =>
  setShapeCost(set, ctx.setContext) + Math.ceil(pageSize(ctx, first) / PAGE_PER_UNIT);

export async function memberPage(
  ctx: Context,
  set: SetSpec,
  first: number | null | undefined,
  after: number | null | undefined,
): Promise<MemberPageResult> {
  const limit = pageSize(ctx, first);
  const expr = resolveWithin(ctx, set, memberPageCost(ctx, set, first));
  const page = (await askOne(ctx, { kind: 'members', expr, after: after ?? null, limit })) as MemberPage;
  return { ...page, endCursor: page.ids.length ? page.ids[page.ids.length - 1]! : null };
}
