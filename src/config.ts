// One typed, validated configuration, read from environment variables.

import { z } from 'zod';
import { TimeZone } from './bitmap/period.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** Every setting: environment variable, schema, and what it is for (printed by --help). */
export const SETTINGS = {
  port: { env: 'PORT', schema: int(0, 65535).default(4000), doc: 'HTTP port' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'address to listen on (0.0.0.0 in a container)' },
  redisUrl: {
    env: 'REDIS_URL',
    schema: z.string().url().optional(),
    doc: 'Redis (or bitmapist-server) URL; unset: the embedded engine',
  },
  redisMode: {
    env: 'REDIS_MODE',
    schema: z.enum(['lua', 'pipeline']).default('lua'),
    doc: 'lua: one script per request; pipeline: only commands bitmapist-server implements',
  },
  redisTimeoutMs: { env: 'REDIS_TIMEOUT_MS', schema: int(1).default(5000), doc: 'a Redis command slower than this fails' },
  cacheMb: {
    env: 'CACHE_MB',
    schema: int(0).default(256),
    doc: 'Redis engine: memory for roaring copies of closed periods, counted in process and dropped on change via keyspace notifications (0: off)',
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
  trackUnique: { env: 'TRACK_UNIQUE', schema: bool.default(false), doc: 'marks also write the date-free unique key' },
  maxExprNodes: { env: 'MAX_EXPR_NODES', schema: int(1).default(1000), doc: 'operators and leaves in one set expression' },
  maxExprDepth: { env: 'MAX_EXPR_DEPTH', schema: int(1, 1000).default(32), doc: 'nesting depth of one set expression' },
  maxPeriodsPerLeaf: { env: 'MAX_PERIODS_PER_LEAF', schema: int(1).default(2000), doc: 'periods one set leaf may expand to' },
  maxIds: { env: 'MAX_IDS', schema: int(1).default(10_000), doc: 'ids in one `ids` literal' },
  maxPoints: { env: 'MAX_POINTS', schema: int(1).default(2000), doc: 'points of one series or counterSeries' },
  maxCohortCells: { env: 'MAX_COHORT_CELLS', schema: int(1).default(10_000), doc: 'rows × columns of one cohort table' },
  maxPageSize: { env: 'MAX_PAGE_SIZE', schema: int(1).default(10_000), doc: 'largest `members` page' },
  maxBatch: { env: 'MAX_BATCH', schema: int(1).default(10_000), doc: 'largest markEvents batch' },
  maxBodyBytes: { env: 'MAX_BODY_BYTES', schema: int(1024).default(4 * 1024 * 1024), doc: 'largest request body' },
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export class ConfigError extends Error {}

/** Reads and validates every setting; a bad one stops start-up with its variable named. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(SETTINGS)) {
    if (name in overrides) {
      out[name] = (overrides as Record<string, unknown>)[name];
      continue;
    }
    const raw = env[s.env];
    const parsed = (s.schema as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`${s.env}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return out as Config;
}

export function describeSettings(): string {
  return Object.values(SETTINGS)
    .map((s) => {
      const def = (s.schema as z.ZodType).safeParse(undefined);
      const shown = def.success && def.data !== undefined ? ` (default ${JSON.stringify(def.data)})` : '';
      return `  ${s.env.padEnd(22)} ${s.doc}${shown}`;
    })
    .join('\n');
}
