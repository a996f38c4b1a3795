// A synthetic launch-event archive in the format of the public mybinder.org events archive:
// one JSON object a line, one file a day. Pure and seeded: the same options give the same lines.
//
// What makes it realistic enough to explore: providers with a strong skew (GitHub ≈ 85%), a
// repository population with Zipf-like popularity (a few repositories launch all the time, most
// now and then), new repositories appearing every day (some of them trending for a while), a
// weekday/weekend rhythm in volume, a daily rhythm within each day, a few failed launches, and
// (optionally) a small share of broken lines: truncated JSON or a missing field.

import { civilFromDays, daysFromCivil } from '../bitmap/period.ts';
import type { ImportSpec } from '../import/spec.ts';

export interface DemoOptions {
  /** Number of days (files). */
  readonly days: number;
  /** Last day, inclusive, YYYY-MM-DD (UTC). */
  readonly end: string;
  /** Average lines a day (weekdays get more, weekends fewer). */
  readonly linesPerDay: number;
  readonly seed: number;
  /** Share of broken lines, 0 to 1. */
  readonly badLines: number;
}

export interface DemoDay {
  /** YYYY-MM-DD */
  readonly date: string;
  /** The day's lines in time order, without newlines. */
  readonly lines: string[];
}

/** The walkthrough's import of a demo archive: `--id spec --mark launch --mark 'launch:provider:{provider}' --count 'launches={provider}'`. */
export const DEMO_IMPORT_SPEC: ImportSpec = {
  timestamp: 'timestamp',
  id: 'spec',
  numericIds: false,
  marks: ['launch', 'launch:provider:{provider}'],
  counts: { launches: '{provider}' },
  where: {},
};

export const DEMO_DEFAULTS = { days: 56, linesPerDay: 2000, seed: 1, badLines: 0.001 } as const;

/** The providers of mybinder.org and their approximate shares of launches. */
export const PROVIDERS: ReadonlyArray<readonly [string, number]> = [
  ['GitHub', 0.85],
  ['GitLab', 0.05],
  ['Gist', 0.035],
  ['Zenodo', 0.025],
  ['Git', 0.02],
  ['Figshare', 0.01],
  ['Dataverse', 0.006],
  ['Hydroshare', 0.004],
];

const ORIGINS: ReadonlyArray<readonly [string, number]> = [
  ['gke.mybinder.org', 0.6],
  ['ovh.mybinder.org', 0.25],
  ['gesis.mybinder.org', 0.15],
];

/** mulberry32: a tiny, fast, seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day number (days since 1970-01-01) of a YYYY-MM-DD date, or null when it is not a real date. */
export function dayOfDate(text: string): number | null {
  const m = DATE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = daysFromCivil(y, mo, d);
  const back = civilFromDays(days);
  return back.year === y && back.month === mo && back.day === d ? days : null;
}

export function dateOfDay(days: number): string {
  const c = civilFromDays(days);
  return `${String(c.year).padStart(4, '0')}-${String(c.month).padStart(2, '0')}-${String(c.day).padStart(2, '0')}`;
}

/** The dates of the archive, oldest first. */
export function demoDates(o: Pick<DemoOptions, 'days' | 'end'>): string[] {
  const end = dayOfDate(o.end);
  if (end === null) throw new Error(`end must be a date YYYY-MM-DD, got ${JSON.stringify(o.end)}`);
  return Array.from({ length: o.days }, (_, i) => dateOfDay(end - o.days + 1 + i));
}

function picker(table: ReadonlyArray<readonly [string, number]>): (u: number) => number {
  const total = table.reduce((s, [, w]) => s + w, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const [, w] of table) cdf.push((acc += w / total));
  return (u) => {
    for (let i = 0; i < cdf.length; i++) if (u < cdf[i]!) return i;
    return cdf.length - 1;
  };
}

// Names for owners and repositories: pronounceable, seeded.
const SYLLABLES = ['ba', 'ko', 'ri', 'da', 'ta', 'mi', 'no', 'sa', 'lu', 've', 'xo', 'pe', 'zen', 'qua', 'jup', 'py', 'geo', 'bio', 'data', 'lab'];
const WORDS = ['notebooks', 'tutorial', 'workshop', 'analysis', 'demo', 'course', 'examples', 'binder', 'paper', 'viz', 'models', 'stats', 'climate', 'genomics', 'ml', 'intro', 'lectures', 'thesis', 'dashboard', 'sandbox'];

interface Repo {
  readonly provider: number;
  /** `"provider": "…", "spec": "…"` already serialised. */
  readonly json: string;
}

/** Diurnal rhythm (UTC hours): quiet at night in the Americas and Europe, busiest in the afternoon. */
const HOUR_WEIGHTS = [3, 2.5, 2, 2, 2, 2.5, 3.5, 5, 6.5, 7.5, 8, 8.5, 9, 9.5, 9.5, 9, 8.5, 8, 7, 6, 5.5, 5, 4.5, 3.5];
const HOUR_CDF = (() => {
  const total = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);
  let acc = 0;
  return HOUR_WEIGHTS.map((w) => (acc += w / total));
})();

/** Volume by weekday (0 = Monday): the week sums to 7, so the average day has `linesPerDay` lines. */
const WEEKDAY_FACTOR = [1.1, 1.12, 1.12, 1.1, 1.06, 0.74, 0.76];

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** The archive, one day at a time (oldest first), each day's lines in an array. */
export function* generateDemo(o: DemoOptions): Generator<DemoDay> {
  let day: DemoDay | undefined;
  const days = streamDemo(o, (date) => (day = { date, lines: [] }), (line) => day!.lines.push(line));
  // streamDemo pauses after each day, so `day` is complete at each step.
  for (const _ of days) yield day!;
}

