// One typed, validated configuration, read from environment variables and an optional JSON file.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_SHARD_BITS } from './bitmap/engines/cluster/layout.ts';
import { TimeZone } from './bitmap/period.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false (or 1/0, yes/no)' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/** Numbers say the range they expect, not zod's "expected number, received NaN". */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = `expected a whole number ${max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const num = (min: number) => {
  const error = `expected a number of ${min} or more`;
  return z.coerce.number({ error }).min(min, { error });
};
/** A JSON text (an environment variable, or a config file value re-serialised), then `inner`; `notJson` says what was expected. */
const json = <T extends z.ZodType>(inner: T, notJson: (text: string) => string = () => 'not valid JSON') =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: notJson(text) });
        return z.NEVER;
      }
    })
    .pipe(inner);

export const SCOPES = ['read', 'write', 'admin'] as const;
const API_KEYS_SHAPE = '[{"name":"…","sha256":"<hex sha256 of the key>","scopes":["read","write"]}]';
/** Text that cannot be the start of a JSON list: most likely a key pasted in place of its entry (a secret, so never echoed). */
const looksLikeRawKey = (text: string): boolean => !/^\s*[[{"]/.test(text);
/** API keys are configured by their SHA-256 only; the keys themselves are never stored. */
const apiKeyList = z
  .array(
    z.strictObject({
      name: z.string().min(1).max(100),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hex digits (bitmapql hash-key <key>)')
        .transform((h) => h.toLowerCase()),
      scopes: z.array(z.enum(SCOPES)).min(1),
    }),
  )
  .superRefine((keys, ctx) => {
    const names = new Set<string>();
    const hashes = new Set<string>();
    for (const k of keys) {
      if (names.has(k.name)) ctx.addIssue({ code: 'custom', message: `two API keys are named ${JSON.stringify(k.name)}` });
      if (hashes.has(k.sha256)) ctx.addIssue({ code: 'custom', message: `API key ${JSON.stringify(k.name)} repeats the sha256 of another key` });
      names.add(k.name);
      hashes.add(k.sha256);
    }
  });

/**
 * Browser origins allowed to call the gateway (CORS): comma-separated text, or a JSON list from a
 * config file. Each must be exactly an origin (scheme://host[:port]); it is kept in the form a
 * browser sends in its Origin header, so the check is a plain string match.
 */
const originList = z.string().transform((text, ctx) => {
  let items = text.split(',');
  if (text.trim().startsWith('[')) {
    try {
      items = (JSON.parse(text) as unknown[]).map(String);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON; expected origins separated by commas, or a JSON list of them' });
      return z.NEVER;
    }
  }
  const origins: string[] = [];
  for (const item of items.map((i) => i.trim())) {
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item)} is not an origin: list each as scheme://host[:port], e.g. https://app.example.com (no path, no wildcard)` });
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
});

