// The HTTP surface against hostile requests: rate limits on every spelling of the GraphQL path,
// CORS (same-origin unless CORS_ORIGINS lists an origin), no cross-site form posts, document and
// variable depth refused with a code instead of a stack overflow, no field-name suggestions with
// INTROSPECTION=false, and graphql-armor's refusals with a code. After each hostile request the
// gateway must still answer an ordinary one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { TEST_AUTH, testGateway } from '../helpers.ts';
import type { GqlResult, TestGateway } from '../helpers.ts';

const COUNT = '{ count(set: { ids: [1, 2, 3] }) }';
const MARK = 'mutation { markEvent(input: { name: "csrf", userId: 7 }) { marked } }';
const EVIL = 'http://evil.example';

interface Reply {
  status: number;
  headers: Headers;
  json: GqlResult;
}

/** A request to the gateway's fetch handler at `path` (no socket: the path is sent as written). */
async function send(t: TestGateway, path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await t.gateway.yoga.fetch(`http://yoga${path}`, init);
  const text = await res.text();
  let json: GqlResult = {};
  try {
    json = JSON.parse(text) as GqlResult;
  } catch {
    // Not every refusal has a JSON body (e.g. a preflight); status and headers are what count then.
  }
  return { status: res.status, headers: res.headers, json };
}

const jsonPost = (query: string, headers: Record<string, string> = {}, variables?: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
  body: JSON.stringify({ query, variables }),
});

const codes = (r: GqlResult): Array<string | undefined> => (r.errors ?? []).map((e) => e.extensions?.code);

/** The gateway still answers an ordinary query with the right number. */
async function stillAnswers(t: TestGateway, headers: Record<string, string> = TEST_AUTH): Promise<void> {
  const r = await send(t, '/graphql', jsonPost(COUNT, headers));
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ data: { count: 3 } });
}

describe('rate limits apply to every spelling of the GraphQL path', () => {
  const SPELLINGS = ['/graphql', '/graphql/', '//graphql', '/x/graphql', '/graphql?'];

  it('each spelling reaches GraphQL (without a limit every one answers)', async () => {
    const t = await testGateway({ engine: 'redis' });
    try {
      for (const path of SPELLINGS) {
        const r = await send(t, path, jsonPost(COUNT, TEST_AUTH));
        expect([path, r.json]).toEqual([path, { data: { count: 3 } }]);
      }
    } finally {
      await t.close();
    }
  });

  describe('with a limit', () => {
    let t: TestGateway;
    // One token per 1,000 s: nothing refills while the test runs, so the numbers are exact.
    const BURST = 3;
    beforeAll(async () => {
      t = await testGateway({ engine: 'redis', config: { rateLimitPerSecond: 0.001, rateLimitBurst: BURST, rateLimitAnonPerSecond: 0 } });
    });
    afterAll(() => t.close());

    it('one caller gets its burst in total, whatever paths it spreads its requests over', async () => {
      const statuses: number[] = [];
      for (let round = 0; round < 6; round++) {
        for (const path of SPELLINGS) {
          const r = await send(t, path, jsonPost(COUNT, TEST_AUTH));
          statuses.push(r.status);
          if (r.status === 429) {
            expect(codes(r.json)).toEqual(['RATE_LIMITED']);
            expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
          } else expect(r.json).toEqual({ data: { count: 3 } });
        }
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(BURST);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6 * SPELLINGS.length - BURST);
      // Another caller (anonymous, not limited here) is still answered.
      await stillAnswers(t, {});
    });

    it('health, readiness, metrics and the dashboard are never limited', async () => {
      for (let i = 0; i < BURST + 1; i++) await send(t, '/graphql/', jsonPost(COUNT, TEST_AUTH));
      for (const path of ['/health', '/ready', '/metrics', '/']) {
        const r = await send(t, path, { headers: { accept: 'text/html', ...TEST_AUTH } });
        expect([path, r.status]).toEqual([path, 200]);
      }
    });
  });
});

