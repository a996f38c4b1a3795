// The dashboard's test data: mybinder-like launch events, written into an embedded data folder,
// and the numbers the page must show, computed independently from the events with plain Sets.
//
// seedDemoData() is the one place that writes the data, through the real commands: demo-data
// writes <out>/<YYYY-MM-DD>.jsonl.gz, import marks them into the folder, and the events are read
// back from those files.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openEngine } from '../../src/bitmap/engines/open.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import { SETTINGS, loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { hashKey } from '../../src/auth.ts';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/bitmapql.js');

/** One line of demo data (mybinder.org's launch events). */
export interface LaunchEvent {
  readonly timestamp: string;
  readonly schema: string;
  readonly version: number;
  /** Missing on a few broken lines: those still mark `launch` (an import writes the templates a line can fill). */
  readonly provider?: string;
  readonly spec: string;
  readonly status: string;
  readonly origin: string;
}

export interface DemoOptions {
  readonly days: number;
  /** Last day, YYYY-MM-DD (UTC). */
  readonly end: string;
  readonly linesPerDay: number;
  readonly seed: number;
}

export const DEMO: DemoOptions = { days: 42, end: '2026-10-31', linesPerDay: 300, seed: 7 };

/** What the import marks and counts (the same arguments the CLI path passes). */
export const IMPORT_ARGS = ['--id', 'spec', '--mark', 'launch', '--mark', 'launch:provider:{provider}', '--count', 'launches={provider}'];

// ---- days and weeks, by plain arithmetic (UTC) --------------------------------------------------

