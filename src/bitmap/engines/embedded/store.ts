// The embedded engine's state in memory: bitmaps, counter hashes and string ids.

import type { Bitmap } from '../roaring.ts';

/** Counter hashes: key → field → value. */
export type Counters = Map<string, Map<string, number>>;

/** What the engine holds: bitmaps and counter hashes, never both under one key. */
export interface Store {
  readonly bitmaps: Map<string, Bitmap>;
  readonly counters: Counters;
  readonly ids: IdMap;
  /**
   * Idempotency keys of applied write records, with their batch digest and expiry (ms): from the
   * snapshot (the ones unexpired when it was taken) and the log after it.
   */
  once?: Map<string, { digest: string; expires: number }>;
}

/** String ids: external id ↔ dense id, and the next dense id to hand out. */
export interface IdMap {
  readonly idOf: Map<string, number>;
  readonly externalOf: Map<number, string>;
  next: number;
}

export const emptyIds = (): IdMap => ({ idOf: new Map(), externalOf: new Map(), next: 0 });

export const emptyStore = (): Store => ({ bitmaps: new Map(), counters: new Map(), ids: emptyIds() });

export function assignId(ids: IdMap, external: string, id: number): void {
  ids.idOf.set(external, id);
  ids.externalOf.set(id, external);
  if (id >= ids.next) ids.next = id + 1;
}

/** Takes back assignments whose record was not stored (`next` stays: a gap is harmless, a reuse would not be). */
export function unassignIds(ids: IdMap, pairs: ReadonlyArray<readonly [string, number]>): void {
  for (const [external, id] of pairs) {
    if (ids.idOf.get(external) !== id) continue;
    ids.idOf.delete(external);
    ids.externalOf.delete(id);
  }
}
