// The Redis engine's reused answers: an output whose input keys have not changed since it was
// computed is answered from memory, with no counting.
//
// Why: a dashboard refreshed every few seconds asks the same questions of the same keys; over
// periods that have ended the answers cannot change, yet each refresh would count them again
// (in Redis or on the closed-period cache's copies). With its answers held, a refresh costs
// only the GraphQL work and one round trip that proves nothing changed.
//
// Correctness: this rides on the closed-period cache's invalidation (closed-cache.ts). Its
// tracking connection tells this cache of every changed key under the tracked prefix, and of
// flushes and lapses (drop everything). Held answers are used only after that cache's fence
// (a PING on both connections and the SWAPDB check), so every change acknowledged before the
// request began has been heard; one whose key changed meanwhile is computed again. The fence
// also goes out with every run that computes answers, after its reads: what was read across a
// SWAPDB fails it and is not kept (a failed fence drops everything). An answer computed while
// one of its keys changed, or while tracking lapsed, answers that request and is not kept.
// Only outputs whose every key is tracked are reused (counter hashes sit outside the
// prefix: never). An answer is the output of one instruction of the program, so a `members`
// page is reused only for the same set, cursor and page size.

import { createHash } from 'node:crypto';
import { outputSignatures, pickOutputs } from '../program.ts';
import type { OutputValue, Program } from '../program.ts';

/** What reuse needs from the invalidation it rides on. */
export interface AnswerGuard {
  /** True while invalidations flow: only then are answers used or kept. */
  active(): boolean;
  /**
   * Resolves true once every change acknowledged before the call has been heard (and dropped
   * what it touched); false when that cannot be known. Never rejects.
   */
  fence(): Promise<boolean>;
}

export interface AnswerCacheOptions {
  /** Memory budget for the answers, in bytes (estimated: values, identities, the key index). */
  readonly maxBytes: number;
  /** Whether a change to this key is reported (it is under the tracked prefix). */
  isTracked(key: string): boolean;
  readonly guard: AnswerGuard;
}

interface Entry {
  readonly value: OutputValue;
  readonly keys: readonly string[];
  readonly bytes: number;
}

/** The keys one request's reusable outputs read, and which of them changed while it was out. */
interface Run {
  readonly keys: ReadonlySet<string>;
  readonly changed: Set<string>;
  /** Everything was dropped meanwhile (a flush, a lapse of tracking). */
  cleared: boolean;
}

/** Identities longer than this are kept as their SHA-256: a wide OR names thousands of keys. */
const LONGEST_IDENTITY = 200;
/** An entry's own objects, its slot in the map and its identity's string header, roughly. */
const ENTRY_BYTES = 160;
/** A key's slot in the entry's list and in the index's set, beside the key's own characters. */
const KEY_BYTES = 64;

export class AnswerCache {
  private readonly entries = new Map<string, Entry>(); // identity → answer, least recently used first
  /** Key → identities of the held answers that read it: a change drops exactly those. */
  private readonly readers = new Map<string, Set<string>>();
  private bytes = 0;
  private readonly running = new Set<Run>();
  /** Running totals of reusable outputs: answered from memory, and computed. */
  hits = 0;
  misses = 0;

