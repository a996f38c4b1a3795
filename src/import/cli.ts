// `bitmapql import FILES...`: the command-line wrapper of importFiles (flags, progress, SIGINT, summary).

import { stat } from 'node:fs/promises';
import type { Engine } from '../bitmap/engines/engine.ts';
import { bitmapistLayout } from '../bitmap/keys.ts';
import type { KeyLayout } from '../bitmap/keys.ts';
import { TimeZone } from '../bitmap/period.ts';
import { loadConfig } from '../config.ts';
import { formatBytes, progress } from '../progress.ts';
import { ImportFailed, importFiles } from './importer.ts';
import { UsageError } from '../usage-error.ts';
import { readMappingFile, resolveSpec } from './spec.ts';
import type { SpecFlags } from './spec.ts';
import { formatSummary } from './summary.ts';

export interface ImportFlags extends SpecFlags {
  to?: string;
  mapping?: string;
  batch?: string;
  force?: boolean;
  hourly?: boolean;
  minutely?: boolean;
  unique?: boolean;
  prefix?: string;
}

const PREFIX = /^[^\s*?[\]\\]*$/;

/** Exit code of an import in which a template wrote nothing from a file. */
export const NOTHING_WRITTEN = 3;

/** Opens storage: a redis:// URL or an embedded data folder. */
export type OpenStore = (where: string, mode: 'lua' | 'pipeline', layout: KeyLayout) => Promise<Engine>;

/**
 * Runs the import; resolves to the process exit code: 0 done, 1 failed, 3 a template wrote nothing
 * from a file (not recorded: the summary says why), 130 interrupted.
 */
export async function runImport(files: string[], flags: ImportFlags, openStore: OpenStore): Promise<number> {
  const config = loadConfig();
  const spec = resolveSpec(flags, flags.mapping ? readMappingFile(flags.mapping) : {});
  const batch = flags.batch === undefined ? 10_000 : Number(flags.batch);
  if (!/^\d+$/.test(flags.batch ?? '1') || !Number.isSafeInteger(batch) || batch < 1) {
    throw new UsageError(`--batch must be a whole number of lines ≥ 1, got ${JSON.stringify(flags.batch)}`);
  }
  const prefix = flags.prefix ?? config.keyPrefix;
  if (!PREFIX.test(prefix)) throw new UsageError(`--prefix ${JSON.stringify(prefix)}: no whitespace or glob characters`);
  if (files.length === 0) throw new UsageError('no files to import');
  let bytesTotal = 0;
  for (const f of files) {
    const s = await stat(f).catch(() => null);
    if (!s?.isFile()) throw new UsageError(`${f}: no such file`);
    bytesTotal += s.size;
  }
  const cluster = config.redisCluster?.length ? `redis-cluster://${config.redisCluster.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',')}` : undefined;
  const where = flags.to ?? cluster ?? config.redisUrl ?? config.dataDir;
  const layout = bitmapistLayout(prefix);
  const tz = new TimeZone(config.timeZone);

  const engine = await openStore(where, 'lua', layout);
  const controller = new AbortController();
  // Progress over the bytes of the files (compressed bytes of gzip files), which gives a fair ETA.
  const bar = progress('import', bytesTotal, process.stderr, { format: formatBytes });
  const started = Date.now();
  let stopping = false;
  const onSigint = (): void => {
    if (stopping) process.exit(130); // a second Ctrl-C: do not wait for the batch in flight
    stopping = true;
    bar.note('interrupted: stopping after the batch being written (run the same command again to resume)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const summary = await importFiles(engine, layout, tz, files, spec, {
      batch,
      force: flags.force === true,
      hourly: flags.hourly ?? config.trackHourly,
      minutely: flags.minutely ?? config.trackMinutely,
      unique: flags.unique ?? config.trackUnique,
      signal: controller.signal,
      onFile: (e) => {
        if (e.status !== 'imported') bar.note(e.message); // only what differs from a plain import
      },
      onProgress: (p) => {
        const secs = (Date.now() - started) / 1000;
        const rate = secs > 0 ? Math.round(p.linesRead / secs) : 0;
        bar.update(p.bytesDone, `${p.linesRead.toLocaleString('en-US')} lines, ${rate.toLocaleString('en-US')} lines/s`);
      },
    });
    bar.finish(`${summary.linesRead.toLocaleString('en-US')} lines${summary.interrupted ? ' (interrupted)' : ''}`);
    process.stdout.write(`${formatSummary(summary)}\n`);
    if (summary.interrupted) return 130;
    return summary.files.some((f) => f.problems.length > 0) ? NOTHING_WRITTEN : 0;
  } catch (e) {
    if (e instanceof ImportFailed) {
      bar.note(`import failed: ${e.message}`);
      process.stdout.write(`${formatSummary(e.summary)}\n`);
      return 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    await engine.close();
  }
}
