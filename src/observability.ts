// Observability: Prometheus metrics (one registry per gateway), one JSON log line per request,
// request ids, and an engine wrapper that times every round trip.

import { randomUUID } from 'node:crypto';
import { Kind, getOperationAST } from 'graphql';
import type { DocumentNode, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import type { Plugin, YogaLogger } from 'graphql-yoga';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BitmapError } from './bitmap/errors.ts';
import { EmbeddedEngine } from './bitmap/engines/embedded/index.ts';
import type { Engine, BitWrite, CounterIncrement } from './bitmap/engines/engine.ts';
import { RedisEngine } from './bitmap/engines/redis.ts';
import { readKeys } from './bitmap/program.ts';
import type { OutputValue, Program } from './bitmap/program.ts';

export type LogFn = (fields: Record<string, unknown>) => void;

export interface ObservabilityOptions {
  /** The engine as opened (the closed-period cache counters are read from it). */
  readonly engine: Engine;
  /** Structured log lines; absent: silent. */
  readonly log?: LogFn;
  /** Serve GET /metrics (default true). */
  readonly metrics?: boolean;
  /** Node.js process metrics (default true). */
  readonly processMetrics?: boolean;
  /** The GraphQL path (default /graphql): only requests to it are logged and counted. */
  readonly graphqlEndpoint?: string;
}

/** Incoming request ids are kept when short and made of safe characters; otherwise a new one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
/** Distinct operation names kept as label values; later ones are counted as "(other)". */
const MAX_OPERATION_NAMES = 200;

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000];

const MARK_FIELDS: Record<string, 'mark' | 'unmark'> = {
  markEvent: 'mark',
  markEvents: 'mark',
  markUnique: 'mark',
  unmarkEvent: 'unmark',
  unmarkUnique: 'unmark',
};
const COUNTER_FIELDS = new Set(['incrementCounter', 'incrementCounters']);

interface RequestState {
  readonly id: string;
  readonly start: number;
  operation: string;
  type: string;
  errors: string[];
}

/** Storage refusing writes for lack of space: from the first STORAGE_FULL to the first write it accepts again. */
export interface StorageFullEpisode {
  /** When the first refusal came (ISO-8601). */
  readonly since: string;
  /** Storage calls refused so far. */
  refused: number;
  /** The first refusal's message (what filled up). */
  readonly reason: string;
}

/** Calls whose success proves storage has room again (Redis lets DEL through at maxmemory; reads need none). */
const ROOM_PROVING = new Set(['write', 'increment', 'restore', 'restoreIds']);

const isStorageFull = (e: unknown): e is BitmapError => e instanceof BitmapError && e.code === 'STORAGE_FULL';

export function requestIdFrom(header: string | null): string {
  return header !== null && REQUEST_ID.test(header) ? header : randomUUID();
}