describe('CORS', () => {
  const preflight = (origin: string): RequestInit => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });

  describe('by default: same-origin only', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await testGateway({ engine: 'redis' });
    });
    afterAll(() => t.close());

    it('no CORS headers for a foreign origin, on a preflight or a request', async () => {
      expect(t.config.corsOrigins).toEqual([]);
      const pre = await send(t, '/graphql', preflight(EVIL));
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.headers.get('access-control-allow-methods')).toBeNull();
      expect(pre.headers.get('access-control-allow-headers')).toBeNull();
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      const r = await send(t, '/graphql', jsonPost(COUNT, { ...TEST_AUTH, origin: EVIL }));
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect(r.headers.get('access-control-allow-credentials')).toBeNull();
      await stillAnswers(t);
    });
  });

  describe('CORS_ORIGINS lists the origins allowed', () => {
    let t: TestGateway;
    const APP = 'https://app.example.com';
    const DEV = 'http://localhost:5173';
    beforeAll(async () => {
      t = await testGateway({ engine: 'redis', config: { corsOrigins: loadConfig({ CORS_ORIGINS: `${APP}, ${DEV}/` }).corsOrigins } });
    });
    afterAll(() => t.close());

    it('a listed origin passes its preflight and may read the answer', async () => {
      for (const origin of [APP, DEV]) {
        const pre = await send(t, '/graphql', preflight(origin));
        expect(pre.status).toBeLessThan(300);
        expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
        expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
        expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
        const r = await send(t, '/graphql', jsonPost(COUNT, { ...TEST_AUTH, origin }));
        expect(r.headers.get('access-control-allow-origin')).toBe(origin);
        expect(r.json).toEqual({ data: { count: 3 } });
      }
    });

    it('another origin, "null" included, gets no CORS headers', async () => {
      for (const origin of [EVIL, 'null', 'https://app.example.com.evil.example', 'http://app.example.com']) {
        const pre = await send(t, '/graphql', preflight(origin));
        expect([origin, pre.headers.get('access-control-allow-origin')]).toEqual([origin, null]);
        expect(pre.headers.get('access-control-allow-headers')).toBeNull();
        const r = await send(t, '/graphql', jsonPost(COUNT, { ...TEST_AUTH, origin }));
        expect([origin, r.headers.get('access-control-allow-origin')]).toEqual([origin, null]);
      }
      await stillAnswers(t);
    });
  });

  it('CORS_ORIGINS: a comma-separated list of origins, checked at start-up', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://A.example.com:443/, http://localhost:5173' }).corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of ['*', 'https://a.example.com/app', 'ftp://a.example.com', 'a.example.com', 'null', 'https://a.example.com,']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });
});

