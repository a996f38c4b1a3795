// The committed schema.graphql matches the code, and every example document is valid and runs.

import { readFileSync, readdirSync } from 'node:fs';
import { Kind, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedSchema, schema } from '../../src/schema/index.ts';
import { testGateway, TEST_AUTH } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const root = new URL('../../', import.meta.url);

describe('schema.graphql', () => {
  it('is up to date with the code (run `npm run schema` after changing the schema)', () => {
    expect(readFileSync(new URL('schema.graphql', root), 'utf8')).toBe(printedSchema());
  });

  it('declares the oneOf inputs', () => {
    const sdl = printedSchema();
    expect(sdl).toMatch(/input SetExpr @oneOf/);
    expect(sdl).toMatch(/input PeriodInput @oneOf/);
  });
});

describe('examples/*.graphql', () => {
  const files = readdirSync(new URL('examples/', root)).filter((f) => f.endsWith('.graphql'));
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', now: Date.parse('2026-11-22T09:05:00Z'), config: { idMapping: true } });
  });
  afterAll(() => t.close());

  it.each(files)('%s validates and every operation runs without errors', async (file) => {
    const text = readFileSync(new URL(`examples/${file}`, root), 'utf8');
    const doc = parse(text);
    expect(validate(schema, doc)).toEqual([]);
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) continue;
      const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...TEST_AUTH },
        body: JSON.stringify({
          query: text,
          operationName: def.name?.value,
          variables: { userId: 123, input: [{ name: 'active', userId: 1 }] },
        }),
      });
      const json = (await res.json()) as { errors?: unknown };
      expect(json.errors, `${def.name?.value}`).toBeUndefined();
    }
  });
});
