// createGateway(config): the yoga instance and the services behind it; listening is main.ts's job.

import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import type { ValidationContext } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { Plugin, YogaServerInstance } from 'graphql-yoga';
import { openEmbeddedEngine } from './bitmap/engines/embedded/index.ts';
import type { Engine } from './bitmap/engines/engine.ts';
import { RedisEngine } from './bitmap/engines/redis.ts';
import { bitmapistLayout } from './bitmap/keys.ts';
import type { KeyLayout } from './bitmap/keys.ts';
import { TimeZone, periodEnd } from './bitmap/period.ts';
import type { SetLimits } from './bitmap/sets.ts';
import type { Config } from './config.ts';
import { createContext } from './context.ts';
import type { Context, Services } from './context.ts';
import { schema } from './schema/index.ts';
import { maskError } from './schema/errors.ts';
import { Observability, readyWithin, yogaLogger } from './observability.ts';
import { accessPlugins } from './plugins/access.ts';
import { bodyLimit } from './plugins/body-limit.ts';
import { costCheck } from './plugins/cost.ts';
import { corsFor } from './plugins/cors.ts';
import { csrfPrevention } from './plugins/csrf.ts';
import { inputShapeGuard } from './plugins/input-shape.ts';
import { rateLimit } from './plugins/rate-limit.ts';
import { hideSuggestions } from './plugins/suggestions.ts';
import { findKey } from './auth.ts';
import { dashboard } from './dashboard/server.ts';

export interface Gateway {
  readonly yoga: YogaServerInstance<Record<string, unknown>, Context>;
  readonly services: Services;
  /** Metrics registry, request logs, and the draining flag set on shutdown (src/observability.ts). */
  readonly observability: Observability;
  close(): Promise<void>;
}

export async function openEngine(config: Config, log?: (fields: Record<string, unknown>) => void): Promise<Engine> {
  const layout = bitmapistLayout(config.keyPrefix);
  if (config.redisUrl) {
    const tz = new TimeZone(config.timeZone);
    return new RedisEngine({
      url: config.redisUrl,
      mode: config.redisMode,
      tempPrefix: layout.tempPrefix,
      idKeys: layout.idKeys,
      commandTimeoutMs: config.redisTimeoutMs,
      cache:
        config.cacheMb > 0
          ? {
              keyPrefix: layout.prefix,
              maxBytes: config.cacheMb * 1024 * 1024,
              isClosed: closedPeriodKeys(layout, tz),
              onStatus: (msg) => log?.({ msg }),
            }
          : undefined,
    }).connect();
  }
  // Without a log, what recovery drops still goes to stderr: it is never silent.
  return openEmbeddedEngine({ dir: config.dataDir, fsync: config.fsync, fsyncIntervalMs: config.fsyncIntervalMs, log });
}

/** Keys of event periods that have ended (by the real clock); unique sets and counters never are. */
export function closedPeriodKeys(layout: KeyLayout, tz: TimeZone, now: () => number = Date.now): (key: string) => boolean {
  const closesAt = new Map<string, number>(); // key → end of its period (Infinity: never closes)
  return (key) => {
    let at = closesAt.get(key);
    if (at === undefined) {
      const info = layout.parse(key);
      at = info !== null && 'period' in info ? periodEnd(info.period, tz) : Infinity;
      if (closesAt.size >= 100_000) closesAt.clear();
      closesAt.set(key, at);
    }
    return at <= now();
  };
}

