// Command line: `serve` (default) listens on a port; `print-schema` writes schema.graphql.

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { BitmapError } from './bitmap/errors.ts';
import { FolderLockedError } from './bitmap/engines/embedded/index.ts';
import type { Engine } from './bitmap/engines/engine.ts';
import { openEngineAt } from './bitmap/engines/open.ts';
import type { RedisMode } from './bitmap/engines/redis.ts';
import { copyKeys } from './bitmap/copy.ts';
import { bitmapistLayout } from './bitmap/keys.ts';
import type { KeyLayout } from './bitmap/keys.ts';
import { ConfigError, describeSettings, describeSources, loadConfig, redactUrl } from './config.ts';
import type { Config } from './config.ts';
import { hashKey, newKey } from './auth.ts';
import { progress } from './progress.ts';
import { runDemoData } from './demo/cli.ts';
import type { DemoFlags } from './demo/cli.ts';
import { runImport } from './import/cli.ts';
import type { ImportFlags } from './import/cli.ts';
import { UsageError } from './usage-error.ts';

/**
 * A start-up failure a person can act on (a port in use, a locked data folder, Redis away): one
 * line on stderr saying what to change, exit 1, no stack trace. Bad usage and settings exit 2.
 */
class StartupError extends Error {}

async function serve(opts: { config?: string } = {}): Promise<void> {
  const config = loadConfig(process.env, {}, { file: opts.config });
  // Loaded here, not at the top: the other commands start without building the schema.
  const { createGateway } = await import('./gateway.ts');
  const gateway = await createGateway(config, { log }).catch((e: unknown) => {
    if (config.redisCluster?.length) throw storeFailure(e, config.redisCluster.map((s) => `${s.host}:${s.port}`).join(','), 'REDIS_CLUSTER');
    throw config.redisUrl ? storeFailure(e, config.redisUrl, 'REDIS_URL') : storeFailure(e, config.dataDir, 'DATA_DIR');
  });
  const server = createServer(gateway.yoga);
  try {
    await listen(server, config.port, config.host);
  } catch (e) {
    await gateway.close().catch(() => undefined); // release the data folder's lock, or the Redis connection
    throw listenFailure(e, config);
  }
  const engine = config.redisCluster?.length
    ? `redis cluster (2^${config.shardBits} ids a shard)`
    : config.redisUrl
      ? `redis (${config.redisMode})`
      : `embedded (${config.dataDir})`;
  // The port actually bound (PORT=0 picks a free one); an IPv6 host goes in brackets.
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${(server.address() as AddressInfo).port}`;
  log({
    msg: 'listening',
    url: `${base}/graphql`,
    ...(config.dashboard ? { dashboard: `${base}/` } : {}),
    engine,
    timeZone: config.timeZone,
  });
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
    gateway.services.live.close(); // every subscription's stream completes now: it would hold its connection for the whole grace time
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

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function listenFailure(e: unknown, config: Config): Error {
  const { port, host } = config;
  switch ((e as NodeJS.ErrnoException)?.code) {
    case 'EADDRINUSE':
      return new StartupError(`port ${port} on ${host} is already in use (PORT): stop the process listening there, or set PORT to a free port`);
    case 'EACCES':
      return new StartupError(`not allowed to listen on port ${port} (PORT): ports below 1024 need privileges; set PORT to 1024 or above`);
    case 'EADDRNOTAVAIL':
      return new StartupError(`cannot listen on ${host} (HOST): not an address of this machine; set HOST to one of its addresses, 127.0.0.1 or 0.0.0.0`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`cannot listen on ${host} (HOST): no such host name; set HOST to an address such as 127.0.0.1 or 0.0.0.0`);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * Why storage at `where` (a Redis URL or a data folder) did not open, said so a person can act on
 * it; `setting` names where `where` came from. Anything else is returned as it is (a bug: its
 * stack is printed).
 */
function storeFailure(e: unknown, where: string, setting?: 'REDIS_URL' | 'REDIS_CLUSTER' | 'DATA_DIR'): unknown {
  const from = setting ? ` (${setting})` : '';
  if (e instanceof FolderLockedError) {
    const what = processCommand(e.pid);
    return new StartupError(
      `the data folder ${e.dir}${from} is in use by process ${e.pid}${what ? ` (${what})` : ''}: stop it, or ${setting ? `set ${setting} to` : 'use'} another folder` +
        ` (if that process is not a bitmapql, remove ${e.lockFile})`,
    );
  }
  if (/^rediss?:\/\//i.test(where)) {
    const unreachable = e instanceof BitmapError && e.code === 'SERVICE_UNAVAILABLE';
    // A reply at connect time (WRONGPASS, NOAUTH, a bad database number) is a setting to fix too.
    if (unreachable || (e instanceof Error && e.name === 'ReplyError')) {
      // The engine's plain words, and the client's own (ECONNREFUSED, ENOTFOUND, WRONGPASS) when it kept them.
      const plain = (e as Error).message.replace(/^storage is unavailable: /, '').replace(/; retry later$/, '');
      const cause = (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : '';
      const why = hidePassword(cause && cause !== plain ? `${plain} (${cause})` : plain, where).replace(/\.$/, '');
      const hint = unreachable ? `start it, or set ${setting ?? 'the URL'} to where it runs` : `fix ${setting ?? 'the URL'}`;
      return new StartupError(`cannot connect to Redis at ${redactUrl(where)}${from}: ${why}; ${hint}`);
    }
    return e;
  }
  if (setting === 'REDIS_CLUSTER' && e instanceof BitmapError && e.code === 'SERVICE_UNAVAILABLE') {
    const plain = e.message.replace(/^storage is unavailable: /, '').replace(/; retry later$/, '');
    const cause = e.cause instanceof Error && e.cause.message !== plain ? ` (${e.cause.message})` : '';
    return new StartupError(`cannot connect to the Redis Cluster at ${where}${from}: ${plain}${cause}; start it, or set REDIS_CLUSTER to nodes of it`);
  }
  if (typeof (e as NodeJS.ErrnoException)?.syscall === 'string') {
    return new StartupError(`cannot open the data folder ${where}${from}: ${(e as Error).message}`);
  }
  return e;
}

/** `text` without the password of `url`, wherever it appears (redactUrl hides it in the URL itself). */
function hidePassword(text: string, url: string): string {
  let password: string;
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return text;
  }
  return password ? text.split(password).join('***') : text;
}

/** The command line of a running process, shortened, passwords in URLs hidden; '' where it cannot be read (not Linux). */
function processCommand(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // node's own path says little: show the script and its arguments.
    const shown = args.map((a, i) => (i === 0 && /(^|\/)node$/.test(a) ? 'node' : redactUrl(a))).join(' ');
    return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
  } catch {
    return '';
  }
}

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** Bad usage (commander's own errors too: an unknown command or option, a missing argument) exits with code 2. */
function usageExit(err: { exitCode: number }): void {
  if (err.exitCode !== 0) process.exit(2);
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// Subcommands copy the exit handling of the program when they are created, so it is set first.
const program = new Command('bitmapql')
  .description('GraphQL analytics gateway over bitmaps (bitmapist key layout)')
  .version(version)
  .exitOverride(usageExit)
  .addHelpText('after', `\n${describeSources()}\n\nSettings (environment variable, config file key):\n${describeSettings()}\n`);

program
  .command('serve', { isDefault: true })
  .description('start the gateway (embedded engine unless REDIS_URL names a Redis or REDIS_CLUSTER a Redis Cluster)')
  .option('-c, --config <file>', 'JSON config file of settings (default: CONFIG_FILE); environment variables override it')
  .addHelpText('after', `\n${describeSources()}\n\nSettings (environment variable, config file key):\n${describeSettings()}\n`)
  // `bitmapql frobnicate` lands here as the default command: say it is an unknown command, not "too many arguments for 'serve'".
  .allowExcessArguments()
  .action((opts: { config?: string }, cmd: Command) => {
    const [extra] = cmd.args;
    if (extra !== undefined) {
      const commands = program.commands.map((c) => c.name()).join(', ');
      cmd.error(
        program.args[0] === 'serve' ? `error: serve takes no arguments, got '${extra}'` : `error: unknown command '${extra}'; the commands are ${commands} (bitmapql --help)`,
        { code: 'commander.unknownCommand', exitCode: 2 },
      );
    }
    return serve(opts);
  });

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

/** A Redis URL, a Redis Cluster, or a data folder of the embedded engine; why it did not open, said so a person can act on it. */
async function openStore(where: string, mode: RedisMode, layout: KeyLayout): Promise<Engine> {
  try {
    // A cluster is sharded by SHARD_BITS when first written (the default unless set).
    const shardBits = /^redis-cluster:\/\//i.test(where) ? loadConfig().shardBits : undefined;
    return await openEngineAt(where, { mode, keyPrefix: layout.prefix, shardBits });
  } catch (e) {
    throw storeFailure(e, where);
  }
}

program
  .command('copy')
  .description(
    'copy a dataset (bitmapist keys, counters, import ledger, string ids) between a Redis (or bitmapist-server) URL, a Redis Cluster and an embedded data folder, any direction; ' +
      'into a cluster the bitmaps are split into its sharded layout (SHARD_BITS), out of one they are joined back into bitmapist\'s',
  )
  .argument('<from>', 'redis://host:port[/db], redis-cluster://host:port,host:port,… (seed nodes) or a data folder')
  .argument('<to>', 'redis://host:port[/db], redis-cluster://host:port,host:port,… (seed nodes) or a data folder')
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
  .description('import JSON lines (plain or gzip) as marks and counter increments; re-running skips what is imported, resumes interrupted files and imports templates added since')
  .argument('<files...>', 'files of JSON lines, plain or gzip (told by their first bytes)')
  .option('--to <where>', 'redis://host:port[/db], redis-cluster://host:port,… or an embedded data folder (default: REDIS_CLUSTER, else REDIS_URL, else DATA_DIR)')
  .option('--timestamp <field>', 'field of the instant: ISO-8601 text or epoch milliseconds (default: timestamp)')
  .option('--id <field>', 'field of the entity id (required unless the mapping file names it)')
  .option('--numeric-ids', 'the id field holds integers from 0 to 2^32-1, used as they are (default: string ids, mapped to dense ids)')
  .option('--mark <template>', 'event name template, e.g. launch or launch:provider:{provider} (repeatable)', collect)
  .option('--count <name=template>', 'counter increment by 1, e.g. launches={provider} (repeatable)', collect)
  .option('--where <field=value>', 'import only lines whose field equals the value (repeatable; all must match)', collect)
  .option('--map <name=file.json>', 'a value map for {field|name} in templates: a JSON object from value to mapped value (repeatable)', collect)
  .option('--mapping <file.json>', 'the same settings as JSON: {timestamp, id, numericIds, marks, counts, where, maps}; flags replace its values')
  .option('--batch <lines>', 'lines per batch (one round trip each)', '10000')
  .option('--force', 'write the marks of files the ledger says were imported again (counters are never counted twice)')
  .option('--hourly', 'also write hour keys (default: TRACK_HOURLY)')
  .option('--no-hourly', 'do not write hour keys')
  .option('--minutely', 'also write minute keys and per-minute counter hashes (default: TRACK_MINUTELY)')
  .option('--no-minutely', 'do not write minute keys')
  .option('--unique', 'also write the date-free unique keys (default: TRACK_UNIQUE)')
  .option('--no-unique', 'do not write unique keys')
  .option('--prefix <prefix>', 'key prefix (default: KEY_PREFIX)')
  .exitOverride(usageExit)
  .action((files: string[], opts: ImportFlags) =>
    usageErrors(async () => {
      process.exitCode = await runImport(files, opts, openStore);
    }),
  );

// Exit codes: 0 done; 1 a failure (to start: StartupError, one line; anything else: a bug, with its stack); 2 bad usage or settings.
program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof UsageError || e instanceof StartupError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(e instanceof StartupError ? 1 : 2);
  }
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
