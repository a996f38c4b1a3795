// String ids: users given by dense id or external id, resolved through the engine's mapping.

import type DataLoader from 'dataloader';
import { denseIds, externalsOf } from '../bitmap/ids.ts';
import type { UserRef } from '../bitmap/ids.ts';
import type { Context } from '../context.ts';

/**
 * Dense ids of users given either way. Marks assign ids to new external ids (atomically, in the
 * engine); reads and unmarks only look them up, and an unknown external id is null: not a member.
 */
export async function userIds(ctx: Context, refs: readonly UserRef[], assign: boolean): Promise<Array<number | null>> {
  const externals = externalsOf(refs);
  if (externals.length === 0) return denseIds(refs, externals, []);
  const ids = assign ? await ctx.services.engine.resolveIds(externals, true) : await loadAll(ctx.idOf, externals);
  return denseIds(refs, externals, ids);
}

/** External ids of dense ids (null where none was mapped), for `members { externalIds }`. */
export const externalIdsOf = (ctx: Context, ids: readonly number[]): Promise<Array<string | null>> => loadAll(ctx.externalOf, ids);

/** loadMany, failing with the first error instead of returning it in place. */
async function loadAll<K, V>(loader: DataLoader<K, V>, keys: readonly K[]): Promise<V[]> {
  const values = await loader.loadMany(keys);
  const failed = values.find((v): v is Error => v instanceof Error);
  if (failed) throw failed;
  return values as V[];
}