/** engine.ready(), or false when it has not answered within `ms`. */
export async function readyWithin(engine: Engine, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([engine.ready().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class Observability {
  readonly registry = new Registry();
  /** Set when shutdown starts: GET /ready answers 503 so load balancers stop sending. */
  draining = false;

  private readonly log: LogFn;
  private readonly engine: Engine;
  /** Logged once when it starts and once when it ends, however many requests it refuses. */
  private full: StorageFullEpisode | null = null;
  private readonly serveMetrics: boolean;
  private readonly endpoint: string;
  private readonly requests = new WeakMap<Request, RequestState>();
  private readonly operationNames = new Set<string>();

  private readonly gqlRequests: Counter<'operation' | 'type' | 'outcome'>;
  private readonly gqlDuration: Histogram<'operation' | 'type'>;
  private readonly gqlErrors: Counter<'code'>;
  private readonly marks: Counter<'action'>;
  private readonly counterIncrements: Counter;
  private readonly bitWrites: Counter<'engine' | 'mode'>;
  private readonly engineCalls: Counter<'engine' | 'mode' | 'method' | 'outcome'>;
  private readonly engineDuration: Histogram<'engine' | 'mode' | 'method'>;
  private readonly programInstructions: Histogram;
  private readonly programKeys: Histogram;

  constructor(options: ObservabilityOptions) {
    this.log = options.log ?? (() => {});
    this.engine = options.engine;
    this.serveMetrics = options.metrics ?? true;
    this.endpoint = options.graphqlEndpoint ?? '/graphql';
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.gqlRequests = new Counter({
      name: 'bitmapql_graphql_requests_total',
      help: 'GraphQL requests by operation name, operation type and outcome (ok: no errors)',
      labelNames: ['operation', 'type', 'outcome'],
      registers,
    });
    this.gqlDuration = new Histogram({
      name: 'bitmapql_graphql_request_duration_seconds',
      help: 'GraphQL request latency, from the request to the response, by operation name and type',
      labelNames: ['operation', 'type'],
      buckets: SECONDS,
      registers,
    });
    this.gqlErrors = new Counter({
      name: 'bitmapql_graphql_errors_total',
      help: 'GraphQL errors returned, by extensions.code (NONE: no code, e.g. a validation error)',
      labelNames: ['code'],
      registers,
    });
    this.marks = new Counter({
      name: 'bitmapql_marks_total',
      help: 'marks acknowledged (markEvent, markEvents items, markUnique; action="unmark" for the unmark mutations)',
      labelNames: ['action'],
      registers,
    });
    this.counterIncrements = new Counter({
      name: 'bitmapql_counter_increments_total',
      help: 'counter increments acknowledged',
      registers,
    });
    this.bitWrites = new Counter({
      name: 'bitmapql_bit_writes_total',
      help: 'bits written to storage (a mark writes one per key: day, week, month, …)',
      labelNames: ['engine', 'mode'],
      registers,
    });
    this.engineCalls = new Counter({
      name: 'bitmapql_engine_round_trips_total',
      help: 'storage round trips by engine, mode, method (run, write, increment, …) and outcome',
      labelNames: ['engine', 'mode', 'method', 'outcome'],
      registers,
    });
    this.engineDuration = new Histogram({
      name: 'bitmapql_engine_round_trip_duration_seconds',
      help: 'storage round-trip latency by engine, mode and method',
      labelNames: ['engine', 'mode', 'method'],
      buckets: SECONDS,
      registers,
    });
    this.programInstructions = new Histogram({
      name: 'bitmapql_program_instructions',
      help: 'instructions in the program a request runs',
      buckets: SIZES,
      registers,
    });
    this.programKeys = new Histogram({
      name: 'bitmapql_program_keys',
      help: 'distinct storage keys the program of a request reads',
      buckets: SIZES,
      registers,
    });

    const storageFull = (): Promise<StorageFullEpisode | null> => this.storageFull();
    new Gauge({
      name: 'bitmapql_storage_full',
      help: 'storage refuses writes for lack of space (Redis at maxmemory, a full disk): 1 from the first refusal until a write succeeds again, else 0',
      registers,
      async collect() {
        this.set((await storageFull()) ? 1 : 0);
      },
    });
    if (options.engine instanceof EmbeddedEngine) {
      const { recovery } = options.engine;
      new Gauge({
        name: 'bitmapql_recovery_dropped_records',
        help: 'embedded engine: records dropped from a torn or corrupt log tail when the data folder was opened',
        registers,
      }).set(recovery.droppedRecords);
      new Gauge({
        name: 'bitmapql_recovery_dropped_bytes',
        help: 'embedded engine: bytes dropped from a torn or corrupt log tail when the data folder was opened',
        registers,
      }).set(recovery.droppedBytes);
    }

    const cache = options.engine instanceof RedisEngine ? options.engine.cache : null;
    if (cache) {
      // The cache keeps running totals; each scrape adds what changed since the last one.
      const runningTotal = (name: string, help: string, read: () => number): void => {
        let seen = 0;
        new Counter({
          name,
          help,
          registers,
          collect() {
            const now = read();
            this.inc(Math.max(0, now - seen));
            seen = now;
          },
        });
      };
      runningTotal('bitmapql_closed_cache_hits_total', 'closed-period cache: keys answered from an in-process copy', () => cache.hits);
      runningTotal('bitmapql_closed_cache_misses_total', 'closed-period cache: keys fetched from Redis', () => cache.misses);
      new Gauge({
        name: 'bitmapql_closed_cache_entries',
        help: 'closed-period cache: copies held',
        registers,
        collect() {
          this.set(cache.size);
        },
      });
      new Gauge({
        name: 'bitmapql_closed_cache_active',
        help: 'closed-period cache: 1 while keyspace notifications flow (copies are used), else 0',
        registers,
        collect() {
          this.set(cache.active ? 1 : 0);
        },
      });
    }
  }

  /** The engine, with every round trip timed and counted (a proxy: the rest is the engine's own). */
  instrument(engine: Engine): Engine {
    const labels = { engine: engine.kind, mode: engine instanceof RedisEngine ? engine.mode : 'local' };
    const timed = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
      const end = this.engineDuration.startTimer({ ...labels, method });
      try {
        const out = await fn();
        this.engineCalls.inc({ ...labels, method, outcome: 'ok' });
        if (this.full && ROOM_PROVING.has(method)) this.storageHasRoom();
        return out;
      } catch (e) {
        this.engineCalls.inc({ ...labels, method, outcome: 'error' });
        if (isStorageFull(e)) this.storageRefused(e);
        throw e;
      } finally {
        end();
      }
    };
    const programInstructions = this.programInstructions;
    const programKeys = this.programKeys;
    const bitWrites = this.bitWrites;
    const timedMethods: Pick<Engine, 'run' | 'write' | 'increment' | 'scan' | 'delete' | 'dump' | 'restore' | 'resolveIds' | 'restoreIds'> = {
      run(program: Program): Promise<OutputValue[]> {
        if (program.instructions.length === 0) return engine.run(program);
        programInstructions.observe(program.instructions.length);
        const keys = new Set<string>();
        for (const i of program.instructions) for (const k of readKeys(i)) keys.add(k);
        programKeys.observe(keys.size);
        return timed('run', () => engine.run(program));
      },
      async write(writes: readonly BitWrite[]): Promise<void> {
        if (writes.length === 0) return engine.write(writes);
        await timed('write', () => engine.write(writes));
        bitWrites.inc(labels, writes.length);
      },
      increment(increments: readonly CounterIncrement[]): Promise<void> {
        if (increments.length === 0) return engine.increment(increments);
        return timed('increment', () => engine.increment(increments));
      },
      async *scan(prefix: string): AsyncIterable<string[]> {
        const iterator = engine.scan(prefix)[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await timed('scan', () => iterator.next());
            if (next.done) return;
            yield next.value;
          }
        } finally {
          await iterator.return?.();
        }
      },
      delete: (keys) => timed('delete', () => engine.delete(keys)),
      dump: (key) => timed('dump', () => engine.dump(key)),
      restore: (key, bytes) => timed('restore', () => engine.restore(key, bytes)),
      resolveIds: (externals, assign) => timed('resolveIds', () => engine.resolveIds(externals, assign)),
      restoreIds: (pairs) => timed('restoreIds', () => engine.restoreIds(pairs)),
    };
    // Everything else (kind, ready, close, an engine's own extras, instanceof) is the engine's.
    return new Proxy(engine, {
      get(target, prop) {
        if (Object.hasOwn(timedMethods, prop)) return timedMethods[prop as keyof typeof timedMethods];
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * The storage-full episode under way, or null. While one lasts this asks the engine whether it
   * has room again (a write that stores nothing), bounded by `timeoutMs`, so /ready and the
   * metric see the end of an episode even when no write comes.
   */
  async storageFull(timeoutMs = 1000): Promise<StorageFullEpisode | null> {
    if (!this.full || !this.engine.acceptsWrites) return this.full;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      const room = await Promise.race([this.engine.acceptsWrites().catch(() => undefined), timeout]);
      if (room) this.storageHasRoom();
    } finally {
      clearTimeout(timer);
    }
    return this.full;
  }

  private storageRefused(e: BitmapError): void {
    if (this.full) {
      this.full.refused++;
      return;
    }
    this.full = { since: new Date().toISOString(), refused: 1, reason: e.message };
    this.log({ level: 'error', msg: 'storage full: writes are refused until there is room again', engine: this.engine.kind, reason: e.message });
  }

  private storageHasRoom(): void {
    const episode = this.full;
    if (!episode) return;
    this.full = null;
    const seconds = Math.round((Date.now() - Date.parse(episode.since)) / 100) / 10;
    this.log({ level: 'warn', msg: 'storage accepts writes again', engine: this.engine.kind, since: episode.since, seconds, refused: episode.refused });
  }

  /** The operation name as a label value: valid GraphQL names only, and a bounded number of them. */
  private operationLabel(name: string | null | undefined): string {
    if (!name) return '(anonymous)';
    if (!OPERATION_NAME.test(name)) return '(invalid)';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return '(other)';
    this.operationNames.add(name);
    return name;
  }

  private describe(state: RequestState, document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | null {
    const op = getOperationAST(document, operationName ?? undefined) ?? null;
    if (op) {
      state.type = op.operation;
      state.operation = this.operationLabel(op.name?.value);
    }
    return op;
  }

  /** Counts acknowledged marks and increments from a mutation's result. */
  private countWrites(selections: SelectionSetNode, data: Record<string, unknown>): void {
    for (const s of selections.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        this.countWrites(s.selectionSet, data);
        continue;
      }
      if (s.kind !== Kind.FIELD) continue;
      const value = data[s.alias?.value ?? s.name.value] as Record<string, unknown> | null | undefined;
      if (!value || typeof value !== 'object') continue;
      const action = MARK_FIELDS[s.name.value];
      if (action && typeof value.marked === 'number') this.marks.inc({ action }, value.marked);
      if (COUNTER_FIELDS.has(s.name.value) && typeof value.incremented === 'number') this.counterIncrements.inc(value.incremented);
    }
  }

  /** The yoga plugin: request ids, GET /metrics, /ready while draining, per-request metrics and log line. */
  plugin(): Plugin {
    const state = (request: Request): RequestState | undefined => this.requests.get(request);
    return {
      onRequest: async ({ request, url, endResponse, fetchAPI }) => {
        this.requests.set(request, {
          id: requestIdFrom(request.headers.get('x-request-id')),
          start: performance.now(),
          operation: '(none)',
          type: 'unknown',
          errors: [],
        });
        if (url.pathname === '/metrics' && this.serveMetrics && request.method === 'GET') {
          const body = await this.registry.metrics();
          endResponse(new fetchAPI.Response(body, { status: 200, headers: { 'content-type': this.registry.contentType } }));
        } else if (url.pathname === '/ready' && this.draining) {
          endResponse(
            new fetchAPI.Response(JSON.stringify({ ready: false, draining: true }), {
              status: 503,
              headers: { 'content-type': 'application/json' },
            }),
          );
        }
      },
      onParams: ({ params, request }) => {
        const s = state(request);
        if (s && typeof params.operationName === 'string') s.operation = this.operationLabel(params.operationName);
        else if (s) s.operation = '(anonymous)';
      },
      onParse: ({ context }) => {
        const { request, params } = context as { request?: Request; params?: { operationName?: string | null } };
        return ({ result }) => {
          const s = request && state(request);
          if (s && result && typeof result === 'object' && 'kind' in result) this.describe(s, result, params?.operationName);
        };
      },
      onExecute: ({ args }) => {
        const request = (args.contextValue as { request?: Request }).request;
        const s = request && state(request);
        const op = s ? this.describe(s, args.document, args.operationName) : getOperationAST(args.document, args.operationName ?? undefined);
        if (op?.operation !== 'mutation') return;
        return {
          onExecuteDone: ({ result }) => {
            if (!('data' in result) || !result.data) return;
            this.countWrites(op.selectionSet, result.data as Record<string, unknown>);
          },
        };
      },
      onResultProcess: ({ request, result }) => {
        const s = state(request);
        if (!s) return;
        for (const r of Array.isArray(result) ? result : [result]) {
          const errors = (r as { errors?: ReadonlyArray<{ extensions?: { code?: unknown } }> }).errors;
          if (!Array.isArray(errors)) continue;
          for (const e of errors) {
            const code = e?.extensions?.code;
            s.errors.push(typeof code === 'string' && ERROR_CODE.test(code) ? code : code === undefined ? 'NONE' : 'OTHER');
          }
        }
      },
      onResponse: ({ request, response }) => {
        const s = state(request);
        const id = s?.id ?? requestIdFrom(request.headers.get('x-request-id'));
        try {
          response.headers.set('x-request-id', id);
        } catch {
          // immutable headers (a Response.error()): nothing to echo
        }
        if (!s) return;
        this.requests.delete(request);
        const path = new URL(request.url, 'http://localhost').pathname;
        if (path !== this.endpoint) return; // probes and scrapes are not logged
        const seconds = (performance.now() - s.start) / 1000;
        const outcome = s.errors.length || response.status >= 400 ? 'error' : 'ok';
        this.gqlRequests.inc({ operation: s.operation, type: s.type, outcome });
        this.gqlDuration.observe({ operation: s.operation, type: s.type }, seconds);
        for (const code of s.errors) this.gqlErrors.inc({ code });
        this.log({
          level: s.errors.includes('INTERNAL_SERVER_ERROR') || response.status >= 500 ? 'error' : 'info',
          msg: 'request',
          requestId: id,
          method: request.method,
          operation: s.operation,
          type: s.type,
          status: response.status,
          durationMs: Math.round(seconds * 1e4) / 10,
          ...(s.errors.length ? { errors: [...new Set(s.errors)] } : {}),
        });
      },
    };
  }
}

/** Yoga's own log calls (e.g. an unexpected error behind a masked one) as structured lines. */
export function yogaLogger(log: LogFn): YogaLogger {
  const line =
    (level: string) =>
    (...args: unknown[]): void => {
      const error = args.find((a): a is Error => a instanceof Error);
      const msg = args
        .map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)))
        .join(' ');
      log({ level, msg, ...(error?.stack ? { stack: error.stack } : {}) });
    };
  return { debug: () => {}, info: line('info'), warn: line('warn'), error: line('error') };
}