describe('cross-site request forgery', () => {
  // No API keys: the default for a local `npm start`, where anonymous callers may write.
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis', config: { apiKeys: [] } });
  });
  afterAll(() => t.close());

  const form = (query: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: EVIL, ...headers },
    body: new URLSearchParams({ query }).toString(),
  });

  it('a form-encoded mutation without a preflight-forcing header is refused and writes nothing', async () => {
    const r = await send(t, '/graphql', form(MARK));
    expect(r.status).toBe(403);
    expect(codes(r.json)).toEqual(['CSRF_PREFLIGHT_REQUIRED']);
    expect(r.json.errors![0]!.message).toMatch(/application\/json|x-graphql-yoga-csrf/);
    expect(await t.keys()).toEqual([]);
    await stillAnswers(t, {});
  });

  it('so are multipart and text/plain bodies (a form or a no-cors fetch can send them)', async () => {
    const multipart = new FormData();
    multipart.set('operations', JSON.stringify({ query: MARK }));
    multipart.set('map', '{}');
    const m = await send(t, '/graphql', { method: 'POST', headers: { origin: EVIL }, body: multipart });
    expect(m.status).toBe(403);
    expect(codes(m.json)).toEqual(['CSRF_PREFLIGHT_REQUIRED']);
    const plain = await send(t, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'text/plain;application/json', origin: EVIL },
      body: JSON.stringify({ query: MARK }),
    });
    expect(plain.status).toBeGreaterThanOrEqual(400);
    expect(await t.keys()).toEqual([]);
    await stillAnswers(t, {});
  });

  it('a form post with a preflight-forcing header runs (a browser sends one only after a passed preflight)', async () => {
    for (const header of ['x-graphql-yoga-csrf', 'apollo-require-preflight']) {
      const r = await send(t, '/graphql', form(COUNT, { [header]: '1', accept: 'application/json' }));
      expect([header, r.json]).toEqual([header, { data: { count: 3 } }]);
    }
  });

  it('JSON POSTs and GET queries still work; a mutation over GET is still refused', async () => {
    const marked = await send(t, '/graphql', jsonPost(MARK));
    expect(marked.json).toEqual({ data: { markEvent: { marked: 1 } } });
    expect((await t.keys()).length).toBeGreaterThan(0);
    const get = await send(t, `/graphql?query=${encodeURIComponent(COUNT)}`, { headers: { accept: 'application/json' } });
    expect(get.json).toEqual({ data: { count: 3 } });
    const before = await t.keys();
    const getMark = await send(t, `/graphql?query=${encodeURIComponent(MARK.replace('7', '8'))}`, { headers: { accept: 'application/json' } });
    expect(getMark.status).toBe(405);
    expect(await t.keys()).toEqual(before);
  });
});

describe('nesting depth: refused with TOO_COMPLEX, never a stack overflow', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis' });
  });
  afterAll(() => t.close());

  const deepList = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

  it('a block string holding a quote does not hide the brackets after it', async () => {
    for (const depth of [1000, 20_000]) {
      const query = `{ a: count(set: { event: { name: """a"b""", period: { current: DAY } } }) b: count(set: { ids: ${deepList(depth)} }) }`;
      const r = await send(t, '/graphql', jsonPost(query, TEST_AUTH));
      expect(r.status).toBeLessThan(500);
      expect(codes(r.json)).toEqual(['TOO_COMPLEX']);
      expect(JSON.stringify(r.json)).not.toMatch(/\n\s+at /);
      await stillAnswers(t);
    }
  });

  it('nor do strings, escapes and comments', async () => {
    for (const hide of ['"\\""', '"""a\\"""b"""', '"""a""b"""', '# a "quote\n', '"\\\\"']) {
      const query = `{ a: count(set: { event: { name: ${hide.startsWith('#') ? '"x"' : hide}, period: { current: DAY } } }) ${hide.startsWith('#') ? hide : ''} b: count(set: { ids: ${deepList(3000)} }) }`;
      const r = await send(t, '/graphql', jsonPost(query, TEST_AUTH));
      expect([hide, codes(r.json)]).toEqual([hide, ['TOO_COMPLEX']]);
    }
    await stillAnswers(t);
  });

  it('a shallow document with block strings and brackets inside strings still runs', async () => {
    const query = `{ count(set: { event: { name: """[[[{{{"x""", period: { current: DAY } } }) }`;
    const r = await send(t, '/graphql', jsonPost(query, TEST_AUTH));
    // Not a valid event name (brackets), but refused by the name rule, not by the depth guard.
    expect(codes(r.json)).toEqual(['BAD_EVENT_NAME']);
  });

  it('a variable nested 100,000 levels deep in a UserId position', async () => {
    const body = `{"query":"query($u: UserId!) { contains(set: { ids: [1] }, userId: $u) }","variables":{"u":${deepList(100_000)}}}`;
    const r = await send(t, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
      body,
    });
    expect(r.status).toBeLessThan(500);
    expect(codes(r.json)).toEqual(['TOO_COMPLEX']);
    await stillAnswers(t);
    // And a deep object in a list of ids.
    const objects = `{"query":"query($ids: [UserId!]!) { count(set: { ids: $ids }) }","variables":{"ids":[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]}}`;
    const r2 = await send(t, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...TEST_AUTH },
      body: objects,
    });
    expect(r2.status).toBeLessThan(500);
    expect(codes(r2.json)).toEqual(['TOO_COMPLEX']);
    await stillAnswers(t);
  });
});

