// Live answers: subscriptions share one evaluation per question, evaluated again when a key it read changes or its periods move on.
//
// Nothing polls. A question is evaluated like a query (a request context, its loader, its cost
// meter) with the engine's reads recorded: the keys its answer came from. The engine's change
// feed (Engine.watch: the embedded engine's own writes, Redis client-side caching for every
// writer) names changed keys; a question reading one is evaluated again, at most once per
// LIVE_MIN_INTERVAL_MS however many writes arrive, and its subscribers get the new answer only
// when it differs. Time is the other input: a question whose keys would differ after the next
// minute, hour, day, week or month boundary (a `current` period, `last: N`, a range to now) gets one
// timer for that instant; a question over fixed dates gets none that matters (one check a month).

import { BitmapError } from './bitmap/errors.ts';
import type { ChangeListener, Engine } from './bitmap/engines/engine.ts';
import { periodAt, periodEnd } from './bitmap/period.ts';
import type { Granularity, TimeZone } from './bitmap/period.ts';
import { zoneNamed } from './bitmap/zones.ts';
import { readKeys } from './bitmap/program.ts';
import type { Program } from './bitmap/program.ts';
import { createContext } from './context.ts';
import type { Context, Services } from './context.ts';

export interface LiveOptions {
  /** At most one evaluation of a question in this time (LIVE_MIN_INTERVAL_MS). */
  readonly minIntervalMs: number;
  /** Open subscriptions per API key; anonymous callers share one allowance (LIVE_MAX_PER_KEY). */
  readonly maxPerKey: number;
  /** Open subscriptions in all (LIVE_MAX_TOTAL). */
  readonly maxTotal: number;
  readonly log?: (fields: Record<string, unknown>) => void;
}

/** A question's answer from a request context: what a query field's resolver returns. */
export type Evaluate = (ctx: Context) => Promise<unknown>;

/** Boundaries looked at, finest first; a YEAR ends at a month boundary. */
const BOUNDARIES: readonly Granularity[] = ['MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH'];
/** setTimeout's longest delay is about 24.8 days: a later boundary is waited for in steps. */
const MAX_DELAY_MS = 86_400_000;
/** A failed evaluation is tried again after this long (or sooner, on the next change). */
const RETRY_MS = 1000;

/**
 * One answer of a question, the same object for all its subscribers: what they are sent is
 * worked out once per answer and subscription document (plugins/live-share.ts), not per subscriber.
 */
export class Answer<T = unknown> {
  constructor(readonly value: T) {}
}

/** The only error a dry resolution throws: it has recorded the keys and stops before storage. */
const DRY = Symbol('dry run');

/** One question and everyone subscribed to it. */
interface Question {
  readonly id: string;
  readonly evaluate: Evaluate;
  readonly sinks: Set<Sink>;
  /** Settles once the first evaluation has (its error fails the subscriptions waiting on it). */
  first: Promise<void>;
  /** The input keys of the last evaluation. */
  keys: ReadonlySet<string>;
  /** Its listings: each key prefix it scanned (a breakdown's events), with the keys found. */
  listings: Listings;
  /** The last answer and its JSON text (a new answer is sent only when its text differs). */
  value: Answer;
  text: string | undefined;
  running: boolean;
  /** A change arrived that the answer being computed (or the last one) may not include. */
  pending: boolean;
  /** Keys heard of while running (null: everything); checked against the keys the run read. */
  heard: Set<string> | null;
  /** performance.now() of the last evaluation's start. */
  lastStart: number;
  /** Coalescing or retry timer. */
  timer: NodeJS.Timeout | null;
  /** An evaluation due at the next turn of the event loop. */
  soon: NodeJS.Immediate | null;
  /** The zone its periods are named in when its arguments name one (`timeZone`): its period ends are boundaries too. */
  readonly zone: TimeZone | null;
  /** The next period boundary (the gateway's clock) and whether the keys differ after it. */
  boundary: { at: number; rebinds: boolean; timer: NodeJS.Timeout | null } | null;
  disposed: boolean;
}

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== null && v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
};

/** The zone a question's arguments name (`timeZone` of series, cohort and funnel), or null. */
function zoneOfArgs(args: unknown): TimeZone | null {
  const name = args && typeof args === 'object' ? (args as { timeZone?: unknown }).timeZone : undefined;
  return typeof name === 'string' ? zoneNamed(name) : null;
}

/** The id two subscriptions share an evaluation by: the field and its arguments, canonical (key order and nulls do not matter). */
export const questionId = (field: string, args: unknown): string => `${field} ${JSON.stringify(canonical(args))}`;

