// Configuration: a JSON config file (serve --config, CONFIG_FILE) under the environment, validated
// by the same schemas, with bad values named with where they came from; --help lists every
// setting; INTROSPECTION=false and GRAPHIQL=false.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import { ConfigError, SETTINGS, loadConfig } from '../../src/config.ts';
import { createGateway } from '../../src/gateway.ts';
import { ok } from '../assertions.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'bitmapql-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function configFile(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The ConfigError message of a load that must fail. */
function failure(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('the configuration was accepted');
}

const SHA = hashKey('k1');

describe('config file', () => {
  const settings = {
    port: 5001,
    host: '0.0.0.0',
    trackHourly: true,
    maxBatch: 50,
    keyPrefix: 'bitmapist_',
    apiKeys: [{ name: 'app', sha256: SHA, scopes: ['read', 'write'] }],
    anonymousRead: false,
    introspection: false,
    graphiql: false,
  };
  const file = configFile(settings);

  it('settings by their camelCase names, native JSON values, validated like the environment', () => {
    const c = loadConfig({ CONFIG_FILE: file });
    expect(c).toMatchObject(settings);
    expect(c.redisMode).toBe('lua'); // not in the file: the default
  });

  it('the environment overrides the file; the file overrides defaults; --config overrides CONFIG_FILE', () => {
    const c = loadConfig({ CONFIG_FILE: file, PORT: '6001', TRACK_HOURLY: 'false', ANONYMOUS_READ: 'yes' });
    expect(c).toMatchObject({ port: 6001, trackHourly: false, anonymousRead: true, host: '0.0.0.0', maxBatch: 50 });
    const other = configFile({ port: 7001 });
    expect(loadConfig({ CONFIG_FILE: file }, {}, { file: other }).port).toBe(7001);
    expect(loadConfig({ CONFIG_FILE: file, PORT: '' }).port).toBe(5001); // empty: unset
    expect(loadConfig({}).port).toBe(4000);
  });

  it('a bad file value names the setting, the value and the file', () => {
    const bad = configFile({ port: 'abc', maxBatch: 0, fsync: 'sometimes' });
    const m = failure(() => loadConfig({ CONFIG_FILE: bad }));
    expect(m).toContain(`port="abc" (config file ${bad})`);
    expect(m).toContain(`maxBatch=0 (config file ${bad})`);
    expect(m).toContain(`fsync="sometimes" (config file ${bad})`);
    // The environment's value is the one judged (and named) when both are given.
    const m2 = failure(() => loadConfig({ CONFIG_FILE: bad, PORT: 'x', MAX_BATCH: '5', FSYNC: 'os' }));
    expect(m2).toContain('PORT="x"');
    expect(m2).not.toContain('maxBatch');
  });

  it('bad API keys: a short hash, an unknown scope, a duplicate name, invalid JSON in API_KEYS', () => {
    const short = configFile({ apiKeys: [{ name: 'a', sha256: 'abc', scopes: ['read'] }] });
    expect(failure(() => loadConfig({ CONFIG_FILE: short }))).toMatch(/apiKeys=.*\(config file .*\): 0\.sha256: sha256 must be 64 hex digits/);
    const scope = configFile({ apiKeys: [{ name: 'a', sha256: SHA, scopes: ['root'] }] });
    expect(failure(() => loadConfig({ CONFIG_FILE: scope }))).toContain('0.scopes.0');
    const twice = JSON.stringify([
      { name: 'a', sha256: SHA, scopes: ['read'] },
      { name: 'a', sha256: hashKey('k2'), scopes: ['read'] },
    ]);
    expect(failure(() => loadConfig({ API_KEYS: twice }))).toContain('two API keys are named "a"');
    expect(failure(() => loadConfig({ API_KEYS: '[{name:' }))).toContain('API_KEYS="[{name:": not valid JSON');
    expect(failure(() => loadConfig({ API_KEYS: JSON.stringify([{ name: 'a', sha256: SHA, scopes: ['read'], key: 'plain' }]) }))).toContain('API_KEYS=');
  });

  it('an unknown key, a file that is not a JSON object, a missing file', () => {
    expect(failure(() => loadConfig({ CONFIG_FILE: configFile({ prot: 1 }) }))).toMatch(/unknown settings "prot"; the settings are port, host/);
    expect(failure(() => loadConfig({ CONFIG_FILE: configFile('{ "port": ') }))).toContain('is not valid JSON');
    expect(failure(() => loadConfig({ CONFIG_FILE: configFile([1]) }))).toContain('must hold a JSON object');
    expect(failure(() => loadConfig({ CONFIG_FILE: join(dir, 'missing.json') }))).toContain('cannot read config file');
  });

  it('PERSISTED_OPERATIONS: an unreadable or malformed manifest stops the gateway naming the setting', async () => {
    const engine = await openEmbeddedEngine({ dir: mkdtempSync(join(dir, 'engine-')), fsync: 'os' });
    try {
      const start = (path: string): Promise<string> =>
        createGateway(loadConfig({}, { persistedOperations: path }), { engine }).then(
          () => 'started',
          (e: Error) => e.message,
        );
      expect(await start(join(dir, 'none.json'))).toMatch(/PERSISTED_OPERATIONS=".*none\.json": cannot read the manifest/);
      expect(await start(configFile({ abc: 1 }))).toMatch(/PERSISTED_OPERATIONS=.*: the manifest entry "abc" is not a document string/);
      expect(await start(configFile(['query { a }']))).toMatch(/PERSISTED_OPERATIONS=.*: the manifest must be a JSON object/);
    } finally {
      await engine.close();
    }
  });
});

describe.concurrent('the command line', () => {
  const cli = join(import.meta.dirname, '../../bin/bitmapql.js');

  it('serve --config with a bad value exits 2, naming the setting and the file', async () => {
    const bad = configFile({ port: 70000 });
    const err = await run(process.execPath, [cli, 'serve', '--config', bad], { env: { ...process.env, PORT: '' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain(`port=70000 (config file ${bad})`);
  }, 60_000);

  it('--help and serve --help list every setting, by variable and file key', async () => {
    for (const args of [['--help'], ['serve', '--help']]) {
      const { stdout } = await run(process.execPath, [cli, ...args]);
      for (const [name, s] of Object.entries(SETTINGS)) expect(stdout).toMatch(new RegExp(`\\n  ${s.env} +${name} +\\S`));
      expect(stdout).toContain('CONFIG_FILE');
    }
  }, 60_000);

  it('hash-key prints the sha256 the apiKeys setting wants; keygen a key, its hash and a config entry', async () => {
    expect((await run(process.execPath, [cli, 'hash-key', 'k1'])).stdout.trim()).toBe(SHA);
    const { stdout } = await run(process.execPath, [cli, 'keygen', '--name', 'ops', '--scopes', 'read,admin']);
    const key = /^key: +(\S+)$/m.exec(stdout)![1]!;
    const entry = JSON.parse(/^ {2}API_KEYS='(.*)'$/m.exec(stdout)![1]!) as unknown;
    expect(entry).toEqual([{ name: 'ops', sha256: hashKey(key), scopes: ['read', 'admin'] }]);
    expect(loadConfig({ API_KEYS: JSON.stringify(entry) }).apiKeys).toHaveLength(1);
  }, 60_000);
});

describe('INTROSPECTION and GRAPHIQL', () => {
  let on: TestGateway;
  let off: TestGateway;
  beforeAll(async () => {
    on = await testGateway({ engine: 'embedded' });
    off = await testGateway({ engine: 'embedded', config: { introspection: false, graphiql: false } });
  });
  afterAll(async () => {
    await on.close();
    await off.close();
  });

  it('introspection: on by default; off refuses __schema and __type with a clear error, __typename still works', async () => {
    expect(ok(await on.gql('{ __schema { queryType { name } } }'))).toEqual({ __schema: { queryType: { name: 'Query' } } });
    for (const q of ['{ __schema { types { name } } }', '{ __type(name: "Query") { name } }', '{ count(set: { ids: [1] }) __schema { queryType { name } } }']) {
      const r = await off.gql(q);
      expect(r.data ?? null).toBeNull();
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0]).toMatchObject({
        message: expect.stringMatching(/^introspection is disabled on this gateway \(INTROSPECTION=false\)/),
        extensions: { code: 'INTROSPECTION_DISABLED' },
      });
    }
    expect(ok(await off.gql('{ __typename count(set: { ids: [1, 2] }) }'))).toEqual({ __typename: 'Query', count: 2 });
  });

  it('GraphiQL: served to a browser by default; GRAPHIQL=false serves none', async () => {
    const get = (t: TestGateway): Promise<Response> =>
      Promise.resolve(t.gateway.yoga.fetch('http://yoga/graphql', { method: 'GET', headers: { accept: 'text/html' } }));
    const page = await get(on);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('bitmapql');
    const none = await get(off);
    expect(none.headers.get('content-type') ?? '').not.toContain('text/html');
    expect((await none.text()).toLowerCase()).not.toContain('graphiql');
  });
});