  constructor(private readonly options: AnswerCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Estimated bytes held; never above the budget once a request has finished. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** A key changed: drop the answers that read it, and keep none from a run reading it now. */
  invalidate(key: string): void {
    const ids = this.readers.get(key);
    if (ids) for (const id of [...ids]) this.drop(id);
    for (const run of this.running) if (run.keys.has(key)) run.changed.add(key);
  }

  /** Everything may have changed (a flush, tracking lapsed or restarted). */
  clear(): void {
    this.entries.clear();
    this.readers.clear();
    this.bytes = 0;
    for (const run of this.running) run.cleared = true;
  }

  /**
   * The program's outputs, held answers reused and the rest computed by `compute` (one call for
   * what is not held, sent alongside the fence; a second only when a held answer's key changed
   * meanwhile). Results in the program's order.
   */
  async run(program: Program, compute: (p: Program) => Promise<OutputValue[]>): Promise<OutputValue[]> {
    const { guard, isTracked } = this.options;
    if (!guard.active()) return compute(program);
    const outputs = outputSignatures(program).map(({ text, keys }) => ({
      id: keys.length && keys.every(isTracked) ? identity(text) : null,
      keys,
    }));
    const results: Array<OutputValue | undefined> = new Array(outputs.length);
    const held: number[] = [];
    const missing: number[] = [];
    const watched = new Set<string>();
    outputs.forEach(({ id, keys }, at) => {
      const e = id === null ? undefined : this.get(id);
      if (e) {
        results[at] = copy(e.value);
        held.push(at);
      } else missing.push(at);
      if (id !== null) for (const k of keys) watched.add(k);
    });
    if (!watched.size) return compute(program);
    const run: Run = { keys: watched, changed: new Set(), cleared: false };
    const touched = (at: number): boolean => run.cleared || outputs[at]!.keys.some((k) => run.changed.has(k));
    const only = (which: readonly number[]): Program => {
      const take = new Array<boolean>(outputs.length).fill(false);
      for (const at of which) take[at] = true;
      return pickOutputs(program, take);
    };
    this.running.add(run);
    try {
      // Computing is sent first, the fence after it: a SWAPDB before the reads then fails the
      // fence, and what was read in another database is not kept.
      const computing = !missing.length ? [] : held.length ? compute(only(missing)) : compute(program);
      const [fresh, fenced] = await Promise.all([computing, guard.fence()]);
      missing.forEach((at, j) => (results[at] = fresh[j]));
      // Nothing held could be proven current: drop it all, as a lapse of tracking would.
      if (!fenced) this.clear();
      // Rare: a change or a lapse of tracking while this request was out. Fresh answers are exact.
      const stale = held.filter((at) => !fenced || touched(at));
      if (stale.length) {
        const again = await compute(only(stale));
        stale.forEach((at, j) => (results[at] = again[j]));
      }
      for (const at of [...missing, ...stale]) {
        const { id, keys } = outputs[at]!;
        if (id === null) continue;
        this.misses++;
        if (fenced && !touched(at) && guard.active()) this.keep(id, keys, results[at]!);
      }
      this.hits += held.length - stale.length;
    } finally {
      this.running.delete(run);
    }
    return results as OutputValue[];
  }

  private get(id: string): Entry | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id); // most recently used goes last
    this.entries.set(id, e);
    return e;
  }

  private keep(id: string, keys: readonly string[], value: OutputValue): void {
    let bytes = ENTRY_BYTES + 2 * id.length + valueBytes(value);
    for (const k of keys) bytes += KEY_BYTES + 2 * k.length;
    if (bytes > this.options.maxBytes) return;
    this.drop(id);
    this.entries.set(id, { value: copy(value), keys, bytes });
    this.bytes += bytes;
    for (const k of keys) {
      let ids = this.readers.get(k);
      if (!ids) this.readers.set(k, (ids = new Set()));
      ids.add(id);
    }
    for (const old of this.entries.keys()) {
      if (this.bytes <= this.options.maxBytes) break;
      this.drop(old);
    }
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.bytes -= e.bytes;
    for (const k of e.keys) {
      const ids = this.readers.get(k);
      if (!ids) continue;
      ids.delete(id);
      if (!ids.size) this.readers.delete(k);
    }
  }
}

/** The map's key for a signature: itself when short, else its SHA-256 (a collision is not a practical concern). */
function identity(text: string): string {
  return text.length <= LONGEST_IDENTITY ? text : `#${createHash('sha256').update(text).digest('base64')}`;
}

/** Roughly what a value holds in memory. */
function valueBytes(v: OutputValue): number {
  if (typeof v === 'number' || typeof v === 'boolean') return 16;
  if (v instanceof Uint8Array) return 64 + v.byteLength;
  if ('ids' in v) return 64 + 8 * v.ids.length;
  let n = 64;
  for (const [field] of v) n += 64 + 2 * field.length;
  return n;
}

/** Held values are never handed out themselves: whoever reads an answer may not change the next one. */
function copy(v: OutputValue): OutputValue {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return v.slice();
  if ('ids' in v) return { ids: [...v.ids], hasMore: v.hasMore };
  return v.map(([field, n]) => [field, n] as const);
}