const DAY_MS = 86_400_000;
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const msOf = (day: string): number => Date.parse(`${day}T00:00:00Z`);
export const addDays = (day: string, n: number): string => dayOf(msOf(day) + n * DAY_MS);
/** Monday of the ISO week holding the day. */
export const mondayOf = (day: string): string => addDays(day, -((new Date(msOf(day)).getUTCDay() + 6) % 7));
/** 2026-W44 */
export function isoWeekLabel(day: string): string {
  const thursday = addDays(mondayOf(day), 3);
  const year = Number(thursday.slice(0, 4));
  const week = Math.floor((msOf(thursday) - msOf(`${year}-01-01`)) / DAY_MS / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

// ---- the events -----------------------------------------------------------------------------------

/** The events of demo-data's files: every parseable line with a time and a spec (others are skipped, as import does). */
export function readEventFiles(dir: string): LaunchEvent[] {
  const events: LaunchEvent[] = [];
  for (const file of readdirSync(dir).filter((f) => /^\d{4}-\d{2}-\d{2}\.jsonl\.gz$/.test(f)).sort()) {
    for (const line of gunzipSync(readFileSync(join(dir, file))).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      let e: Partial<LaunchEvent>;
      try {
        e = JSON.parse(line) as Partial<LaunchEvent>;
      } catch {
        continue;
      }
      if (typeof e !== 'object' || e === null) continue;
      if (typeof e.timestamp !== 'string' || typeof e.spec !== 'string' || Number.isNaN(Date.parse(e.timestamp))) continue;
      if (!e.spec) continue;
      events.push({ ...(e as LaunchEvent), provider: typeof e.provider === 'string' ? e.provider : undefined });
    }
  }
  return events;
}

// ---- writing them -------------------------------------------------------------------------------

/**
 * Writes the demo data into an embedded data folder (which no gateway may have open) and
 * returns its events, from which the expected numbers are computed.
 */
export function seedDemoData(dataDir: string, o: DemoOptions = DEMO): LaunchEvent[] {
  const out = mkdtempSync(join(tmpdir(), 'bitmapql-demo-'));
  // The gateway here runs on default settings: so does the CLI (no KEY_PREFIX, TIME_ZONE, … from outside).
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production' };
  for (const s of Object.values(SETTINGS)) delete env[s.env];
  delete env.CONFIG_FILE;
  const run = (args: string[]): void => {
    execFileSync(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env });
  };
  try {
    run(['demo-data', '--out', out, '--days', String(o.days), '--end', o.end, '--lines-per-day', String(o.linesPerDay), '--seed', String(o.seed)]);
    const files = readdirSync(out)
      .filter((f) => f.endsWith('.jsonl.gz'))
      .sort()
      .map((f) => join(out, f));
    run(['import', ...files, '--to', dataDir, ...IMPORT_ARGS]);
    return readEventFiles(out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// ---- the expected numbers -----------------------------------------------------------------------

export interface Reference {
  /** Users (distinct specs) per day. */
  daily(day: string): number;
  /** The page's series: `days` days ending with `end`, each with the mean of the `window` days ending there. */
  series(end: string, days: number, window: number): Array<{ label: string; count: number; average: number }>;
  /** bitmapist get_dates_data by ISO week: `rows` weeks ending with the week of `end`, percent cells. */
  weeklyCohort(end: string, rows: number): Array<{ label: string; size: number; cells: Array<number | null> }>;
  /** Launches per provider in the month of `end`, highest first (ties by key). */
  monthCounters(end: string): Array<{ key: string; value: number }>;
  /** Event names (launch and launch:provider:…), sorted. */
  eventNames: string[];
}

export function reference(events: readonly LaunchEvent[]): Reference {
  const byDay = new Map<string, Set<string>>();
  const byWeek = new Map<string, Set<string>>(); // Monday → specs
  const providers = new Set<string>();
  for (const e of events) {
    const day = dayOf(Date.parse(e.timestamp));
    const monday = mondayOf(day);
    if (!byDay.has(day)) byDay.set(day, new Set());
    if (!byWeek.has(monday)) byWeek.set(monday, new Set());
    byDay.get(day)!.add(e.spec);
    byWeek.get(monday)!.add(e.spec);
    if (e.provider !== undefined) providers.add(e.provider);
  }
  const daily = (day: string): number => byDay.get(day)?.size ?? 0;
  return {
    daily,
    eventNames: ['launch', ...[...providers].map((p) => `launch:provider:${p}`)].sort(),
    series(end, days, window) {
      return Array.from({ length: days }, (_, i) => {
        const day = addDays(end, i - days + 1);
        const last = Array.from({ length: window }, (_, k) => daily(addDays(day, -k)));
        return { label: day, count: daily(day), average: last.reduce((a, b) => a + b, 0) / window };
      });
    },
    weeklyCohort(end, rows) {
      const lastMonday = mondayOf(end);
      return Array.from({ length: rows }, (_, r) => {
        const monday = addDays(lastMonday, (r - rows + 1) * 7);
        const row = byWeek.get(monday) ?? new Set<string>();
        const cells = Array.from({ length: rows }, (_, k) => {
          const later = byWeek.get(addDays(monday, k * 7));
          if (row.size === 0 || later === undefined || later.size === 0) return null;
          let both = 0;
          for (const s of row) if (later.has(s)) both++;
          return (both / row.size) * 100;
        });
        return { label: isoWeekLabel(monday), size: row.size, cells };
      });
    },
    monthCounters(end) {
      const month = end.slice(0, 7);
      const totals = new Map<string, number>();
      for (const e of events) {
        if (e.provider !== undefined && dayOf(Date.parse(e.timestamp)).startsWith(month)) totals.set(e.provider, (totals.get(e.provider) ?? 0) + 1);
      }
      return [...totals].map(([key, value]) => ({ key, value })).sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
  };
}

// ---- a gateway on 127.0.0.1 -----------------------------------------------------------------------

export interface RunningGateway {
  readonly url: string;
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/** A gateway over `engine` (shared, not closed here), listening on a free loopback port. */
export async function listen(engine: Engine, config: Config): Promise<RunningGateway> {
  const gateway = await createGateway(config, { engine });
  const server: Server = createServer(gateway.yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
    },
  };
}

export interface Keys {
  /** read scope */
  readonly reader: string;
}

/** Config of a dashboard gateway over `dataDir`: API keys required (a reader key), plus overrides. */
export function dashboardConfig(dataDir: string, keys: Keys | null, overrides: Partial<Config> = {}): Config {
  const apiKeys = keys ? [{ name: 'dashboard', sha256: hashKey(keys.reader), scopes: ['read' as const] }] : [];
  return loadConfig({}, { dataDir, fsync: 'os', apiKeys, anonymousRead: keys === null, ...overrides });
}

export { openEngine };