export interface GatewayOptions {
  /** Use this engine instead of opening one from the config (tests share one). */
  readonly engine?: Engine;
  /** The clock (tests fix it). */
  readonly now?: () => number;
  /** Structured log lines (main.ts prints them as JSON). */
  readonly log?: (fields: Record<string, unknown>) => void;
}

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const engine = options.engine ?? (await openEngine(config, options.log));
  const observability = new Observability({ engine, log: options.log, metrics: config.metrics });
  const limits: SetLimits = {
    maxNodes: config.maxExprNodes,
    maxDepth: config.maxExprDepth,
    maxPeriodsPerLeaf: config.maxPeriodsPerLeaf,
    maxIds: config.maxIds,
  };
  const services: Services = {
    config,
    engine: observability.instrument(engine),
    layout: bitmapistLayout(config.keyPrefix),
    tz: new TimeZone(config.timeZone),
    limits,
    now: options.now ?? Date.now,
  };
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    context: ({ request }) => createContext(services, request),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    graphiql: config.graphiql ? { title: 'bitmapql', defaultQuery: EXAMPLE_QUERY } : false,
    renderGraphiQL,
    maskedErrors: { maskError },
    cors: corsFor(config.corsOrigins), // none listed: same-origin only
    logging: options.log ? yogaLogger(options.log) : undefined,
    plugins: [
      observability.plugin(), // first: request id, timing and GET /metrics for every request
      readiness(engine, observability, config.readyTimeoutMs),
      ...(config.dashboard
        ? [dashboard({ persisted: Boolean(config.persistedOperations), apiKeys: config.apiKeys.length > 0, log: options.log })] // GET / and /dashboard/*
        : []),
      ...accessPlugins(config), // INTROSPECTION=false, PERSISTED_OPERATIONS
      ...(config.introspection ? [] : [hideSuggestions()]),
      // Limits every request that gets this far: the plugins above answer what must stay unlimited.
      rateLimit({
        keyed: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
        anonymous: {
          perSecond: config.rateLimitAnonPerSecond ?? config.rateLimitPerSecond,
          burst: config.rateLimitAnonBurst ?? config.rateLimitBurst,
        },
        keyHash: (token) => findKey(config.apiKeys, token)?.sha256.toLowerCase(), // unknown tokens count as anonymous
      }),
      bodyLimit(config.maxBodyBytes),
      csrfPrevention(),
      inputShapeGuard({ ...limits, maxTokens: config.maxTokens }),
      EnvelopArmorPlugin({
        maxDepth: armorLimit('MAX_QUERY_DEPTH', config.maxQueryDepth),
        maxAliases: armorLimit('MAX_ALIASES', config.maxAliases),
        maxTokens: armorLimit('MAX_TOKENS', config.maxTokens),
        maxDirectives: armorLimit('MAX_DIRECTIVES', config.maxDirectives),
        costLimit: { enabled: false },
        blockFieldSuggestion: { enabled: false }, // hideSuggestions() instead, with INTROSPECTION=false
      }),
      costCheck(config.maxCost), // MAX_COST from the request's shape, before any resolver runs
    ],
  });
  return {
    yoga,
    observability,
    services,
    close: async () => {
      if (!options.engine) await engine.close();
    },
  };
}

const EXAMPLE_QUERY = `# Mark an event, then ask questions about it.
# mutation { markEvent(input: { name: "active", userId: 123 }) { marked } }

query Dashboard {
  activeToday: count(set: { event: { name: "active", period: { current: DAY } } })
  activeThisWeek: count(set: { event: { name: "active", period: { current: WEEK } } })
  user123ThisWeek: contains(set: { event: { name: "active", period: { current: WEEK } } }, userId: 123)
  events { name }
}
`;

/**
 * GET /ready: 200 when storage answers, 503 otherwise (GET /health is yoga's: the process is up).
 * Storage that is full still answers reads, so it stays 200 and the body says `storageFull`:
 * taking every instance out of rotation would turn refused writes into refused reads too.
 */
function readiness(engine: Engine, observability: Observability, timeoutMs: number): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/ready') return;
      const ok = await readyWithin(engine, timeoutMs); // bounded even when Redis hangs
      const storageFull = ok ? await observability.storageFull(timeoutMs) : null;
      const body = storageFull ? { ready: ok, storageFull } : { ready: ok };
      endResponse(new fetchAPI.Response(JSON.stringify(body), { status: ok ? 200 : 503, headers: { 'content-type': 'application/json' } }));
    },
  };
}

/**
 * One of graphql-armor's document limits, refused with TOO_COMPLEX and the limit (armor's own
 * error is a "Syntax Error:" without a code). Validation limits are reported as validation errors;
 * the token limit, checked while parsing, has no validation context and throws.
 */
function armorLimit(setting: string, n: number) {
  return {
    n,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError): void => {
        const what = error.message.replace(/^Syntax Error: /, '').replace(/\.$/, '');
        const refusal = new GraphQLError(`${what} (${setting}): split the document into several requests`, {
          extensions: { code: 'TOO_COMPLEX', limit: n },
        });
        if (!context) throw refusal;
        context.reportError(refusal);
      },
    ],
  };
}