export class LiveRegistry {
  private readonly questions = new Map<string, Question>();
  /** Questions by the keys they read. */
  private readonly byKey = new Map<string, Set<Question>>();
  /** Questions by the key prefixes they listed: a new key under one may be a new value. */
  private readonly byPrefix = new Map<string, Set<Question>>();
  private readonly running = new Set<Question>();
  private readonly perOwner = new Map<string, number>();
  private open = 0;
  private unwatch: (() => void) | null = null;
  private closed = false;
  private readonly closers: Array<() => void> = [];

  constructor(
    private readonly services: () => Services,
    private readonly options: LiveOptions,
  ) {}

  /** Open subscriptions. */
  get size(): number {
    return this.open;
  }

  /** Questions being kept live (subscriptions with the same question share one). */
  get shared(): number {
    return this.questions.size;
  }

  /**
   * A subscription to a question: resolves, once its first answer is in, to an iterator of its
   * answers (the first at once). Refused with TOO_MANY_SUBSCRIPTIONS over a cap, and with the
   * evaluation's own error (TOO_COMPLEX, BAD_INPUT, …) when the question cannot be answered.
   */
  async subscribe(field: string, args: unknown, owner: string, evaluate: Evaluate): Promise<AsyncIterableIterator<Answer>> {
    if (this.closed) throw new BitmapError('SERVICE_UNAVAILABLE', 'the gateway is shutting down: subscribe again to another instance or after it restarts');
    const { maxTotal, maxPerKey } = this.options;
    if (this.open >= maxTotal) {
      throw new BitmapError(
        'TOO_MANY_SUBSCRIPTIONS',
        `the gateway has ${this.open} open subscriptions; the limit is ${maxTotal} (LIVE_MAX_TOTAL): close some, or query instead`,
        { limit: maxTotal },
      );
    }
    const mine = this.perOwner.get(owner) ?? 0;
    if (mine >= maxPerKey) {
      throw new BitmapError(
        'TOO_MANY_SUBSCRIPTIONS',
        `this ${owner === 'anonymous' ? 'anonymous caller' : 'API key'} has ${mine} open subscriptions; the limit is ${maxPerKey} (LIVE_MAX_PER_KEY): close some (one subscription per dashboard panel, not per viewer refresh)`,
        { limit: maxPerKey },
      );
    }
    this.watch();
    const id = questionId(field, args);
    let q = this.questions.get(id);
    const fresh = !q;
    if (!q) {
      q = this.question(id, evaluate, zoneOfArgs(args));
      this.questions.set(id, q);
    }
    const question = q;
    const sink = new Sink(() => this.leave(question, sink, owner));
    question.sinks.add(sink);
    this.open++;
    this.perOwner.set(owner, mine + 1);
    if (fresh) question.first = this.run(question, true);
    try {
      await question.first;
    } catch (e) {
      sink.finish();
      throw e;
    }
    sink.push(question.value);
    return sink;
  }

  /** Ends every stream (each subscriber's response completes) and stops listening: shutdown. */
  close(): void {
    this.closed = true;
    for (const q of [...this.questions.values()]) for (const s of [...q.sinks]) s.finish();
    this.unwatch?.();
    this.unwatch = null;
    for (const f of this.closers.splice(0)) f();
  }

  /** `f` runs on close(), after every subscription has ended: a transport ends the connections it holds open (plugins/live-sse.ts). */
  onClose(f: () => void): void {
    this.closers.push(f);
  }

  private question(id: string, evaluate: Evaluate, zone: TimeZone | null): Question {
    return {
      id,
      evaluate,
      zone,
      sinks: new Set(),
      first: Promise.resolve(),
      keys: new Set(),
      listings: new Map(),
      value: new Answer(undefined),
      text: undefined,
      running: false,
      pending: false,
      heard: null,
      lastStart: -Infinity,
      timer: null,
      soon: null,
      boundary: null,
      disposed: false,
    };
  }

  private watch(): void {
    if (this.unwatch) return;
    const engine = this.services().engine;
    this.unwatch = engine.watch ? engine.watch(this.onChange) : () => {};
  }

  private readonly onChange: ChangeListener = (keys) => {
    for (const q of this.running) {
      if (keys === null) q.heard = null;
      else if (q.heard) for (const k of keys) q.heard.add(k);
    }
    if (keys === null) {
      for (const q of this.questions.values()) this.changed(q);
      return;
    }
    for (const k of keys) for (const q of this.byKey.get(k) ?? []) this.changed(q);
    for (const [prefix, questions] of this.byPrefix) {
      for (const k of keys) {
        if (!k.startsWith(prefix)) continue;
        for (const q of questions) if (!q.listings.get(prefix)?.has(k)) this.changed(q);
      }
    }
  };

  private changed(q: Question): void {
    if (q.disposed) return;
    if (q.running) q.pending = true;
    else this.schedule(q, 0);
  }

