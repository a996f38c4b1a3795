// Scenario D: a 30 × 30 day cohort table (bitmapist's get_dates_data) over the cohort dataset
// (dataset.ts buildCohortDataset: "signup" as cohort, "active" as activity, 60 days).
//
// Every competitor answers the whole table as one flat list: the ROWS row sizes, then the
// ROWS × COLUMNS cells row by row, null where the gateway's `cells` has null (empty cohort, or
// no activity data at all on day p+k: no key or zero bits).

import type { Redis } from 'ioredis';
import type { Answer, Competitor } from './competitors.ts';
import { COHORT_EVENTS, popcount } from './dataset.ts';
import type { Dataset } from './dataset.ts';
import type { GatewayProcess } from './gateway-process.ts';
import { graphql } from './http-client.ts';

export const COHORT_ROWS = 30;
export const COHORT_COLUMNS = 30;
const [COHORT_EVENT, ACTIVITY_EVENT] = COHORT_EVENTS;

export interface CohortContext {
  /** The cohort dataset (days 0 .. ROWS+COLUMNS-2 must exist as days, with or without data). */
  readonly ds: Dataset;
  readonly redis: Redis;
  readonly gatewayRedis: GatewayProcess;
  readonly gatewayRedisNoCache: GatewayProcess;
  readonly gatewayEmbedded: GatewayProcess;
}

const cohortKey = (ds: Dataset, p: number): string => ds.keyOf(COHORT_EVENT, p);
const activityKey = (ds: Dataset, d: number): string => ds.keyOf(ACTIVITY_EVENT, d);

/** What answer i of the flat list is, for mismatch messages. */
export function cohortLabel(ds: Dataset): (i: number) => string {
  return (i) => {
    if (i < COHORT_ROWS) return `size of row ${i} (${ds.days[i]?.iso})`;
    const c = i - COHORT_ROWS;
    const p = Math.floor(c / COHORT_COLUMNS);
    const k = c % COHORT_COLUMNS;
    return `cell(${p},${k}) (${ds.days[p]?.iso} × ${ds.days[p + k]?.iso})`;
  };
}

/** The table computed in plain JS from the dataset bytes: the oracle every competitor must match. */
export function referenceCohort(ds: Dataset): Answer[] {
  const words = (key: string): Uint32Array | undefined => {
    const b = ds.bitmaps.get(key);
    if (!b) return undefined;
    const aligned = b.byteOffset % 4 === 0 ? b : Buffer.from(b);
    return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  };
  const sizes: number[] = [];
  const cells: Answer[] = [];
  for (let p = 0; p < COHORT_ROWS; p++) {
    const c = ds.bitmaps.get(cohortKey(ds, p));
    sizes.push(c ? popcount(c) : 0);
  }
  // "Has data" per activity day: a key with at least one bit set.
  const hasData = Array.from({ length: COHORT_ROWS + COHORT_COLUMNS - 1 }, (_, d) => {
    const a = ds.bitmaps.get(activityKey(ds, d));
    return a !== undefined && popcount(a) > 0;
  });
  const and = new Uint32Array(ds.bitmaps.values().next().value!.byteLength / 4);
  const andBytes = new Uint8Array(and.buffer);
  for (let p = 0; p < COHORT_ROWS; p++) {
    const c = words(cohortKey(ds, p));
    for (let k = 0; k < COHORT_COLUMNS; k++) {
      const a = words(activityKey(ds, p + k));
      if (sizes[p] === 0 || !hasData[p + k] || !c || !a) {
        cells.push(null);
        continue;
      }
      for (let i = 0; i < and.length; i++) and[i] = c[i]! & a[i]!;
      cells.push(popcount(andBytes));
    }
  }
  return [...sizes, ...cells];
}

const tempKey = (owner: string): string => `bench_tmp:${owner}:0`;

/**
 * bitmapist's get_dates_data, one awaited command at a time: per row a BITCOUNT of the cohort
 * key; per cell a BITCOUNT of the activity key ("has data": a key holding zero bits counts as no
 * data, which EXISTS would miss), and if it has data a BITOP AND into a temporary, its BITCOUNT
 * and a DEL. Like bitmapist it does not skip the cells of an empty cohort (it nulls them after).
 */
export function naiveCohort(redis: Redis, ds: Dataset): Competitor {
  const tmp = tempKey('cohort-naive');
  return {
    name: 'naive',
    description: 'per row BITCOUNT; per cell awaited BITCOUNT (has data), BITOP AND, BITCOUNT, DEL',
    async run() {
      const sizes: number[] = [];
      const cells: Answer[] = [];
      for (let p = 0; p < COHORT_ROWS; p++) {
        const size = await redis.bitcount(cohortKey(ds, p));
        sizes.push(size);
        for (let k = 0; k < COHORT_COLUMNS; k++) {
          const aKey = activityKey(ds, p + k);
          if ((await redis.bitcount(aKey)) === 0) {
            cells.push(null);
            continue;
          }
          await redis.bitop('AND', tmp, cohortKey(ds, p), aKey);
          const n = await redis.bitcount(tmp);
          await redis.del(tmp);
          cells.push(size === 0 ? null : n);
        }
      }
      return [...sizes, ...cells];
    },
  };
}