/**
 * The archive as a stream: `onDay` before each day's lines, then `onLine` for each of them.
 * Yields after each day, so a caller can pause between days. Nothing is retained, so a
 * writer can pack lines into buffers as they come.
 */
export function* streamDemo(o: DemoOptions, onDay: (date: string) => void, onLine: (line: string) => void): Generator<void> {
  const dates = demoDates(o);
  const random = mulberry32(o.seed);
  const int = (n: number): number => Math.floor(random() * n);
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  const name = (): string => `${SYLLABLES[int(SYLLABLES.length)]}${SYLLABLES[int(SYLLABLES.length)]}${int(10) < 3 ? String(int(100)) : ''}`;
  const repoName = (): string => `${name()}-${WORDS[int(WORDS.length)]}`;
  const ref = (): string => {
    const u = random();
    return u < 0.5 ? 'HEAD' : u < 0.7 ? 'main' : u < 0.9 ? 'master' : hex(40);
  };
  const pickProvider = picker(PROVIDERS);
  const pickOrigin = picker(ORIGINS);
  const originJson = ORIGINS.map(([host]) => JSON.stringify(host));

  const newRepo = (): Repo => {
    const provider = pickProvider(random());
    let spec: string;
    switch (PROVIDERS[provider]![0]) {
      case 'GitHub':
        spec = `${name()}/${repoName()}/${ref()}`;
        break;
      case 'GitLab':
        spec = `${name()}%2F${repoName()}/${ref()}`;
        break;
      case 'Gist':
        spec = `${name()}/${hex(32)}/${int(2) ? 'HEAD' : 'master'}`;
        break;
      case 'Zenodo':
        spec = `10.5281/zenodo.${1_000_000 + int(9_000_000)}`;
        break;
      case 'Git':
        spec = `https%3A%2F%2Fgit.${name()}.org%2F${repoName()}.git/${ref()}`;
        break;
      case 'Figshare':
        spec = `10.6084/m9.figshare.${100_000 + int(900_000)}.v${1 + int(4)}`;
        break;
      case 'Dataverse':
        spec = `10.7910/DVN/${Array.from({ length: 6 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[int(36)]).join('')}`;
        break;
      default:
        spec = hex(32);
    }
    return { provider, json: `"provider": ${JSON.stringify(PROVIDERS[provider]![0])}, "spec": ${JSON.stringify(spec)}` };
  };

  // The established population, most popular first; new repositories are appended as they appear.
  const repos: Repo[] = [];
  const initial = Math.max(100, Math.round(o.linesPerDay * 1.5));
  for (let i = 0; i < initial; i++) repos.push(newRepo());
  const established = (): Repo => {
    // Zipf with exponent 1 over ranks 1..N: rank = N^u (continuous inverse CDF).
    const n = repos.length;
    const rank = Math.floor(Math.exp(random() * Math.log(n + 1))) - 1;
    return repos[Math.min(n - 1, Math.max(0, rank))]!;
  };
  const trending = (): Repo => {
    // Recently added repositories, the newest the most launched.
    const window = Math.min(repos.length, Math.max(20, o.linesPerDay));
    const back = Math.floor(Math.exp(random() * Math.log(window + 1))) - 1;
    return repos[repos.length - 1 - Math.min(window - 1, back)]!;
  };

  const firstDay = dayOfDate(dates[0]!)!;
  for (let d = 0; d < dates.length; d++) {
    const date = dates[d]!;
    const weekday = (((firstDay + d + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday (3)
    const noise = 0.95 + random() * 0.1;
    const count = Math.max(0, Math.round(o.linesPerDay * WEEKDAY_FACTOR[weekday]! * noise));
    // Instants (ms into the day) with the daily rhythm, then in time order.
    const times = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const u = random();
      let h = 0;
      while (h < 23 && u >= HOUR_CDF[h]!) h++;
      times[i] = h * 3_600_000 + Math.floor(random() * 3_600_000);
    }
    times.sort();
    const prefix = `${date}T`;
    onDay(date);
    for (let i = 0; i < count; i++) {
      const t = times[i]!;
      const ms = t % 1000;
      const s = Math.floor(t / 1000) % 60;
      const m = Math.floor(t / 60_000) % 60;
      const h = Math.floor(t / 3_600_000);
      const stamp = `${prefix}${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[ms]}Z`;
      const u = random();
      let repo: Repo;
      if (u < 0.04) repos.push((repo = newRepo()));
      else if (u < 0.14) repo = trending();
      else repo = established();
      const status = random() < 0.03 ? 'failure' : 'success';
      const origin = originJson[pickOrigin(random())]!;
      let line = `{"timestamp": "${stamp}", "schema": "binderhub.jupyter.org/launch", "version": 3, ${repo.json}, "status": "${status}", "origin": ${origin}}`;
      if (o.badLines > 0 && random() < o.badLines) line = breakLine(line, random(), random());
      onLine(line);
    }
    yield;
  }
}

/** A broken line: truncated JSON (40%), or a field missing (spec, timestamp or provider). */
function breakLine(line: string, kind: number, where: number): string {
  if (kind < 0.4) return line.slice(0, 1 + Math.floor(where * (line.length - 2)));
  const field = kind < 0.7 ? 'spec' : kind < 0.85 ? 'timestamp' : 'provider';
  return line.replace(new RegExp(`"${field}": "[^"]*", `), '');
}
