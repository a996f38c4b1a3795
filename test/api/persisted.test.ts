// PERSISTED_OPERATIONS: with GraphQL Code Generator's manifest of the example documents
// (examples/generated/persisted-documents.json), known ids run, unknown ids and
// query texts are refused with stable codes, and scopes still apply.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey, newKey } from '../../src/auth.ts';
import { ENGINES, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

const MANIFEST = join(import.meta.dirname, '../../examples/generated/persisted-documents.json');
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
const NOW = Date.parse('2026-11-22T09:05:00Z');
const WRITER = newKey();

/** The manifest id of the example operation with this name. */
function idOf(operation: string): string {
  const found = Object.entries(manifest).find(([, doc]) => new RegExp(`^(query|mutation) ${operation}\\b`).test(doc));
  if (!found) throw new Error(`no operation ${operation} in the manifest`);
  return found[0];
}

describe('the manifest', () => {
  it('holds every example operation, keyed by sha256:<hex sha256 of the document>', () => {
    expect(Object.keys(manifest).length).toBeGreaterThanOrEqual(10);
    for (const [id, doc] of Object.entries(manifest)) expect(id).toBe(`sha256:${hashKey(doc)}`);
  });
});

describe.each(ENGINES)('persisted operations only (%s engine)', (engine) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({
      engine,
      now: NOW,
      config: { persistedOperations: MANIFEST, apiKeys: [{ name: 'app', sha256: hashKey(WRITER), scopes: ['read', 'write'] }] },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = async (body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; json: GqlResult }> => {
    const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as GqlResult };
  };
  const asWriter = { authorization: `Bearer ${WRITER}` };

  it('a known id runs its document: by documentId, with or without sha256:, or by Apollo persistedQuery', async () => {
    const mark = await post({ documentId: idOf('MarkActive'), variables: { userId: 7 } }, asWriter);
    expect(mark.json).toEqual({ data: { markEvent: { marked: 1 } } });
    const bare = idOf('Dashboard').replace(/^sha256:/, '');
    for (const body of [
      { documentId: idOf('Dashboard'), variables: { userId: 7 } },
      { documentId: bare, variables: { userId: 7 } },
      { extensions: { persistedQuery: { version: 1, sha256Hash: bare } }, variables: { userId: 7 } },
    ]) {
      const r = await post(body);
      expect(r.json.errors, JSON.stringify(r.json)).toBeUndefined();
      expect(r.json.data).toMatchObject({ userActiveThisWeek: true });
    }
  });

  it('scopes still apply to persisted operations', async () => {
    const r = await post({ documentId: idOf('MarkActive'), variables: { userId: 8 } });
    expect(r.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('an unknown id: PERSISTED_QUERY_NOT_FOUND', async () => {
    for (const documentId of [`sha256:${'0'.repeat(64)}`, 'nope']) {
      const r = await post({ documentId });
      expect(r.status).toBe(400);
      expect(r.json.errors).toEqual([
        { message: 'unknown persisted operation: this gateway runs only the operations of its manifest', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
      ]);
    }
  });

  it('any query text is refused, even one that is in the manifest: PERSISTED_QUERY_ONLY', async () => {
    for (const query of ['{ count(set: { ids: [1, 2] }) }', '{ __schema { queryType { name } } }', manifest[idOf('ThisWeek')]!]) {
      const r = await post({ query });
      expect(r.status).toBe(400);
      expect(r.json.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
      expect(r.json.data ?? null).toBeNull();
    }
    const both = await post({ query: '{ __typename }', documentId: idOf('ThisWeek') });
    expect(both.json.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
  });

  it('neither a query nor an id: PERSISTED_QUERY_ID_REQUIRED', async () => {
    const r = await post({ variables: {} });
    expect(r.json.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ID_REQUIRED');
  });
});