  /** Evaluates `q` as soon as LIVE_MIN_INTERVAL_MS since the last start allows (and `atLeast` ms from now). */
  private schedule(q: Question, atLeast: number): void {
    if (q.timer || q.soon || q.disposed) return;
    const wait = Math.max(atLeast, q.lastStart + this.options.minIntervalMs - performance.now());
    if (wait <= 0) {
      // Not at once: one write changes several keys (a mark's day, week and month), told one at a
      // time (Redis sends an invalidation a key). Heard during an evaluation, the others would
      // each make it run again LIVE_MIN_INTERVAL_MS later, and the next write's answer wait for that.
      q.soon = setImmediate(() => {
        q.soon = null;
        void this.run(q, false);
      });
      return;
    }
    q.timer = setTimeout(() => {
      q.timer = null;
      void this.run(q, false);
    }, wait);
    q.timer.unref();
  }

  /** One evaluation; sends the answer when it differs. The first one's error is the subscriber's; later ones are logged and retried. */
  private async run(q: Question, first: boolean): Promise<void> {
    if (q.disposed) return;
    if (q.running) {
      q.pending = true;
      return;
    }
    q.running = true;
    q.pending = false;
    q.heard = new Set();
    q.lastStart = performance.now();
    this.running.add(q);
    const services = this.services();
    const now = services.now();
    let failed = false;
    try {
      const { value, keys, listings } = await this.evaluate(q, services, now);
      this.index(q, keys, listings);
      if (q.heard === null || [...q.heard].some((k) => keys.has(k) || unlisted(listings, k))) q.pending = true;
      const text = JSON.stringify(value);
      if (text !== q.text) {
        q.value = new Answer(value);
        q.text = text;
        if (!first) for (const s of q.sinks) s.push(q.value);
      }
      if (first || !q.boundary || now >= q.boundary.at) await this.nextBoundary(q, services, now);
    } catch (e) {
      if (first) throw e;
      failed = true;
      this.options.log?.({ level: 'warn', msg: 'live answer not evaluated again', question: q.id, error: (e as Error)?.message ?? String(e) });
    } finally {
      q.running = false;
      q.heard = null;
      this.running.delete(q);
      if (!q.sinks.size) this.dispose(q);
      else if (failed) this.schedule(q, RETRY_MS);
      else if (q.pending) this.schedule(q, 0);
    }
  }

  /** The answer, with the keys its programs read. */
  private async evaluate(q: Question, services: Services, now: number): Promise<{ value: unknown; keys: Set<string>; listings: Listings }> {
    const keys = new Set<string>();
    const listings: Listings = new Map();
    const engine = recording(services.engine, keys, false, listings);
    const value = await q.evaluate(createContext({ ...services, engine, now: () => now }));
    return { value, keys, listings };
  }

  /** The keys the question would read at `at`, resolved without touching storage (null: it cannot be asked then). */
  private async keysAt(q: Question, services: Services, at: number): Promise<Set<string> | null> {
    const keys = new Set<string>();
    try {
      await q.evaluate(createContext({ ...services, engine: recording(services.engine, keys, true), now: () => at }));
    } catch (e) {
      if (e !== DRY) return null;
    }
    return keys;
  }

  /**
   * The first minute, hour, day, week or month boundary after `now` past which the question reads other
   * keys, with a timer for it; none within a month: a timer at the month's end only to look again.
   */
  private async nextBoundary(q: Question, services: Services, now: number): Promise<void> {
    // A question in another zone moves on at that zone's period ends (src/bitmap/zones.ts), which need not be the storage zone's.
    const zones = q.zone ? [services.tz, q.zone] : [services.tz];
    const ends = [...new Set(zones.flatMap((tz) => BOUNDARIES.map((g) => periodEnd(periodAt(g, now, tz), tz))))].sort((a, b) => a - b);
    let found: { at: number; rebinds: boolean } = { at: ends[ends.length - 1]!, rebinds: false };
    for (const at of ends) {
      const keys = await this.keysAt(q, services, at);
      if (!keys || keys.size !== q.keys.size || [...keys].some((k) => !q.keys.has(k))) {
        found = { at, rebinds: true };
        break;
      }
    }
    if (q.boundary?.timer) clearTimeout(q.boundary.timer);
    q.boundary = { ...found, timer: null };
    this.armBoundary(q);
  }

  private armBoundary(q: Question): void {
    const b = q.boundary;
    if (!b || q.disposed) return;
    const services = this.services();
    const wait = b.at - services.now();
    b.timer = setTimeout(
      () => {
        b.timer = null;
        if (q.boundary !== b || q.disposed) return;
        if (services.now() < b.at) this.armBoundary(q); // a long wait in steps, or a timer a little early
        else if (b.rebinds) {
          if (q.running) q.pending = true;
          else void this.run(q, false);
        } else void this.nextBoundary(q, services, services.now()).catch(() => {});
      },
      Math.min(Math.max(wait, 0), MAX_DELAY_MS),
    );
    b.timer.unref();
  }