/**
 * The hand-written script: KEYS = the ROWS cohort keys, the ROWS+COLUMNS-1 activity keys, one
 * temporary; ARGV = rows, columns. Returns the sizes, then the cells row by row with -1 for null
 * (a Lua nil would end the reply array). "Has data" is checked once per activity day.
 */
export const COHORT_LUA = `
local rows = tonumber(ARGV[1])
local cols = tonumber(ARGV[2])
local tmp = KEYS[#KEYS]
local out = {}
for p = 1, rows do
  out[p] = redis.call('BITCOUNT', KEYS[p])
end
local has = {}
for d = 1, rows + cols - 1 do
  has[d] = redis.call('BITCOUNT', KEYS[rows + d]) > 0
end
local used = false
for p = 1, rows do
  for k = 0, cols - 1 do
    local cell = -1
    if out[p] > 0 and has[p + k] then
      redis.call('BITOP', 'AND', tmp, KEYS[p], KEYS[rows + p + k])
      cell = redis.call('BITCOUNT', tmp)
      used = true
    end
    out[#out + 1] = cell
  end
end
if used then redis.call('DEL', tmp) end
return out
`;

/** ONE EVALSHA of COHORT_LUA for the whole table. */
export async function luaCohort(redis: Redis, ds: Dataset): Promise<Competitor> {
  const sha = String(await redis.script('LOAD', COHORT_LUA));
  const keys = [
    ...Array.from({ length: COHORT_ROWS }, (_, p) => cohortKey(ds, p)),
    ...Array.from({ length: COHORT_ROWS + COHORT_COLUMNS - 1 }, (_, d) => activityKey(ds, d)),
    tempKey('cohort-lua'),
  ];
  return {
    name: 'lua',
    description: 'one EVALSHA of a hand-written script computing sizes, cells and null markers',
    async run() {
      const reply = (await redis.evalsha(sha, keys.length, ...keys, COHORT_ROWS, COHORT_COLUMNS)) as unknown[];
      return reply.map((v, i) => (i >= COHORT_ROWS && Number(v) === -1 ? null : Number(v)));
    },
  };
}

/** The GraphQL query: one `cohort` field, explicit first row (no dependence on the clock). */
export function cohortQuery(ds: Dataset): string {
  const from = ds.days[0]!.iso;
  return (
    `query BenchCohort {\n  cohort(cohort: {event: {name: ${JSON.stringify(COHORT_EVENT)}}}, activity: {event: {name: ${JSON.stringify(ACTIVITY_EVENT)}}}, ` +
    `granularity: DAY, rows: ${COHORT_ROWS}, columns: ${COHORT_COLUMNS}, from: "${from}") {\n    rows { size cells }\n  }\n}\n`
  );
}

/** ONE GraphQL request with the `cohort` query, over HTTP. */
export function gatewayCohort(name: string, baseUrl: string, ds: Dataset): Competitor {
  const body = JSON.stringify({ query: cohortQuery(ds) });
  const url = `${baseUrl}/graphql`;
  return {
    name,
    description: `one POST /graphql: cohort(rows: ${COHORT_ROWS}, columns: ${COHORT_COLUMNS}) { rows { size cells } }`,
    async run() {
      const data = (await graphql(url, body, name)) as { cohort: { rows: Array<{ size: number | string; cells: Answer[] }> } };
      const rows = data.cohort.rows;
      if (rows.length !== COHORT_ROWS || rows.some((r) => r.cells.length !== COHORT_COLUMNS)) {
        throw new Error(`${name}: expected a ${COHORT_ROWS} × ${COHORT_COLUMNS} table, got ${rows.length} rows`);
      }
      return [...rows.map((r) => Number(r.size)), ...rows.flatMap((r) => r.cells)];
    },
  };
}

export interface CohortScenario {
  readonly id: string;
  readonly title: string;
  readonly notes: readonly string[];
  competitors(ctx: CohortContext): Promise<Competitor[]>;
  readonly baseline: string;
  readonly speedups: ReadonlyArray<readonly [string, string]>;
}

export const cohortScenario: CohortScenario = {
  id: 'D',
  title: `Scenario D — cohort ${COHORT_ROWS}×${COHORT_COLUMNS} days`,
  notes: [
    `cohort "${COHORT_EVENT}" × activity "${ACTIVITY_EVENT}", granularity DAY, ${COHORT_ROWS} rows × ${COHORT_COLUMNS} columns from the first of 60 days:`,
    `${COHORT_ROWS} sizes + ${COHORT_ROWS * COHORT_COLUMNS} cells |cohort(p) AND activity(p+k)|, null where the cohort is empty or day p+k has no activity data`,
    'the dataset has an empty signup day, an activity day with no key and one with zero bits, so some cells are null',
  ],
  async competitors(ctx) {
    return [
      naiveCohort(ctx.redis, ctx.ds),
      await luaCohort(ctx.redis, ctx.ds),
      gatewayCohort('gateway-redis', ctx.gatewayRedis.url, ctx.ds),
      gatewayCohort('gateway-redis-nocache', ctx.gatewayRedisNoCache.url, ctx.ds),
      gatewayCohort('gateway-embedded', ctx.gatewayEmbedded.url, ctx.ds),
    ];
  },
  baseline: 'lua',
  speedups: [
    ['naive', 'gateway-redis'],
    ['naive', 'gateway-embedded'],
    ['lua', 'gateway-redis'],
    ['lua', 'gateway-redis-nocache'],
    ['lua', 'gateway-embedded'],
  ],
};
