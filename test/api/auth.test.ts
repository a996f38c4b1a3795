// API keys and scopes: every caller (anonymous with ANONYMOUS_READ on and off, each scope, all
// scopes, a wrong key, a malformed header) against a query, a write mutation and an admin
// mutation; UNAUTHENTICATED vs FORBIDDEN; messages that reveal no key; keys compared in constant time.

import * as crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authenticate, findKey, hashKey, newKey } from '../../src/auth.ts';
import { loadConfig } from '../../src/config.ts';
import { testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

// Wraps the real timingSafeEqual so the test can see that (and how often) it is used.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof crypto>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const NOW = Date.parse('2026-11-22T09:05:00Z');
const KEYS = {
  reader: newKey(),
  writer: newKey(),
  admin: newKey(),
  all: newKey(),
};
/** Configured the way an operator would: API_KEYS as JSON, hashes only (one in upper case). */
const apiKeys = loadConfig({
  API_KEYS: JSON.stringify([
    { name: 'reader', sha256: hashKey(KEYS.reader).toUpperCase(), scopes: ['read'] },
    { name: 'writer', sha256: hashKey(KEYS.writer), scopes: ['write'] },
    { name: 'admin', sha256: hashKey(KEYS.admin), scopes: ['admin'] },
    { name: 'all', sha256: hashKey(KEYS.all), scopes: ['read', 'write', 'admin'] },
  ]),
}).apiKeys;

const READ = '{ count(set: { ids: [1, 2] }) }';
const WRITE = 'mutation { markEvent(input: { name: "authw", userId: 1 }) { marked } }';
const ADMIN = 'mutation { deleteTemporaryKeys { deleted } }';

type Outcome = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN';
type Caller = [label: string, headers: Record<string, string>, anonymousRead: boolean, read: Outcome, write: Outcome, admin: Outcome];

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const U = 'UNAUTHENTICATED';
const F = 'FORBIDDEN';

const CALLERS: Caller[] = [
  ['anonymous, ANONYMOUS_READ=true', {}, true, 'ok', U, U],
  ['anonymous, ANONYMOUS_READ=false', {}, false, U, U, U],
  ['read key', bearer(KEYS.reader), false, 'ok', F, F],
  ['write key', bearer(KEYS.writer), false, F, 'ok', F],
  ['admin key', bearer(KEYS.admin), false, F, F, 'ok'],
  ['read+write+admin key', bearer(KEYS.all), false, 'ok', 'ok', 'ok'],
  ['lower-case "bearer" scheme', { authorization: `bearer ${KEYS.all}` }, false, 'ok', 'ok', 'ok'],
  ['unknown key, ANONYMOUS_READ=true', bearer(newKey()), true, U, U, U],
  ['unknown key, ANONYMOUS_READ=false', bearer(newKey()), false, U, U, U],
  ['a key with a typo', bearer(`${KEYS.all}x`), true, U, U, U],
  ['malformed: no scheme', { authorization: KEYS.all }, true, U, U, U],
  ['malformed: Basic', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, true, U, U, U],
  ['malformed: empty Bearer', { authorization: 'Bearer ' }, true, U, U, U],
  ['malformed: empty header', { authorization: '' }, true, U, U, U],
  ['malformed: two tokens', { authorization: `Bearer ${KEYS.all} ${KEYS.all}` }, true, U, U, U],
];

describe('API keys and scopes', () => {
  const gateways = new Map<boolean, TestGateway>();
  beforeAll(async () => {
    for (const anonymousRead of [true, false]) {
      gateways.set(anonymousRead, await testGateway({ engine: 'embedded', now: NOW, config: { apiKeys, anonymousRead } }));
    }
  });
  afterAll(async () => {
    for (const t of gateways.values()) await t.close();
  });

  const outcome = (r: GqlResult): Outcome => {
    if (!r.errors) return 'ok';
    expect(r.errors, JSON.stringify(r)).toHaveLength(1);
    return r.errors[0]!.extensions!.code as Outcome;
  };

  describe.each(CALLERS)('%s', (_label, headers, anonymousRead, read, write, admin) => {
    const t = (): TestGateway => gateways.get(anonymousRead)!;

    it(`query: ${read}`, async () => {
      const r = await t().gql(READ, undefined, headers);
      expect(outcome(r)).toBe(read);
      if (read === 'ok') expect(r.data).toEqual({ count: 2 });
      else expect(r.data ?? null).toBeNull();
    });

    it(`write mutation: ${write} (nothing written when refused)`, async () => {
      const before = await t().keys();
      const r = await t().gql(WRITE, undefined, headers);
      expect(outcome(r)).toBe(write);
      if (write === 'ok') expect(r.data).toEqual({ markEvent: { marked: 1 } });
      else expect(await t().keys()).toEqual(before);
    });

    it(`admin mutation: ${admin}`, async () => {
      const r = await t().gql(ADMIN, undefined, headers);
      expect(outcome(r)).toBe(admin);
      if (admin === 'ok') expect(r.data).toEqual({ deleteTemporaryKeys: { deleted: 0 } });
    });
  });

  it('messages say what to send and never name or hint at configured keys', async () => {
    const t = gateways.get(false)!;
    const messages: string[] = [];
    for (const [, headers] of CALLERS) {
      for (const q of [READ, WRITE, ADMIN]) for (const e of (await t.gql(q, undefined, headers)).errors ?? []) messages.push(e.message);
    }
    expect(messages.length).toBeGreaterThan(20);
    for (const m of messages) {
      for (const name of ['reader', 'writer']) expect(m).not.toContain(name);
      for (const key of Object.values(KEYS)) {
        expect(m).not.toContain(key);
        expect(m).not.toContain(hashKey(key));
      }
      expect(m).not.toMatch(/\n\s+at /);
    }
    // Two different unknown keys get the very same answer.
    const a = await t.gql(READ, undefined, bearer(newKey()));
    const b = await t.gql(READ, undefined, bearer('bmq_something-else'));
    expect(a).toEqual(b);
    expect(a.errors![0]!.message).toBe('invalid API key');
    // Anonymous: told to send a key; a key without the scope: told which scope is missing.
    expect((await t.gql(WRITE, undefined, {})).errors![0]!.message).toMatch(/markEvent needs an API key with the "write" scope.*Authorization: Bearer/);
    expect((await t.gql(WRITE, undefined, bearer(KEYS.reader))).errors![0]!.message).toBe(
      'markEvent needs the "write" scope, which this API key does not have',
    );
    expect((await t.gql('{ __typename }', undefined, { authorization: 'Token x' })).errors![0]).toMatchObject({
      message: expect.stringContaining('malformed Authorization header'),
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('a refused request is refused as a whole: one error, no data, HTTP 401 for a bad key', async () => {
    const t = gateways.get(true)!;
    const res = await t.gateway.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...bearer(newKey()) },
      body: JSON.stringify({ query: `{ a: ${READ.slice(2, -2)} b: ${READ.slice(2, -2)} }` }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const body = (await res.json()) as GqlResult;
    expect(body.errors).toHaveLength(1);
    expect(body.data ?? null).toBeNull();
  });

  it('admin mutations need admin, not write: a write-only key cannot delete, an admin-only key cannot mark', async () => {
    const t = gateways.get(false)!;
    expect(outcome(await t.gql('mutation { deleteEvent(name: "authw") { deleted } }', undefined, bearer(KEYS.writer)))).toBe('FORBIDDEN');
    expect(outcome(await t.gql('mutation { markUnique(name: "authw", userId: 3) { marked } }', undefined, bearer(KEYS.admin)))).toBe('FORBIDDEN');
    expect(outcome(await t.gql('mutation { incrementCounter(name: "c", key: "k") { incremented } }', undefined, bearer(KEYS.reader)))).toBe('FORBIDDEN');
  });
});

describe('with no API keys configured (local use)', () => {
  it('lets anonymous callers read and write, but not run admin mutations; a made-up key is still refused', async () => {
    const t = await testGateway({ engine: 'embedded', now: NOW, config: { apiKeys: [], anonymousRead: false } });
    try {
      const anon = {};
      const mark = await t.gql(`mutation { markEvent(input: { name: "local", userId: 5 }) { marked } }`, undefined, anon);
      expect(mark.errors).toBeUndefined();
      const read = await t.gql(`{ count(set: { event: { name: "local", period: { current: DAY } } }) }`, undefined, anon);
      expect(read.data).toEqual({ count: 1 });
      const admin = await t.gql(`mutation { deleteTemporaryKeys { deleted } }`, undefined, anon);
      expect(admin.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const madeUp = await t.gql(`{ __typename }`, undefined, { authorization: 'Bearer not-a-key' });
      expect(madeUp.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await t.close();
    }
  });
});

describe('key comparison', () => {
  const spy = vi.mocked(crypto.timingSafeEqual);

  it('hashes the presented key and compares it with every configured hash by crypto.timingSafeEqual, no early exit', () => {
    for (const [presented, expected] of [
      [KEYS.reader, 'reader'],
      [KEYS.all, 'all'],
      ['not a key', undefined],
    ] as const) {
      spy.mockClear();
      expect(findKey(apiKeys, presented)?.name).toBe(expected);
      expect(spy).toHaveBeenCalledTimes(apiKeys.length);
      for (const [a, b] of spy.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
  });

  it('authenticate: no header is anonymous (read as configured); keys carry exactly their scopes', () => {
    expect(authenticate({ apiKeys, anonymousRead: true }, undefined)).toEqual({
      principal: { kind: 'anonymous' },
      scopes: { read: true, write: false, admin: false },
    });
    expect(authenticate({ apiKeys, anonymousRead: false }, null).scopes.read).toBe(false);
    expect(authenticate({ apiKeys, anonymousRead: true }, `Bearer ${KEYS.writer}`)).toEqual({
      principal: { kind: 'key', name: 'writer' },
      scopes: { read: false, write: true, admin: false },
    });
    expect(() => authenticate({ apiKeys, anonymousRead: true }, `Bearer ${newKey()}`)).toThrow('invalid API key');
  });

  it('hash-key: the hex sha256 of the key', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(newKey()).toMatch(/^bmq_[A-Za-z0-9_-]{43}$/);
  });
});
