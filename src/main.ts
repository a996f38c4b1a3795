// Command line: `serve` (default) listens on a port; `print-schema` writes schema.graphql.

import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { openEmbeddedEngine } from './bitmap/engines/embedded.ts';
import type { Engine } from './bitmap/engines/engine.ts';
import { RedisEngine } from './bitmap/engines/redis.ts';
import { copyKeys } from './bitmap/copy.ts';
import { bitmapistLayout } from './bitmap/keys.ts';
import type { KeyLayout } from './bitmap/keys.ts';
import { ConfigError, describeSettings, describeSources, loadConfig } from './config.ts';
import { hashKey, newKey } from './auth.ts';
import { progress } from './progress.ts';
import { runDemoData } from './demo/cli.ts';
import type { DemoFlags } from './demo/cli.ts';
import { runImport } from './import/cli.ts';
import type { ImportFlags } from './import/cli.ts';
import { UsageError } from './usage-error.ts';

async function serve(opts: { config?: string } = {}): Promise<void> {
  const config = loadConfig(process.env, {}, { file: opts.config });
  // Loaded here, not at the top: the other commands start without building the schema.
  const { createGateway } = await import('./gateway.ts');
  const gateway = await createGateway(config, { log });
  const server = createServer(gateway.yoga);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const engine = config.redisUrl ? `redis (${config.redisMode})` : `embedded (${config.dataDir})`;
  log({ msg: 'listening', url: `http://${config.host}:${config.port}/graphql`, engine, timeZone: config.timeZone });
  if (config.apiKeys.length === 0) {
    log({
      level: 'warn',
      msg: 'no API keys configured: anyone who can reach this port may read and write (admin needs a key). Set API_KEYS for production (bitmapql keygen).',
    });
  }

  let stopping = false;
  // While stopping, every response closes its connection, so keep-alive clients move on.
  server.on('request', (_req, res) => {
    if (stopping) res.setHeader('connection', 'close');
  });
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      server.closeAllConnections(); // a second signal: stop waiting for in-flight requests
      return;
    }
    stopping = true;
    gateway.observability.draining = true; // GET /ready answers 503 from now on
    log({ msg: 'stopping', signal, graceMs: config.shutdownTimeoutMs });
    // Stop accepting; let in-flight requests finish (bounded), then flush and close storage.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const forced = setTimeout(() => {
      log({ level: 'warn', msg: 'closing connections with requests still in flight', graceMs: config.shutdownTimeoutMs });
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    await closed;
    clearInterval(idle);
    clearTimeout(forced);
    try {
      await gateway.close(); // embedded: waits for queued writes and fsyncs; Redis: QUIT
    } catch (e) {
      log({ level: 'error', msg: 'closing storage failed', error: (e as Error)?.message ?? String(e) });
      process.exit(1);
    }
    log({ msg: 'stopped' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

const program = new Command('bitmapql')
  .description('GraphQL analytics gateway over bitmaps (bitmapist key layout)')
  .addHelpText('after', `\n${describeSources()}\n\nSettings (environment variable, config file key):\n${describeSettings()}\n`);

program
  .command('serve', { isDefault: true })
  .description('start the gateway (embedded engine unless REDIS_URL is set)')
  .option('-c, --config <file>', 'JSON config file of settings (default: CONFIG_FILE); environment variables override it')
  .addHelpText('after', `\n${describeSources()}\n\nSettings (environment variable, config file key):\n${describeSettings()}\n`)
  .action(serve);

program
  .command('hash-key')
  .description('print the sha256 of an API key, for the apiKeys setting (the key itself is never configured)')
  .argument('<key>', 'the API key')
  .action((key: string) => {
    process.stdout.write(`${hashKey(key)}\n`);
  });

program
  .command('keygen')
  .description('make a new random API key: prints the key (give it to the caller) and its apiKeys entry (for the config)')
  .option('--name <name>', 'the key\'s name in the config', 'service')
  .option('--scopes <scopes>', 'comma-separated: read, write, admin', 'read,write')
  .action((opts: { name: string; scopes: string }) => {
    const scopes = opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = scopes.filter((s) => !['read', 'write', 'admin'].includes(s));
    if (bad.length || !scopes.length) throw new ConfigError(`--scopes: expected read, write and/or admin, got ${JSON.stringify(opts.scopes)}`);
    const key = newKey();
    const entry = { name: opts.name, sha256: hashKey(key), scopes };
    process.stdout.write(
      [
        `key:    ${key}`,
        `sha256: ${entry.sha256}`,
        '',
        'config file (apiKeys is a list; add the entry to it):',
        `  "apiKeys": [${JSON.stringify(entry)}]`,
        'environment:',
        `  API_KEYS='${JSON.stringify([entry])}'`,
        '',
        'callers send: Authorization: Bearer <key>. The key is shown once; only its sha256 is configured.',
        '',
      ].join('\n'),
    );
  });

program
  .command('print-schema')
  .description('print the GraphQL schema (sorted SDL)')
  .option('-o, --out <file>', 'write to a file instead of stdout')
  .action(async (opts: { out?: string }) => {
    const { printedSchema } = await import('./schema/index.ts');
    if (opts.out) writeFileSync(opts.out, printedSchema());
    else process.stdout.write(printedSchema());
  });

/** A Redis URL, or a data folder of the embedded engine. */
async function openStore(where: string, mode: 'lua' | 'pipeline', layout: KeyLayout): Promise<Engine> {
  if (/^rediss?:\/\//.test(where)) return new RedisEngine({ url: where, mode, tempPrefix: layout.tempPrefix, idKeys: layout.idKeys }).connect();
  return openEmbeddedEngine({ dir: where, fsync: 'os' });
}

program
  .command('copy')
  .description('copy a dataset (bitmapist keys, counters, import ledger, string ids) between a Redis (or bitmapist-server) URL and an embedded data folder, either way')
  .argument('<from>', 'redis://host:port[/db] or a data folder')
  .argument('<to>', 'redis://host:port[/db] or a data folder')
  .option('--prefix <prefix>', 'key prefix to copy (default: KEY_PREFIX)')
  .option('--pipeline', 'talk to Redis with bitmapist-server commands only (no Lua, no UNLINK)')
  .action(async (fromWhere: string, toWhere: string, opts: { prefix?: string; pipeline?: boolean }) => {
    const prefix = opts.prefix ?? loadConfig().keyPrefix;
    const mode = opts.pipeline ? 'pipeline' : 'lua';
    const layout = bitmapistLayout(prefix);
    const from = await openStore(fromWhere, mode, layout);
    const to = await openStore(toWhere, mode, layout);
    try {
      const bar = progress(`copy ${prefix}*`, undefined);
      const result = await copyKeys(from, to, layout, {
        hashes: !opts.pipeline, // a bitmapist-server holds bitmaps only
        onProgress: (p) => bar.update(p.keys, `${(p.bytes / 1048576).toFixed(1)} MiB`),
      });
      bar.finish(
        `${result.keys} keys, ${(result.bytes / 1048576).toFixed(1)} MiB copied, ${result.skipped} temporary keys skipped; ` +
          `${result.hashes} counter and ledger hashes, ${result.ids} string ids`,
      );
    } finally {
      await from.close();
      await to.close();
    }
  });

/** Bad usage of these commands (commander's own errors too) exits with code 2. */
const usageExit = (err: { exitCode: number }): void => {
  if (err.exitCode !== 0) process.exit(2);
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const usageErrors = async (run: () => Promise<void>): Promise<void> => {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(2);
  }
};

program
  .command('demo-data')
  .description('write a synthetic mybinder.org-style launch archive: <out>/<YYYY-MM-DD>.jsonl.gz, one file a day (seeded, repeatable)')
  .option('--out <dir>', 'folder to write to', './demo')
  .option('--days <n>', 'number of days (files)', '56')
  .option('--end <YYYY-MM-DD>', 'last day, inclusive (default: yesterday, UTC)')
  .option('--lines-per-day <n>', 'average lines a day (weekdays more, weekends fewer)', '2000')
  .option('--seed <n>', 'seed: the same options give byte-identical files', '1')
  .option('--bad-lines <fraction>', 'share of broken lines (truncated JSON, a missing field); 0 for none', '0.001')
  .exitOverride(usageExit)
  .action((opts: DemoFlags) => usageErrors(() => runDemoData(opts)));

program
  .command('import')
  .description('import JSON lines (plain or gzip) as marks and counter increments; re-running skips files already imported and resumes interrupted ones')
  .argument('<files...>', 'files of JSON lines, plain or gzip (told by their first bytes)')
  .option('--to <where>', 'redis://host:port[/db] or an embedded data folder (default: REDIS_URL, else DATA_DIR)')
  .option('--timestamp <field>', 'field of the instant: ISO-8601 text or epoch milliseconds (default: timestamp)')
  .option('--id <field>', 'field of the entity id (required unless the mapping file names it)')
  .option('--numeric-ids', 'the id field holds integers from 0 to 2^32-1, used as they are (default: string ids, mapped to dense ids)')
  .option('--mark <template>', 'event name template, e.g. launch or launch:provider:{provider} (repeatable)', collect)
  .option('--count <name=template>', 'counter increment by 1, e.g. launches={provider} (repeatable)', collect)
  .option('--where <field=value>', 'import only lines whose field equals the value (repeatable; all must match)', collect)
  .option('--mapping <file.json>', 'the same settings as JSON: {timestamp, id, numericIds, marks, counts, where}; flags replace its values')
  .option('--batch <lines>', 'lines per batch (one round trip each)', '10000')
  .option('--force', 'import files again even when the ledger says they were imported')
  .option('--hourly', 'also write hour keys (default: TRACK_HOURLY)')
  .option('--no-hourly', 'do not write hour keys')
  .option('--unique', 'also write the date-free unique keys (default: TRACK_UNIQUE)')
  .option('--no-unique', 'do not write unique keys')
  .option('--prefix <prefix>', 'key prefix (default: KEY_PREFIX)')
  .exitOverride(usageExit)
  .action((files: string[], opts: ImportFlags) =>
    usageErrors(async () => {
      process.exitCode = await runImport(files, opts, openStore);
    }),
  );

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
