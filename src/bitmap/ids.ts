// String ids: a user given by its integer id or by an external string id (mapped to a dense id).

import { BitmapError, LONE_SURROGATE_PROBLEM, assertUserId, hasLoneSurrogate } from './errors.ts';

export const MAX_EXTERNAL_ID_LENGTH = 512;

/** A user as a caller names it: a dense integer id, or an external id to be mapped. */
export type UserRef = { readonly id: number } | { readonly external: string };

/**
 * Exactly one of `userId` and `externalId`. External ids need the mapping to be switched on
 * (ID_MAPPING): the gateway never guesses whether "123" means user 123 or the string "123".
 */
export function userRef(userId: number | null | undefined, externalId: string | null | undefined, mappingOn: boolean): UserRef {
  const hasId = userId !== null && userId !== undefined;
  const hasExternal = externalId !== null && externalId !== undefined;
  if (hasId === hasExternal) throw new BitmapError('BAD_INPUT', 'give exactly one of userId and externalId');
  if (hasId) return { id: assertUserId(userId) };
  if (!mappingOn) {
    throw new BitmapError('UNSUPPORTED', 'string ids are off on this gateway: start it with ID_MAPPING=true to use externalId');
  }
  return { external: assertExternalId(externalId!) };
}

/** The rules of an external id, for the API and the importer alike. */
export function assertExternalId(external: string, where = 'externalId'): string {
  if (external.length === 0 || external.length > MAX_EXTERNAL_ID_LENGTH) {
    throw new BitmapError('BAD_USER_ID', `${where} must be 1 to ${MAX_EXTERNAL_ID_LENGTH} characters, got ${external.length}`);
  }
  if (hasLoneSurrogate(external)) throw new BitmapError('BAD_EVENT_NAME', `${where} ${LONE_SURROGATE_PROBLEM}: ${JSON.stringify(external.slice(0, 60))}`);
  return external;
}

/**
 * Pairs to restore (copying a mapping) must agree with each other: one external id, one dense id,
 * both ways. Engines check them against what they hold; this checks them among themselves.
 */
export function assertPairsAgree(pairs: ReadonlyArray<readonly [string, number]>): void {
  const idOf = new Map<string, number>();
  const externalOf = new Map<number, string>();
  for (const [external, id] of pairs) {
    const had = idOf.get(external);
    const holder = externalOf.get(id);
    if ((had !== undefined && had !== id) || (holder !== undefined && holder !== external)) {
      throw new Error(`${JSON.stringify(external)} -> ${id} contradicts another pair of the same mapping`);
    }
    idOf.set(external, id);
    externalOf.set(id, external);
  }
}

/** The external ids among `refs`, each once. */
export const externalsOf = (refs: readonly UserRef[]): string[] => [
  ...new Set(refs.flatMap((r) => ('external' in r ? [r.external] : []))),
];

/** Dense ids for `refs`, given the dense id of each external id (null: not mapped). */
export function denseIds(refs: readonly UserRef[], externals: readonly string[], ids: ReadonlyArray<number | null>): Array<number | null> {
  const byExternal = new Map(externals.map((e, i) => [e, ids[i] ?? null]));
  return refs.map((r) => ('id' in r ? r.id : (byExternal.get(r.external) ?? null)));
}