/** Seed nodes of a Redis Cluster: host:port items separated by commas (an IPv6 host in brackets). */
const clusterSeeds = z.string().transform((text, ctx) => {
  const seeds: Array<{ host: string; port: number }> = [];
  for (const item of text.split(',').map((i) => i.trim())) {
    const m = /^(?:\[([^\]]+)\]|([^\s:/@[\]]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item)} is not host:port: list the seed nodes as host:port,host:port, e.g. 10.0.0.1:7000,10.0.0.2:7000` });
      continue;
    }
    seeds.push({ host: m[1] ?? m[2]!, port });
  }
  return seeds;
});

/** Every setting: environment variable, schema, and what it is for (printed by --help). */
export const SETTINGS = {
  port: { env: 'PORT', schema: int(0, 65535).default(4000), doc: 'HTTP port' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'address to listen on (0.0.0.0 in a container)' },
  redisUrl: {
    env: 'REDIS_URL',
    schema: z
      .string()
      .regex(/^rediss?:\/\/\S+$/i, 'expected a URL such as redis://127.0.0.1:6379 or rediss://user:password@host:6380/0')
      .optional(),
    doc: 'Redis (or bitmapist-server) URL; unset: the embedded engine',
  },
  redisCluster: {
    env: 'REDIS_CLUSTER',
    schema: clusterSeeds.optional(),
    doc: 'Redis Cluster seed nodes, host:port,host:port,… (the sharded layout; not with REDIS_URL)',
  },
  shardBits: {
    env: 'SHARD_BITS',
    schema: int(3, 32).default(DEFAULT_SHARD_BITS),
    doc: 'Redis Cluster: a shard holds 2^SHARD_BITS ids; fixed when a cluster is first opened',
  },
  minReplicaAcks: {
    env: 'MIN_REPLICA_ACKS',
    schema: int(0, 16).default(0),
    doc: 'Redis Cluster: a write is acknowledged only once this many replicas of each master it touched hold it (WAIT); 0: on the master alone',
  },
  replicaAckTimeoutMs: {
    env: 'REPLICA_ACK_TIMEOUT_MS',
    schema: int(1, 60_000).default(1000),
    doc: 'Redis Cluster with MIN_REPLICA_ACKS: how long a write waits for its replicas before failing with REPLICATION_TIMEOUT',
  },
  redisMode: {
    env: 'REDIS_MODE',
    schema: z.enum(['lua', 'pipeline']).default('lua'),
    doc: 'lua: one script per request; pipeline: only commands bitmapist-server implements',
  },
  redisTimeoutMs: { env: 'REDIS_TIMEOUT_MS', schema: int(1).default(5000), doc: 'a Redis command slower than this fails' },
  readyTimeoutMs: { env: 'READY_TIMEOUT_MS', schema: int(1).default(1000), doc: 'GET /ready answers 503 when storage has not answered in this time' },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    schema: int(0).default(10_000),
    doc: 'on SIGTERM/SIGINT: how long in-flight requests may take before their connections are closed',
  },
  metrics: { env: 'METRICS', schema: bool.default(true), doc: 'serve Prometheus metrics at GET /metrics' },
  cacheMb: {
    env: 'CACHE_MB',
    schema: int(0).default(256),
    doc: 'Redis engine: memory for roaring copies of closed periods, counted in process, fetched in the background for outputs that will be read again and dropped on change by client-side caching (0: off)',
  },
  answerCacheMb: {
    env: 'ANSWER_CACHE_MB',
    schema: int(0).default(16),
    doc: 'Redis engine with CACHE_MB > 0: memory for answers reused while the keys they read are unchanged (0: off)',
  },
  dataDir: { env: 'DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'embedded engine data folder' },
  fsync: {
    env: 'FSYNC',
    schema: z.enum(['always', 'interval', 'os']).default('interval'),
    doc: 'embedded engine: fsync each write, group-commit every FSYNC_INTERVAL_MS (acknowledged after the fsync), or leave it to the OS',
  },
  fsyncIntervalMs: { env: 'FSYNC_INTERVAL_MS', schema: int(1).default(10), doc: 'group-commit interval for FSYNC=interval' },
  keyPrefix: {
    env: 'KEY_PREFIX',
    schema: z
      .string()
      .regex(/^[^\s*?[\]\\]*$/, 'no whitespace or glob characters')
      .default('trackist_'),
    doc: 'key prefix: trackist_ (bitmapist 3) or bitmapist_ (bitmapist4)',
  },
  timeZone: {
    env: 'TIME_ZONE',
    schema: z
      .string()
      .default('UTC')
      .refine((tz) => {
        try {
          new TimeZone(tz);
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as UTC or Europe/Berlin'),
    doc: 'time zone of period keys, for writes and reads',
  },
  trackHourly: { env: 'TRACK_HOURLY', schema: bool.default(false), doc: 'marks also write hour keys' },
  trackMinutely: {
    env: 'TRACK_MINUTELY',
    schema: bool.default(false),
    doc: 'marks also write minute keys (not bitmapist\'s: trackist_<event>_m<y>-<m>-<d>-<h>-<minute>), and counters keep per-minute hashes',
  },
  idMapping: {
    env: 'ID_MAPPING',
    schema: bool.default(false),
    doc: 'accept string ids (externalId) in marks and contains, mapped to dense integer ids stored beside the bitmaps',
  },
  trackUnique: { env: 'TRACK_UNIQUE', schema: bool.default(false), doc: 'marks also write the date-free unique key' },
  maxExprNodes: { env: 'MAX_EXPR_NODES', schema: int(1).default(1000), doc: 'operators and leaves in one set expression' },
  maxExprDepth: { env: 'MAX_EXPR_DEPTH', schema: int(1, 1000).default(32), doc: 'nesting depth of one set expression' },
  maxPeriodsPerLeaf: { env: 'MAX_PERIODS_PER_LEAF', schema: int(1).default(2000), doc: 'periods one set leaf may expand to' },
  maxIds: { env: 'MAX_IDS', schema: int(1).default(10_000), doc: 'ids in one `ids` literal' },
  maxPoints: { env: 'MAX_POINTS', schema: int(1).default(2000), doc: 'points of one series or counterSeries' },
  maxCohortCells: { env: 'MAX_COHORT_CELLS', schema: int(1).default(10_000), doc: 'rows × columns of one cohort table' },
  maxBreakdownValues: {
    env: 'MAX_BREAKDOWN_VALUES',
    schema: int(1).default(100),
    doc: 'events under the prefix of one countBreakdown/seriesBreakdown, top keys of one counterBreakdown',
  },
  maxPageSize: { env: 'MAX_PAGE_SIZE', schema: int(1).default(10_000), doc: 'largest `members` page' },
  maxBatch: { env: 'MAX_BATCH', schema: int(1).default(10_000), doc: 'largest markEvents batch' },
  maxBodyBytes: { env: 'MAX_BODY_BYTES', schema: int(1024).default(4 * 1024 * 1024), doc: 'largest request body' },
  // Limits and rate limits (src/limits.ts, src/plugins/): 0 turns the cost limit and rate limits off.
  maxCost: {
    env: 'MAX_COST',
    schema: int(0).default(50_000),
    doc: 'work one request may ask for: keys read by all its questions (series points and cohort cells each count); 0: no limit',
  },
  maxTimeZones: {
    env: 'MAX_TIME_ZONES',
    schema: int(0).default(10),
    doc: 'distinct `timeZone` arguments in one request (each new zone is worked out once, about 15 ms); 0: no limit',
  },
  maxQueryDepth: { env: 'MAX_QUERY_DEPTH', schema: int(1).default(12), doc: 'selection depth of one GraphQL document' },
  maxAliases: { env: 'MAX_ALIASES', schema: int(1).default(1000), doc: 'aliases in one GraphQL document' },
  maxTokens: { env: 'MAX_TOKENS', schema: int(1).default(50_000), doc: 'tokens in one GraphQL document' },
  maxDirectives: { env: 'MAX_DIRECTIVES', schema: int(1).default(50), doc: 'directives in one GraphQL document' },
  // Live answers (subscriptions over SSE, src/live.ts).
  liveMinIntervalMs: {
    env: 'LIVE_MIN_INTERVAL_MS',
    schema: int(0).default(100),
    doc: 'a live answer is evaluated again at most once in this time, however many writes arrive',
  },
  liveMaxPerKey: { env: 'LIVE_MAX_PER_KEY', schema: int(0).default(1000), doc: 'open subscriptions per API key (anonymous callers share one allowance); 0: none' },
  liveMaxTotal: { env: 'LIVE_MAX_TOTAL', schema: int(0).default(10_000), doc: 'open subscriptions in all; 0: subscriptions off' },
  liveDirectWrites: {
    env: 'LIVE_DIRECT_WRITES',
    schema: bool.default(true),
    doc: 'each new live answer is encoded once as an SSE event and written to every subscriber’s connection; false: through yoga’s stream per subscriber (for comparison)',
  },
  rateLimitPerSecond: {
    env: 'RATE_LIMIT_PER_SECOND',
    schema: num(0).default(0),
    doc: 'requests per second per caller with an Authorization header (by token hash); 0: off',
  },
  rateLimitBurst: { env: 'RATE_LIMIT_BURST', schema: int(0).default(0), doc: 'requests such a caller may send at once (0: one second\'s worth)' },
  rateLimitAnonPerSecond: {
    env: 'RATE_LIMIT_ANON_PER_SECOND',
    schema: num(0).optional(),
    doc: 'requests per second per client address without an Authorization header; unset: RATE_LIMIT_PER_SECOND; 0: off',
  },
  rateLimitAnonBurst: { env: 'RATE_LIMIT_ANON_BURST', schema: int(0).optional(), doc: 'burst of an anonymous caller; unset: RATE_LIMIT_BURST' },
  apiKeys: {
    env: 'API_KEYS',
    schema: json(apiKeyList, (text) =>
      looksLikeRawKey(text)
        ? `expected a JSON list ${API_KEYS_SHAPE}, not a key: configure each key's sha256 (bitmapql hash-key <key>; bitmapql keygen makes a new key and its entry)`
        : `not valid JSON; expected ${API_KEYS_SHAPE}`,
    ).default([]),
    doc: 'API keys, JSON: [{"name":"…","sha256":"<hex sha256 of the key>","scopes":["read","write","admin"]}] (make one: bitmapql keygen)',
  },
  anonymousRead: {
    env: 'ANONYMOUS_READ',
    schema: bool.default(true),
    doc: 'requests without an Authorization header may run queries (set false in production)',
  },
  introspection: { env: 'INTROSPECTION', schema: bool.default(true), doc: 'answer introspection queries (__schema, __type)' },
  graphiql: { env: 'GRAPHIQL', schema: bool.default(true), doc: 'serve GraphiQL on GET /graphql' },
  dashboard: { env: 'DASHBOARD', schema: bool.default(true), doc: 'serve the dashboard page on GET /' },
  dashboardEntity: {
    env: 'DASHBOARD_ENTITY',
    schema: z
      .string()
      .trim()
      .min(1)
      .max(40)
      .regex(/^[\p{L}\p{N} '_-]+$/u, 'letters, digits, spaces, hyphens, apostrophes and underscores')
      .default('users'),
    doc: 'what the ids are, plural, for the dashboard\'s wording ("Daily active repositories"); a link\'s &entity= overrides it',
  },
  persistedOperations: {
    env: 'PERSISTED_OPERATIONS',
    schema: z.string().min(1).optional(),
    doc: 'path of a JSON manifest {hash: document} (codegen persisted-documents.json); set: only those operations run',
  },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    schema: originList.default([]),
    doc: 'comma-separated browser origins allowed to call the gateway from their pages (CORS), e.g. https://app.example.com; unset: same-origin only',
  },
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export class ConfigError extends Error {}

export interface LoadOptions {
  /** A JSON config file (`serve --config`); default: the CONFIG_FILE environment variable. */
  readonly file?: string;
}

/**
 * Reads and validates every setting: `overrides`, else the environment variable, else the config
 * file's key (the setting's camelCase name), else the default. A bad value stops start-up with the
 * setting and where it came from named.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Config> = {},
  options: LoadOptions = {},
): Config {
  const filePath = options.file ?? (env.CONFIG_FILE || undefined);
  const file = filePath === undefined ? {} : readConfigFile(filePath);
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(SETTINGS)) {
    if (name in overrides) {
      out[name] = (overrides as Record<string, unknown>)[name];
      continue;
    }
    const raw = env[s.env];
    const fromEnv = raw !== undefined && raw !== '';
    const fileValue = fromEnv ? undefined : file[name];
    // File values go through the same schemas as environment text: scalars as their text, lists and objects as JSON.
    const input = fromEnv ? raw : fileValue === undefined || fileValue === null ? undefined : typeof fileValue === 'object' ? JSON.stringify(fileValue) : String(fileValue);
    const parsed = (s.schema as z.ZodType).safeParse(input);
    if (parsed.success) out[name] = parsed.data;
    else {
      const where = fromEnv || fileValue === undefined ? `${s.env}${shown(name, raw)}` : `${name}${shown(name, fileValue)} (config file ${filePath})`;
      problems.push(`${where}: ${parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join(', ')}`);
    }
  }
  if (out.redisUrl && out.redisCluster) {
    problems.push('REDIS_URL and REDIS_CLUSTER are both set: set REDIS_URL for one Redis, or REDIS_CLUSTER for a Redis Cluster, not both');
  }
  // One line, so a log shows the whole reason for the failed start.
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return out as Config;
}

/** A bad value as the message shows it: a URL without its password; never a raw API key. */
function shown(name: string, value: unknown): string {
  if (name === 'apiKeys' && typeof value === 'string' && looksLikeRawKey(value)) return ' (value not shown)';
  return `=${typeof value === 'string' ? JSON.stringify(redactUrl(value)) : JSON.stringify(value)}`;
}

/** A URL with its password (user:password@, or ?password=) replaced by ***, for messages and logs. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^\s]*@/i, '$1***@').replace(/([?&]password=)[^&#\s]*/gi, '$1***');
}