  private index(q: Question, keys: ReadonlySet<string>, listings: Listings = new Map()): void {
    for (const p of q.listings.keys()) {
      if (listings.has(p)) continue;
      const set = this.byPrefix.get(p);
      set?.delete(q);
      if (set && !set.size) this.byPrefix.delete(p);
    }
    for (const p of listings.keys()) {
      let set = this.byPrefix.get(p);
      if (!set) this.byPrefix.set(p, (set = new Set()));
      set.add(q);
    }
    q.listings = listings;
    for (const k of q.keys) {
      if (keys.has(k)) continue;
      const set = this.byKey.get(k);
      set?.delete(q);
      if (set && !set.size) this.byKey.delete(k);
    }
    for (const k of keys) {
      let set = this.byKey.get(k);
      if (!set) this.byKey.set(k, (set = new Set()));
      set.add(q);
    }
    q.keys = keys;
  }

  private leave(q: Question, sink: Sink, owner: string): void {
    if (!q.sinks.delete(sink)) return;
    this.open--;
    const n = (this.perOwner.get(owner) ?? 1) - 1;
    if (n > 0) this.perOwner.set(owner, n);
    else this.perOwner.delete(owner);
    if (!q.sinks.size && !q.running) this.dispose(q);
  }

  private dispose(q: Question): void {
    if (q.disposed) return;
    q.disposed = true;
    if (q.timer) clearTimeout(q.timer);
    if (q.soon) clearImmediate(q.soon);
    if (q.boundary?.timer) clearTimeout(q.boundary.timer);
    this.index(q, new Set());
    if (this.questions.get(q.id) === q) this.questions.delete(q.id);
  }
}

/** Key prefixes scanned, each with the keys the scan found. */
type Listings = Map<string, Set<string>>;

/** A key under a listed prefix that its listing did not hold: a new key, maybe of a new value. */
const unlisted = (listings: Listings, key: string): boolean => {
  for (const [prefix, found] of listings) if (key.startsWith(prefix) && !found.has(key)) return true;
  return false;
};

/**
 * `engine` with the keys of every program it runs added to `keys`, and with `listings` each scan
 * and what it found (a breakdown's listing of names is an input too); `dry`: no program is run
 * (DRY is thrown instead), though scans are, since what a breakdown reads depends on them.
 */
function recording(engine: Engine, keys: Set<string>, dry: boolean, listings: Listings = new Map()): Engine {
  const run = async (program: Program) => {
    for (const i of program.instructions) for (const k of readKeys(i)) keys.add(k);
    if (dry) throw DRY;
    return engine.run(program);
  };
  async function* scan(prefix: string): AsyncIterable<string[]> {
    let found = listings.get(prefix);
    if (!found) listings.set(prefix, (found = new Set()));
    for await (const batch of engine.scan(prefix)) {
      for (const k of batch) found.add(k);
      yield batch;
    }
  }
  return new Proxy(engine, {
    get: (target, prop) => (prop === 'run' ? run : prop === 'scan' ? scan : Reflect.get(target, prop, target)),
  });
}

/**
 * One subscriber's stream: only the newest answer waits to be sent (a slow reader skips answers
 * it has not read yet, never queues them). Ending it (the client left, or shutdown) settles a
 * pending read at once: an async generator would hold its cleanup until the next answer.
 */
export class Sink implements AsyncIterableIterator<Answer> {
  private latest: { value: Answer } | null = null;
  private waiting: ((r: IteratorResult<Answer>) => void) | null = null;
  private listener: { answer: (a: Answer) => void; end: () => void } | null = null;
  private done = false;

  constructor(private readonly onEnd: () => void) {}

  /**
   * Answers handed to `answer` as they come (the one waiting first), with no promise per answer,
   * instead of being read with next(); `end` once the stream ends (now, if it has).
   */
  listen(answer: (a: Answer) => void, end: () => void): void {
    if (this.done) {
      end();
      return;
    }
    this.listener = { answer, end };
    const l = this.latest;
    this.latest = null;
    if (l) answer(l.value);
  }

  push(value: Answer): void {
    if (this.done) return;
    if (this.listener) {
      this.listener.answer(value);
      return;
    }
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w({ value, done: false });
    } else this.latest = { value };
  }

  next(): Promise<IteratorResult<Answer>> {
    const l = this.latest;
    if (l) {
      this.latest = null;
      return Promise.resolve({ value: l.value, done: false });
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<Answer>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(e: unknown): Promise<IteratorResult<Answer>> {
    this.finish();
    return Promise.reject(e as Error);
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.latest = null;
    const w = this.waiting;
    this.waiting = null;
    w?.({ value: undefined, done: true });
    this.onEnd();
    this.listener?.end();
    this.listener = null;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
