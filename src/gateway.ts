// createGateway(config): the yoga instance and the services behind it; listening is main.ts's job.

import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import type { ValidationContext } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Engine } from './bitmap/engines/engine.ts';
import { openEngine } from './bitmap/engines/open.ts';
import { bitmapistLayout } from './bitmap/keys.ts';
import { TimeZone } from './bitmap/period.ts';
import type { SetLimits } from './bitmap/sets.ts';
import type { Config } from './config.ts';
import { createContext } from './context.ts';
import { LiveRegistry } from './live.ts';
import type { Context, Services } from './context.ts';
import { schema } from './schema/index.ts';
import { maskError } from './schema/errors.ts';
import { Observability } from './observability/index.ts';
import { yogaLogger } from './observability/request-log.ts';
import { accessPlugins } from './plugins/access.ts';
import { bodyLimit } from './plugins/body-limit.ts';
import { costCheck } from './plugins/cost.ts';
import { corsFor } from './plugins/cors.ts';
import { csrfPrevention } from './plugins/csrf.ts';
import { inputShapeGuard } from './plugins/input-shape.ts';
import { liveDirect } from './plugins/live-direct.ts';
import { liveShare } from './plugins/live-share.ts';
import { STREAM_ENDPOINT, liveStreams } from './plugins/live-sse.ts';
import { liveTransport } from './plugins/live-transport.ts';
import { metricsEndpoint } from './plugins/metrics.ts';
import { rateLimit } from './plugins/rate-limit.ts';
import { readiness } from './plugins/ready.ts';
import { hideSuggestions } from './plugins/suggestions.ts';
import { findKey } from './auth.ts';
import { dashboard } from './dashboard/server.ts';

export interface Gateway {
  readonly yoga: YogaServerInstance<Record<string, unknown>, Context>;
  readonly services: Services;
  /** Metrics registry, request logs, and the draining flag set on shutdown (src/observability/). */
  readonly observability: Observability;
  /** Ends every subscription's stream (shutdown does this first), then closes storage when the gateway opened it. */
  close(): Promise<void>;
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
  const engine = options.engine ?? (await openEngine(config, { log: options.log }));
  const observability = new Observability({ engine, log: options.log });
  const limits: SetLimits = {
    maxNodes: config.maxExprNodes,
    maxDepth: config.maxExprDepth,
    maxPeriodsPerLeaf: config.maxPeriodsPerLeaf,
    maxIds: config.maxIds,
  };
  const services: Services = {
    config,
    engine: observability.instrument(engine),
    tally: observability.tally,
    layout: bitmapistLayout(config.keyPrefix),
    tz: new TimeZone(config.timeZone),
    limits,
    now: options.now ?? Date.now,
    live: new LiveRegistry(() => services, {
      minIntervalMs: config.liveMinIntervalMs,
      maxPerKey: config.liveMaxPerKey,
      maxTotal: config.liveMaxTotal,
      log: options.log,
    }),
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
      observability.plugin(), // first: request id and timing for every request
      ...(config.metrics ? [metricsEndpoint(observability.registry)] : []),
      readiness({
        engine,
        timeoutMs: config.readyTimeoutMs,
        draining: () => observability.draining,
        storageFull: (ms) => observability.storageFull(ms),
      }),
      ...(config.dashboard
        ? [dashboard({ persisted: Boolean(config.persistedOperations), apiKeys: config.apiKeys.length > 0, entity: config.dashboardEntity, log: options.log })] // GET / and /dashboard/*
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
      costCheck(config.maxCost, config.maxTimeZones), // MAX_COST from the request's shape, before any resolver runs
      liveTransport(config.persistedOperations ? undefined : STREAM_ENDPOINT), // a subscription only to a caller that takes a stream
      liveShare(), // one execution and one JSON text per answer and distinct document, shared by its subscribers
      ...(config.liveDirectWrites ? [liveDirect({ maskError })] : []), // one SSE frame per answer, written to each subscriber's Node response
      // GraphQL over SSE, single-connection mode, at /graphql/stream: not with persisted operations (it takes documents as text)
      ...(config.persistedOperations ? [] : liveStreams({ live: services.live, limits: { ...limits, maxTokens: config.maxTokens }, maxReserved: config.liveMaxTotal })),
    ],
  });
  return {
    yoga,
    observability,
    services,
    close: async () => {
      services.live.close();
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
