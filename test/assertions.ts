// Small shared checks for tests: GraphQL results and raw Redis key listings.

import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { GqlResult } from './helpers.ts';

/** The data of a result that must have no errors. */
export function ok<T>(r: GqlResult<T>): T {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!;
}

/** The code of a result's one error. */
export function code(r: GqlResult): string | undefined {
  expect(r.errors, JSON.stringify(r)).toHaveLength(1);
  return r.errors![0]!.extensions?.code;
}

/** Every key matching a pattern, by SCAN on a raw connection. */
export async function scanAll(redis: Redis, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}
