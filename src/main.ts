// Command line: `serve` (default) listens on a port; `print-schema` writes schema.graphql.

import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { openEmbeddedEngine } from './bitmap/engines/embedded.ts';
import type { Engine } from './bitmap/engines/engine.ts';
import { RedisEngine } from './bitmap/engines/redis.ts';
import { copyKeys } from './bitmap/copy.ts';
import { bitmapistLayout } from './bitmap/keys.ts';
import { ConfigError, describeSettings, loadConfig } from './config.ts';
import { createGateway } from './gateway.ts';
import { progress } from './progress.ts';
import { printedSchema } from './schema/index.ts';

async function serve(): Promise<void> {
  const config = loadConfig();
  const gateway = await createGateway(config, { log });
  const server = createServer(gateway.yoga);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const engine = config.redisUrl ? `redis (${config.redisMode})` : `embedded (${config.dataDir})`;
  log({ msg: 'listening', url: `http://${config.host}:${config.port}/graphql`, engine, timeZone: config.timeZone });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log({ msg: 'stopping', signal });
    // Stop accepting; let in-flight requests finish (bounded), then flush and close storage.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const forced = setTimeout(() => server.closeAllConnections(), 10_000);
    await closed;
    clearTimeout(forced);
    await gateway.close();
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
  .addHelpText('after', `\nSettings (environment variables):\n${describeSettings()}\n`);

program
  .command('serve', { isDefault: true })
  .description('start the gateway (embedded engine unless REDIS_URL is set)')
  .action(serve);

program
  .command('print-schema')
  .description('print the GraphQL schema (sorted SDL)')
  .option('-o, --out <file>', 'write to a file instead of stdout')
  .action((opts: { out?: string }) => {
    if (opts.out) writeFileSync(opts.out, printedSchema());
    else process.stdout.write(printedSchema());
  });

/** A Redis URL, or a data folder of the embedded engine. */
async function openStore(where: string, mode: 'lua' | 'pipeline', tempPrefix: string): Promise<Engine> {
  if (/^rediss?:\/\//.test(where)) return new RedisEngine({ url: where, mode, tempPrefix }).connect();
  return openEmbeddedEngine({ dir: where, fsync: 'os' });
}

program
  .command('copy')
  .description('copy every bitmapist key between a Redis (or bitmapist-server) URL and an embedded data folder, either way')
  .argument('<from>', 'redis://host:port[/db] or a data folder')
  .argument('<to>', 'redis://host:port[/db] or a data folder')
  .option('--prefix <prefix>', 'key prefix to copy (default: KEY_PREFIX)')
  .option('--pipeline', 'talk to Redis with bitmapist-server commands only (no Lua, no UNLINK)')
  .action(async (fromWhere: string, toWhere: string, opts: { prefix?: string; pipeline?: boolean }) => {
    const prefix = opts.prefix ?? loadConfig().keyPrefix;
    const mode = opts.pipeline ? 'pipeline' : 'lua';
    const { tempPrefix } = bitmapistLayout(prefix);
    const from = await openStore(fromWhere, mode, tempPrefix);
    const to = await openStore(toWhere, mode, tempPrefix);
    try {
      const bar = progress(`copy ${prefix}*`, undefined);
      const result = await copyKeys(from, to, prefix, (p) => bar.update(p.keys, `${(p.bytes / 1048576).toFixed(1)} MiB`));
      bar.finish(`${result.keys} keys, ${(result.bytes / 1048576).toFixed(1)} MiB copied, ${result.skipped} temporary keys skipped`);
    } finally {
      await from.close();
      await to.close();
    }
  });

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
