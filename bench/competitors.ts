// Competitors: ways to answer a batch of counts. Each is prepared once (commands, script, query
// text) and then `run()` answers the whole batch, returning one count per expression in order.

import type { Redis } from 'ioredis';
import type { Dataset } from './dataset.ts';
import { graphql } from './http-client.ts';
import { compile, countQuery } from './expr.ts';
import type { BExpr, Operand } from './expr.ts';

/** One answer: a count, or null (a cohort cell with no data). */
export type Answer = number | null;

export interface Competitor {
  /** Short name used in tables and speed-up lines. */
  readonly name: string;
  /** What it does, one line. */
  readonly description: string;
  /** Answers every count of the batch (for a cohort table: sizes, then cells row by row). */
  run(): Promise<Answer[]>;
}

const tempName = (owner: string, n: number): string => `bench_tmp:${owner}:${n}`;
const operandName = (owner: string, o: Operand): string => ('key' in o ? o.key : tempName(owner, o.temp));

/** bitmapist's way: per count, an awaited BITOP per operator, an awaited BITCOUNT, an awaited DEL. */
export function naive(redis: Redis, ds: Dataset, exprs: readonly BExpr[]): Competitor {
  const owner = 'naive';
  const { counts } = compile(ds, exprs, { share: false });
  return {
    name: 'naive',
    description: 'per count: awaited BITOP(s), BITCOUNT, DEL (bitmapist style)',
    async run() {
      const out: number[] = [];
      for (const c of counts) {
        for (const s of c.steps) await redis.bitop(s.op, tempName(owner, s.dest), ...s.args.map((a) => operandName(owner, a)));
        out.push(await redis.bitcount(operandName(owner, c.result)));
        if (c.temps) await redis.del(...Array.from({ length: c.temps }, (_, i) => tempName(owner, i)));
      }
      return out;
    },
  };
}

/** The same commands as `naive`, sent as one ioredis pipeline (one round trip, not atomic). */
export function pipeline(redis: Redis, ds: Dataset, exprs: readonly BExpr[]): Competitor {
  const owner = 'pipeline';
  const { counts } = compile(ds, exprs, { share: false });
  return {
    name: 'pipeline',
    description: 'the same BITOP/BITCOUNT/DEL commands in one ioredis pipeline',
    async run() {
      const p = redis.pipeline();
      const countAt: number[] = [];
      let at = 0;
      for (const c of counts) {
        for (const s of c.steps) {
          p.bitop(s.op, tempName(owner, s.dest), ...s.args.map((a) => operandName(owner, a)));
          at++;
        }
        p.bitcount(operandName(owner, c.result));
        countAt.push(at++);
        if (c.temps) {
          p.del(...Array.from({ length: c.temps }, (_, i) => tempName(owner, i)));
          at++;
        }
      }
      const replies = await p.exec();
      if (!replies) throw new Error('pipeline aborted');
      const failed = replies.find(([err]) => err);
      if (failed) throw failed[0];
      return countAt.map((i) => Number(replies[i]![1]));
    },
  };
}

/**
 * A hand-written Lua script: runs a list of BITOPs and BITCOUNTs given as arguments and returns
 * every count. KEYS: source keys, then temporaries. ARGV: AND|OR|XOR dest n ref... | COUNT ref,
 * where dest and ref are indices into KEYS. Temporaries are deleted before it returns.
 */
export const BENCH_LUA = `
local ntemp = tonumber(ARGV[1])
local out = {}
local i, n = 2, #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'COUNT' then
    out[#out + 1] = redis.call('BITCOUNT', KEYS[tonumber(ARGV[i + 1])])
    i = i + 2
  else
    local k = tonumber(ARGV[i + 2])
    local args = {}
    for j = 1, k do args[j] = KEYS[tonumber(ARGV[i + 2 + j])] end
    redis.call('BITOP', op, KEYS[tonumber(ARGV[i + 1])], unpack(args))
    i = i + 3 + k
  end
end
if ntemp > 0 then
  local temps = {}
  for t = #KEYS - ntemp + 1, #KEYS do temps[#temps + 1] = KEYS[t] end
  redis.call('DEL', unpack(temps))
end
return out
`;

/**
 * ONE EVALSHA of BENCH_LUA for the whole batch. With `share: false` every count is computed on its
 * own (a sub-expression used by several counts is recomputed each time); with `share: true`
 * shared sub-expressions are computed once, by hand.
 */
export async function lua(
  redis: Redis,
  ds: Dataset,
  exprs: readonly BExpr[],
  options: { name?: string; share: boolean },
): Promise<Competitor> {
  const name = options.name ?? 'lua';
  const sha = String(await redis.script('LOAD', BENCH_LUA));
  const { counts, temps } = compile(ds, exprs, { share: options.share });
  const keys: string[] = [];
  const index = new Map<string, number>();
  for (const c of counts) {
    const refs = [...c.steps.flatMap((s) => s.args), c.result];
    for (const r of refs) {
      if ('key' in r && !index.has(r.key)) {
        keys.push(r.key);
        index.set(r.key, keys.length); // Lua is 1-based
      }
    }
  }
  const ref = (o: Operand): number => ('key' in o ? index.get(o.key)! : keys.length + o.temp + 1);
  const argv: Array<string | number> = [temps];
  for (const c of counts) {
    for (const s of c.steps) argv.push(s.op, ref({ temp: s.dest }), s.args.length, ...s.args.map(ref));
    argv.push('COUNT', ref(c.result));
  }
  const allKeys = [...keys, ...Array.from({ length: temps }, (_, i) => tempName(name, i))];
  return {
    name,
    description: options.share
      ? 'one EVALSHA of a hand-written script; shared sub-expressions computed once'
      : 'one EVALSHA of a hand-written script computing every count',
    async run() {
      const reply = (await redis.evalsha(sha, allKeys.length, ...allKeys, ...argv)) as unknown[];
      return reply.map(Number);
    },
  };
}

/** ONE GraphQL request with an aliased `count(set: …)` field per expression, over HTTP. */
export function gateway(name: string, baseUrl: string, ds: Dataset, exprs: readonly BExpr[]): Competitor {
  const body = JSON.stringify({ query: countQuery(ds, exprs) });
  const url = `${baseUrl}/graphql`;
  return {
    name,
    description: `one POST /graphql with ${exprs.length} aliased count fields`,
    async run() {
      const data = await graphql(url, body, name);
      return exprs.map((_, i) => Number(data[`c${i}`]));
    },
  };
}
