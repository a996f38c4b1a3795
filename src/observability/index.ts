// Observability of one gateway, wired: its metrics, the storage-full episode, the instrumented engine, the request log.

import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import type { Engine } from '../bitmap/engines/engine.ts';
import type { WriteTally } from '../context.ts';
import { instrument } from './instrument.ts';
import { Metrics } from './metrics.ts';
import { requestLog } from './request-log.ts';
import type { LogFn } from './request-log.ts';
import { StorageFullWatch } from './storage-full.ts';
import type { StorageFullEpisode } from './storage-full.ts';

export interface ObservabilityOptions {
  /** The engine as opened: its own figures are read from it, and it is asked whether storage has room again. */
  readonly engine: Engine;
  /** Structured log lines; absent: silent. */
  readonly log?: LogFn;
  /** Node.js process metrics (default true). */
  readonly processMetrics?: boolean;
  /** The GraphQL path (default /graphql): only requests to it are logged and counted. */
  readonly graphqlEndpoint?: string;
}

export class Observability {
  /** Set when shutdown starts: GET /ready answers 503 so load balancers stop sending. */
  draining = false;
  readonly metrics: Metrics;
  private readonly storage: StorageFullWatch;
  private readonly options: ObservabilityOptions;

  constructor(options: ObservabilityOptions) {
    this.options = options;
    this.storage = new StorageFullWatch(options.engine, options.log ?? (() => {}));
    this.metrics = new Metrics({
      engine: options.engine,
      processMetrics: options.processMetrics,
      storageFull: async () => (await this.storage.current()) !== null,
    });
  }

  /** One registry per gateway, served at GET /metrics. */
  get registry(): Registry {
    return this.metrics.registry;
  }

  /** Where resolvers report the marks and counter increments storage acknowledged. */
  get tally(): WriteTally {
    return this.metrics;
  }

  /** The engine, with every storage call timed and counted, and refusals for lack of space watched. */
  instrument(engine: Engine): Engine {
    return instrument(engine, this.metrics, this.storage);
  }

  /** The storage-full episode under way, or null; asks storage (bounded by `timeoutMs`) whether it has room again. */
  storageFull(timeoutMs = 1000): Promise<StorageFullEpisode | null> {
    return this.storage.current(timeoutMs);
  }

  /** The request log plugin: to be first, so every response carries its request id. */
  plugin(): Plugin {
    return requestLog({ metrics: this.metrics, log: this.options.log, graphqlEndpoint: this.options.graphqlEndpoint });
  }
}
