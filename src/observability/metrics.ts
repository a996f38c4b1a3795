// Prometheus metrics: one registry per gateway, and every metric's name, labels and help in one place.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from '../bitmap/engines/engine.ts';
import type { WriteTally } from '../context.ts';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000];

export interface MetricsOptions {
  /** The engine as opened: its describe() says which of its own figures there are, and gives them at each scrape. */
  readonly engine: Engine;
  /** Whether storage refuses writes for lack of space now (asked at each scrape). */
  readonly storageFull: () => Promise<boolean>;
  /** Node.js process metrics (default true). */
  readonly processMetrics?: boolean;
}

export type EngineLabels = { engine: string; mode: string };

/** The gateway's metrics; as a WriteTally, the mark and counter resolvers report what storage acknowledged. */
export class Metrics implements WriteTally {
  readonly registry = new Registry();

  readonly gqlRequests: Counter<'operation' | 'type' | 'outcome'>;
  readonly gqlDuration: Histogram<'operation' | 'type'>;
  readonly gqlErrors: Counter<'code'>;
  readonly bitWrites: Counter<'engine' | 'mode'>;
  readonly engineCalls: Counter<'engine' | 'mode' | 'method' | 'outcome'>;
  readonly engineDuration: Histogram<'engine' | 'mode' | 'method'>;
  readonly programInstructions: Histogram;
  readonly programKeys: Histogram;
  private readonly markCount: Counter<'action'>;
  private readonly counterHits: Counter;

  constructor(options: MetricsOptions) {
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
    this.markCount = new Counter({
      name: 'bitmapql_marks_total',
      help: 'marks acknowledged (markEvent, markEvents items, markUnique; action="unmark" for the unmark mutations)',
      labelNames: ['action'],
      registers,
    });
    this.counterHits = new Counter({
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

    const { storageFull } = options;
    new Gauge({
      name: 'bitmapql_storage_full',
      help: 'storage refuses writes for lack of space (Redis at maxmemory, a full disk): 1 from the first refusal until a write succeeds again, else 0',
      registers,
      async collect() {
        this.set((await storageFull()) ? 1 : 0);
      },
    });
    this.engineStats(options.engine);
  }

  marks(action: 'mark' | 'unmark', n: number): void {
    if (n > 0) this.markCount.inc({ action }, n);
  }

  counterIncrements(n: number): void {
    if (n > 0) this.counterHits.inc(n);
  }

  /** The engine's own figures, for those of them it has. */
  private engineStats(engine: Engine): void {
    const registers = [this.registry];
    const stats = () => engine.describe().stats;
    const { recovery, closedCache, answerCache } = stats();
    // The engine keeps running totals; each scrape adds what changed since the last one.
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
    if (recovery) {
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
    if (closedCache) {
      const cache = () => stats().closedCache ?? { hits: 0, misses: 0, entries: 0, active: false };
      runningTotal('bitmapql_closed_cache_hits_total', 'closed-period cache: keys answered from an in-process copy', () => cache().hits);
      runningTotal('bitmapql_closed_cache_misses_total', 'closed-period cache: keys of closed periods read in Redis, not from a held copy', () => cache().misses);
      new Gauge({
        name: 'bitmapql_closed_cache_entries',
        help: 'closed-period cache: copies held',
        registers,
        collect() {
          this.set(cache().entries);
        },
      });
      new Gauge({
        name: 'bitmapql_closed_cache_active',
        help: 'closed-period cache: 1 while Redis sends invalidations (copies are used), else 0',
        registers,
        collect() {
          this.set(cache().active ? 1 : 0);
        },
      });
    }
    if (answerCache) {
      const answers = () => stats().answerCache ?? { hits: 0, misses: 0, entries: 0, bytes: 0 };
      runningTotal('bitmapql_answer_cache_hits_total', 'reused answers: outputs answered from memory, with no counting', () => answers().hits);
      runningTotal('bitmapql_answer_cache_misses_total', 'reused answers: outputs that could be reused but were computed', () => answers().misses);
      new Gauge({
        name: 'bitmapql_answer_cache_entries',
        help: 'reused answers: answers held',
        registers,
        collect() {
          this.set(answers().entries);
        },
      });
      new Gauge({
        name: 'bitmapql_answer_cache_bytes',
        help: 'reused answers: estimated bytes held (at most ANSWER_CACHE_MB)',
        registers,
        collect() {
          this.set(answers().bytes);
        },
      });
    }
  }
}