describe('field suggestions', () => {
  // What was asked, and the name a suggestion would reveal.
  const TYPOS: Array<[string, string, unknown, string]> = [
    ['an unknown field', '{ coun(set: { ids: [1] }) }', undefined, '"count"'],
    ['an unknown argument', '{ count(set: { ids: [1] }, sett: 1) }', undefined, '"set"'],
    ['an unknown enum value', '{ count(set: { event: { name: "a", period: { current: DAZ } } }) }', undefined, '"DAY"'],
    ['an unknown type', 'query($s: SetExp!) { count(set: $s) }', { s: { ids: [1] } }, '"SetExpr"'],
    ['an unknown input field in the variables', 'query($s: SetExpr!) { count(set: $s) }', { s: { idz: [1] } }, '"ids"'],
  ];

  const messages = async (t: TestGateway, query: string, variables: unknown, headers: Record<string, string>): Promise<string> => {
    const r = await send(t, '/graphql', jsonPost(query, headers, variables));
    expect(r.json.errors?.length, JSON.stringify(r.json)).toBeGreaterThan(0);
    return r.json.errors!.map((e) => e.message).join('\n');
  };

  it('are given while introspection is on (the schema is public then)', async () => {
    const t = await testGateway({ engine: 'redis' });
    try {
      for (const [what, query, variables, name] of TYPOS) {
        const text = await messages(t, query, variables, TEST_AUTH);
        expect(text, what).toMatch(/Did you mean/);
        expect(text, what).toContain(name);
      }
    } finally {
      await t.close();
    }
  });

  it('are hidden with INTROSPECTION=false, from callers with and without a key', async () => {
    const t = await testGateway({ engine: 'redis', config: { introspection: false } });
    try {
      for (const headers of [TEST_AUTH, {}]) {
        for (const [what, query, variables, name] of TYPOS) {
          const text = await messages(t, query, variables, headers);
          expect(text, what).not.toMatch(/Did you mean/);
          expect(text, what).not.toContain(name);
        }
      }
      await stillAnswers(t);
    } finally {
      await t.close();
    }
  });
});

describe('document limits (graphql-armor) answer with TOO_COMPLEX and the limit', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis' });
  });
  afterAll(() => t.close());

  const refusal = async (query: string, limit: number): Promise<void> => {
    const r = await send(t, '/graphql', jsonPost(query, TEST_AUTH));
    expect(r.status).toBeLessThan(500);
    const coded = (r.json.errors ?? []).filter((e) => e.extensions?.code === 'TOO_COMPLEX');
    expect(coded, JSON.stringify(r.json).slice(0, 500)).toHaveLength(1);
    expect(coded[0]!.extensions?.limit).toBe(limit);
    expect(coded[0]!.message).toContain(String(limit));
    expect(coded[0]!.message).not.toMatch(/^Syntax Error/);
    expect(r.json.data ?? null).toBeNull();
    await stillAnswers(t);
  };

  it('1,001 aliases', async () => {
    const aliases = Array.from({ length: 1001 }, (_, i) => `a${i}: count(set: { ids: [${i}] })`).join('\n');
    await refusal(`{ ${aliases} }`, 1000);
  });

  it('selection depth 13', async () => {
    await refusal(`{ ${'cohort { '.repeat(13)}size${' }'.repeat(13)} }`, 12);
  });

  it('50,001 tokens', async () => {
    await refusal(`{ ${'__typename '.repeat(50_001)}}`, 50_000);
  });

  it('51 directives', async () => {
    await refusal(`{ __typename ${'@skip(if: false) '.repeat(51)}}`, 50);
  });
});