/** The config file: a JSON object whose keys are setting names; an unknown key is an error (a typo would be silently ignored). */
function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`invalid configuration: cannot read config file ${path}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`invalid configuration: config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`invalid configuration: config file ${path} must hold a JSON object of settings, e.g. {"port": 4000}`);
  }
  const unknown = Object.keys(data).filter((k) => !Object.hasOwn(SETTINGS, k));
  if (unknown.length) {
    throw new ConfigError(
      `invalid configuration: config file ${path} has unknown settings ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the settings are ${Object.keys(SETTINGS).join(', ')}`,
    );
  }
  return data as Record<string, unknown>;
}

export function describeSettings(): string {
  const envWidth = Math.max(...Object.values(SETTINGS).map((s) => s.env.length));
  const nameWidth = Math.max(...Object.keys(SETTINGS).map((n) => n.length));
  return Object.entries(SETTINGS)
    .map(([name, s]) => {
      const def = (s.schema as z.ZodType).safeParse(undefined);
      const shown = def.success && def.data !== undefined ? ` (default ${JSON.stringify(def.data)})` : '';
      return `  ${s.env.padEnd(envWidth)}  ${name.padEnd(nameWidth)}  ${s.doc}${shown}`;
    })
    .join('\n');
}

/** Where settings come from, for --help. */
export function describeSources(): string {
  return [
    'Settings come from environment variables (first column) or a JSON config file (serve --config <file>,',
    'or CONFIG_FILE=<file>) keyed by the names in the second column; an environment variable overrides the file.',
  ].join('\n');
}
