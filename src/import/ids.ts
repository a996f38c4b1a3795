// String ids of an import: dense ids for the string ids of each batch, from the store's id
// mapping, looked up and (the missing ones) assigned one batch after the other.

import type { Engine } from '../bitmap/engines/engine.ts';

/** String ids known to this import; beyond this many the cache starts over. */
const ID_CACHE_LIMIT = 4_000_000;

export class IdAssigner {
  private readonly cache = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  /** `onNew` hears how many ids the store handed out, as soon as it has. */
  constructor(
    private readonly engine: Engine,
    private readonly onNew: (count: number) => void = () => {},
    private readonly cacheLimit = ID_CACHE_LIMIT,
  ) {}

  /** The dense id of a string id this import has resolved, while it is remembered. */
  known(external: string): number | undefined {
    return this.cache.get(external);
  }

  /**
   * Dense ids for the string ids among `ids` not seen yet: which exist, then new ones for the
   * rest (two round trips at most, so the summary can tell how many ids are new). Calls run one
   * after the other, so an id is never assigned twice by this import.
   */
  resolve(ids: ReadonlyArray<string | number>): Promise<void> {
    const done = this.chain.then(() => this.lookUp(ids));
    // Handled here (the chain goes on); a caller that awaits it still gets the error.
    this.chain = done.catch(() => {});
    return done;
  }

  /** The dense id of an id of a batch whose resolve() is done. */
  dense(id: string | number): number {
    return typeof id === 'number' ? id : this.cache.get(id)!;
  }

  private async lookUp(ids: ReadonlyArray<string | number>): Promise<void> {
    // Start over; parsed batches hold the dense ids they found, and a batch's own strings are looked up below.
    if (this.cache.size > this.cacheLimit) this.cache.clear();
    const unknown = new Set<string>();
    for (const id of ids) if (typeof id === 'string' && !this.cache.has(id)) unknown.add(id);
    if (unknown.size === 0) return;
    const asked = [...unknown];
    const found = await this.engine.resolveIds(asked, false);
    const missing: string[] = [];
    asked.forEach((e, j) => {
      const d = found[j];
      if (d === null || d === undefined) missing.push(e);
      else this.cache.set(e, d);
    });
    if (missing.length === 0) return;
    const assigned = await this.engine.resolveIds(missing, true);
    missing.forEach((e, j) => {
      const d = assigned[j];
      if (d === null || d === undefined) throw new Error(`no id was assigned to ${JSON.stringify(e)}`);
      this.cache.set(e, d);
    });
    // Counted when assigned: a batch abandoned after this (interrupted, failed) still made them.
    this.onNew(missing.length);
  }
}
