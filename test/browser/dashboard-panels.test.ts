// The dashboard's breakdown panel, its cohort of two events and every panel's CSV and PNG export,
// in headless Chromium against imported demo data. Every number is worked out again from the
// imported files with plain Sets: launches per provider per day and their 7-day means (lines and
// the stacked totals), the cohort of one event against another by ISO week in percent and in
// counts; each CSV download is parsed back to those numbers, each PNG is a real image/png.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import type { DashboardData } from '../../src/dashboard/app/main.ts';
import { hashKey } from '../../src/auth.ts';
import { launchChromium } from './chromium.ts';
import { DEMO, addDays, dashboardConfig, dayOf, isoWeekLabel, listen, mondayOf, openEngine, seedDemoData } from './fixture.ts';
import type { LaunchEvent, RunningGateway } from './fixture.ts';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const READER = `bmq_panels_${randomBytes(12).toString('hex')}`;
const PREFIX = 'launch:provider:';
const FROM = addDays(DEMO.end, -27); // four weeks, all over: no partial period
const TO = DEMO.end;
const WINDOW = 7;
const ROWS = 5;
const COHORT_EVENT = 'launch';
const ACTIVITY = 'launch:provider:GitHub';

const WRITER = `bmq_panels_w_${randomBytes(12).toString('hex')}`;

let dir: string;
let engine: Engine;
let gw: RunningGateway;
/** The same data, with a writer key too: today's marks for the partial period. */
let writable: RunningGateway;
let events: LaunchEvent[];
let browser: Browser;
/** Marks this file's tests sent through the API (they stay in the data for the tests after them). */
const apiMarks: Array<{ name: string; userId: number; day: string }> = [];

beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'bitmapql-panels-'));
  events = seedDemoData(dir);
  const config = dashboardConfig(dir, { reader: READER });
  engine = await openEngine(config);
  gw = await listen(engine, config);
  const apiKeys = [
    { name: 'dashboard', sha256: hashKey(READER), scopes: ['read' as const] },
    { name: 'writer', sha256: hashKey(WRITER), scopes: ['read' as const, 'write' as const] },
  ];
  writable = await listen(engine, dashboardConfig(dir, { reader: READER }, { apiKeys }));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await writable?.close();
  await gw?.close();
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- the reference, from the imported files -----------------------------------------------------

const days = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
};

/** Users (distinct specs) of one event name per day and per ISO week (by its Monday). */
function sets(): { byDay: Map<string, Map<string, Set<string>>>; byWeek: Map<string, Map<string, Set<string>>> } {
  const byDay = new Map<string, Map<string, Set<string>>>();
  const byWeek = new Map<string, Map<string, Set<string>>>();
  const add = (m: Map<string, Map<string, Set<string>>>, name: string, key: string, spec: string): void => {
    if (!m.has(name)) m.set(name, new Map());
    const inner = m.get(name)!;
    if (!inner.has(key)) inner.set(key, new Set());
    inner.get(key)!.add(spec);
  };
  for (const e of events) {
    const day = dayOf(Date.parse(e.timestamp));
    const names = ['launch', ...(e.provider === undefined ? [] : [`${PREFIX}${e.provider}`])];
    for (const name of names) {
      add(byDay, name, day, e.spec);
      add(byWeek, name, mondayOf(day), e.spec);
    }
  }
  return { byDay, byWeek };
}

interface RefValue {
  value: string;
  total: number;
  counts: number[];
  averages: number[];
}

/** One series per provider over the range, with the mean of the 7 days ending at each; highest total first, then by name. */
function referenceBreakdown(): { labels: string[]; values: RefValue[]; totals: number[]; totalAverages: number[] } {
  const { byDay } = sets();
  const labels = days(FROM, TO);
  const values: RefValue[] = [];
  for (const [name, perDay] of byDay) {
    if (!name.startsWith(PREFIX)) continue;
    const daily = (d: string): number => perDay.get(d)?.size ?? 0;
    const counts = labels.map(daily);
    const averages = labels.map((d) => Array.from({ length: WINDOW }, (_, k) => daily(addDays(d, -k))).reduce((a, b) => a + b, 0) / WINDOW);
    values.push({ value: name.slice(PREFIX.length), total: counts.reduce((a, b) => a + b, 0), counts, averages });
  }
  values.sort((a, b) => b.total - a.total || (a.value < b.value ? -1 : 1));
  const totals = labels.map((_, i) => values.reduce((a, v) => a + v.counts[i]!, 0));
  const totalAverages = labels.map((_, i) => values.reduce((a, v) => a + v.averages[i]!, 0));
  return { labels, values, totals, totalAverages };
}

/** Rows: users of `cohortEvent` in week p; cell k: those of them with `activity` in week p+k (null: empty cohort, or no activity that week). */
function referenceCohort(cohortEvent: string, activity: string, end: string, rows: number) {
  const { byWeek } = sets();
  const a = byWeek.get(cohortEvent) ?? new Map<string, Set<string>>();
  const b = byWeek.get(activity) ?? new Map<string, Set<string>>();
  const lastMonday = mondayOf(end);
  const table = Array.from({ length: rows }, (_, r) => {
    const monday = addDays(lastMonday, (r - rows + 1) * 7);
    const row = a.get(monday) ?? new Set<string>();
    const counts = Array.from({ length: rows }, (_, k) => {
      const later = b.get(addDays(monday, k * 7));
      if (row.size === 0 || later === undefined || later.size === 0) return null;
      let both = 0;
      for (const s of row) if (later.has(s)) both++;
      return both;
    });
    return { label: isoWeekLabel(monday), size: row.size, counts, percents: counts.map((c) => (c === null ? null : (c / row.size) * 100)) };
  });
  const mean = (cells: Array<number | null>[], k: number): number | null => {
    const col = cells.map((c) => c[k]!).filter((v): v is number => v !== null);
    return col.length ? col.reduce((x, y) => x + y, 0) / col.length : null;
  };
  return {
    rows: table,
    averageCounts: Array.from({ length: rows }, (_, k) => mean(table.map((r) => r.counts), k)),
    averagePercents: Array.from({ length: rows }, (_, k) => mean(table.map((r) => r.percents), k)),
  };
}

// ---- the page -----------------------------------------------------------------------------------

async function open(query: string, viewport = { width: 1280, height: 900 }, base = gw): Promise<{ page: Page; context: BrowserContext; problems: string[] }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, timezoneId: 'UTC', locale: 'en-US', acceptDownloads: true });
  await context.addInitScript((k) => localStorage.setItem('bitmapql.apiKey', k), READER);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${base.url}/${query}`);
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 20_000 });
  return { page, context, problems };
}

const dashboardOf = (page: Page): Promise<DashboardData> => page.evaluate(() => window.dashboard);

/** Clicks a panel's export button and returns the file it downloads. */
async function download(page: Page, panel: string, format: 'csv' | 'png'): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.click(`#${panel} button[data-export="${format}"]`)]);
  const bytes = readFileSync(await dl.path());
  // Kept for a look (git-ignored, as the other test's screenshot).
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, dl.suggestedFilename()), bytes);
  return { name: dl.suggestedFilename(), bytes };
}

/** RFC 4180 rows (quoted fields allowed). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

/** A PNG's signature and its IHDR size. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

const num = (s: string): number | null => (s === '' ? null : Number(s));

function expectClose(got: ReadonlyArray<number | null>, want: ReadonlyArray<number | null>, what: string): void {
  expect(got, what).toHaveLength(want.length);
  want.forEach((w, i) => {
    if (w === null) expect(got[i], `${what}[${i}]`).toBeNull();
    else expect(got[i], `${what}[${i}]`).toBeCloseTo(w, 9);
  });
}

const BASE = { event: 'launch', from: FROM, to: TO, granularity: 'DAY', cohort: 'WEEK', rows: String(ROWS), counter: 'launches', counterPeriod: 'MONTH' };
const query = (extra: Record<string, string> = {}): string => `?${new URLSearchParams({ ...BASE, ...extra }).toString()}`;

describe('the breakdown panel', () => {
  it('draws one series per value under the prefix with its 7-day mean, as lines and stacked; its CSV and PNG hold what is drawn', async () => {
    const ref = referenceBreakdown();
    expect(ref.values.length).toBeGreaterThanOrEqual(5); // the demo's providers
    expect(ref.totals.reduce((a, b) => a + b, 0)).toBeGreaterThan(1000);
    // No prefix in the link: the one most event names share.
    const { page, context, problems } = await open(query());
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      const d = await dashboardOf(page);
      expect(d.state!.prefix).toBe(PREFIX);
      expect(new URL(page.url()).searchParams.get('prefix')).toBe(PREFIX);
      const b = d.breakdown!;
      expect(b.labels).toEqual(ref.labels);
      expect(b.window).toBe(WINDOW);
      expect(b.values.map((v) => v.value)).toEqual(ref.values.map((v) => v.value));
      b.values.forEach((v, i) => {
        expect(v.counts, v.value).toEqual(ref.values[i]!.counts);
        expect(v.total, v.value).toBe(ref.values[i]!.total);
        expectClose(v.averages, ref.values[i]!.averages, `${v.value} mean`);
      });
      // Lines: each value's counts, then each value's mean, as put on the chart.
      expect(b.drawn.stacked).toBe(false);
      expect(b.drawn.series.map((s) => s.label)).toEqual([...ref.values.map((v) => v.value), ...ref.values.map((v) => `${v.value} mean`)]);
      ref.values.forEach((v, i) => {
        expect(b.drawn.series[i]!.values).toEqual(v.counts);
        expectClose(b.drawn.series[ref.values.length + i]!.values, v.averages, `${v.value} mean drawn`);
      });
      expect(await page.$$eval('#breakdown ul.legend li', (lis) => lis.map((li) => [(li as HTMLElement).dataset.value, Number((li as HTMLElement).dataset.total)]))).toEqual(
        ref.values.map((v) => [v.value, v.total]),
      );
      expect(await page.getAttribute('#breakdown .chart', 'data-view')).toBe('lines');

      // CSV: period, then each value's count and mean.
      const csv = await download(page, 'breakdown', 'csv');
      expect(csv.name).toBe(`breakdown-launch-provider-${FROM}-${TO}-day-lines.csv`);
      const rows = parseCsv(csv.bytes.toString('utf8'));
      expect(rows[0]).toEqual(['period', ...ref.values.flatMap((v) => [v.value, `${v.value} mean ${WINDOW}`]), 'partial']);
      expect(rows.slice(1).map((r) => r[0])).toEqual(ref.labels);
      expect(rows.slice(1).map((r) => r.at(-1))).toEqual(ref.labels.map(() => '')); // every day is over
      ref.values.forEach((v, i) => {
        expect(rows.slice(1).map((r) => Number(r[1 + 2 * i])), v.value).toEqual(v.counts);
        expectClose(rows.slice(1).map((r) => num(r[2 + 2 * i]!)), v.averages, `${v.value} mean in the CSV`);
      });
      const png = await download(page, 'breakdown', 'png');
      expect(png.name).toBe(`breakdown-launch-provider-${FROM}-${TO}-day-lines.png`);
      const size = pngSize(png.bytes);
      const canvas = await page.evaluate(() => document.querySelector<HTMLCanvasElement>('#breakdown .chart canvas')!.width);
      expect(size.width).toBeGreaterThan(canvas); // the chart, with a margin, under its title
      expect(size.height).toBeGreaterThan(300);

      // Stacked: the running sums, bottom (highest total) first, the top one the total; the means stacked alike.
      // The same numbers drawn again: nothing is asked of the gateway.
      let posts = 0;
      page.on('request', (r) => {
        if (r.method() === 'POST') posts++;
      });
      await page.click('#f-stacked-on + span');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.breakdown?.drawn.stacked === true, undefined, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('stacked')).toBe('on');
      expect((await dashboardOf(page)).state!.stacked).toBe(true);
      expect(posts).toBe(0);
      const s = (await dashboardOf(page)).breakdown!;
      const n = ref.values.length;
      // Painted top first: series 0 is the whole stack.
      expect(s.drawn.series[0]!.values).toEqual(ref.totals);
      expect(s.totals).toEqual(ref.totals);
      for (let i = 0; i < n; i++) {
        const sum = ref.labels.map((_, k) => ref.values.slice(0, i + 1).reduce((a, v) => a + v.counts[k]!, 0));
        expect(s.drawn.series[n - 1 - i]!.values, `stack up to ${ref.values[i]!.value}`).toEqual(sum);
        const means = ref.labels.map((_, k) => ref.values.slice(0, i + 1).reduce((a, v) => a + v.averages[k]!, 0));
        expectClose(s.drawn.series[n + i]!.values, means, `stacked mean up to ${ref.values[i]!.value}`);
      }
      expectClose(s.drawn.series[2 * n - 1]!.values, ref.totalAverages, 'the mean of the total');
      expect(await page.getAttribute('#breakdown .chart', 'data-view')).toBe('stacked');
      const stackedCsv = parseCsv((await download(page, 'breakdown', 'csv')).bytes.toString('utf8'));
      expect(stackedCsv[0]!.slice(-3)).toEqual(['total', `total mean ${WINDOW}`, 'partial']);
      expect(stackedCsv.slice(1).map((r) => Number(r.at(-3)))).toEqual(ref.totals);
      expectClose(stackedCsv.slice(1).map((r) => num(r.at(-2)!)), ref.totalAverages, 'total mean in the CSV');
      pngSize((await download(page, 'breakdown', 'png')).bytes);

      // The chart has the values' colours on it: the bottom area (GitHub's blue tint) and its mean's blue.
      const pixels = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('#breakdown .chart canvas')!;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let blue = 0;
        const colours = new Set<number>();
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3]! > 0) colours.add((px[i]! << 16) | (px[i + 1]! << 8) | px[i + 2]!);
          if (Math.abs(px[i]! - 0x25) + Math.abs(px[i + 1]! - 0x63) + Math.abs(px[i + 2]! - 0xeb) < 60) blue++;
        }
        return { blue, colours: colours.size };
      });
      expect(pixels.blue).toBeGreaterThan(200);
      expect(pixels.colours).toBeGreaterThan(12);
      expect(problems).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-panels.png'), fullPage: true });

      // A link with stacked=on opens stacked; Lines goes back.
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.breakdown?.drawn.stacked === true, undefined, { timeout: 15_000 });
      expect(await page.isChecked('#f-stacked-on')).toBe(true);
      await page.click('#f-stacked-off + span');
      await page.waitForFunction(() => window.dashboard.breakdown?.drawn.stacked === false, undefined, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('stacked')).toBeNull();
      expect((await dashboardOf(page)).breakdown!.drawn.series[0]!.values).toEqual(ref.values[0]!.counts);
    } finally {
      await context.close();
    }
  });

  it('by week: one point per ISO week of the range, each value’s count of distinct users that week and the mean of 4 weeks', async () => {
    const { byWeek } = sets();
    const mondays: string[] = [];
    for (let m = mondayOf(FROM); m <= TO; m = addDays(m, 7)) mondays.push(m);
    const want = [...byWeek]
      .filter(([name]) => name.startsWith(PREFIX))
      .map(([name, perWeek]) => {
        const weekly = (monday: string): number => perWeek.get(monday)?.size ?? 0;
        const counts = mondays.map(weekly);
        const averages = mondays.map((m) => Array.from({ length: 4 }, (_, k) => weekly(addDays(m, -7 * k))).reduce((a, b) => a + b, 0) / 4);
        return { value: name.slice(PREFIX.length), total: counts.reduce((a, b) => a + b, 0), counts, averages };
      })
      .sort((a, b) => b.total - a.total || (a.value < b.value ? -1 : 1));
    const { page, context, problems } = await open(query({ granularity: 'WEEK' }));
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      const b = (await dashboardOf(page)).breakdown!;
      expect(b.window).toBe(4);
      expect(b.labels).toEqual(mondays.map(isoWeekLabel));
      expect(b.partial.every((x) => !x)).toBe(true);
      expect(b.values.map((v) => v.value)).toEqual(want.map((v) => v.value));
      b.values.forEach((v, i) => {
        expect(v.counts, v.value).toEqual(want[i]!.counts);
        expectClose(v.averages, want[i]!.averages, `${v.value} 4-week mean`);
      });
      const rows = parseCsv((await download(page, 'breakdown', 'csv')).bytes.toString('utf8'));
      expect(rows[0]![2]).toBe(`${want[0]!.value} mean 4`);
      expect(rows.slice(1).map((r) => r[0])).toEqual(mondays.map(isoWeekLabel));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a range ending today: today is partial, drawn dashed from yesterday, without a mean, and so marked in the CSV', async () => {
    const today = new Date().toISOString().slice(0, 10); // the browser and the gateway both run in UTC
    // Today's launches, through the API: three users from GitHub, one from Zenodo (the writes name the day, so midnight cannot move them).
    const marked = new Map<string, Set<number>>([
      ['GitHub', new Set([9_100_001, 9_100_002, 9_100_003])],
      ['Zenodo', new Set([9_100_002])],
    ]);
    const input = [...marked].flatMap(([provider, ids]) => [...ids].map((id) => `{ name: "${PREFIX}${provider}", userId: ${id}, at: "${today}T09:00:00Z" }`));
    const res = await fetch(`${writable.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITER}` },
      body: JSON.stringify({ query: `mutation { markEvents(input: [${input.join(' ')}]) { marked } }` }),
    });
    expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
    for (const [provider, ids] of marked) for (const id of ids) apiMarks.push({ name: `${PREFIX}${provider}`, userId: id, day: today });
    const { page, context, problems } = await open(query({ from: addDays(today, -6), to: today }), undefined, writable);
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      const b = (await dashboardOf(page)).breakdown!;
      const labels = days(addDays(today, -6), today);
      expect(b.labels).toEqual(labels);
      expect(b.partial).toEqual([false, false, false, false, false, false, true]);
      const { byDay } = sets();
      const values = b.values.map((v) => v.value);
      expect([...values].sort()).toEqual(referenceBreakdown().values.map((v) => v.value).sort()); // every event under the prefix, with data in the range or not
      expect(values.slice(0, 2)).toEqual(['GitHub', 'Zenodo']); // the highest totals: today's marks
      for (const v of b.values) {
        const perDay = byDay.get(`${PREFIX}${v.value}`)!;
        const daily = (d: string): number => (perDay.get(d)?.size ?? 0) + (d === today ? (marked.get(v.value)?.size ?? 0) : 0);
        expect(v.counts, v.value).toEqual(labels.map(daily));
        expect(v.averages.at(-1), v.value).toBeNull(); // left out
        expectClose(v.averages.slice(0, -1), labels.slice(0, -1).map((d) => Array.from({ length: WINDOW }, (_, k) => daily(addDays(d, -k))).reduce((x, y) => x + y, 0) / WINDOW), `${v.value} mean`);
      }
      expect(b.totalAverages.at(-1)).toBeNull();
      // Each line is two series: complete days solid (today null), then today dashed from yesterday's point.
      const first = b.values[0]!;
      expect(first.counts.at(-1)).toBe(3);
      const solid = b.drawn.series.find((s) => s.label === first.value)!;
      const dashed = b.drawn.series.find((s) => s.label === `${first.value} so far`)!;
      expect(solid.values).toEqual([...first.counts.slice(0, -1), null]);
      expect(dashed.values).toEqual([null, null, null, null, null, first.counts.at(-2), 3]);
      expect(b.totals.at(-1)).toBe(4);
      expect(await page.getAttribute('#breakdown .chart', 'data-partial')).toBe(today);
      expect(await page.textContent('#breakdown .partial-note')).toContain(`${today} is not over`);
      const rows = parseCsv((await download(page, 'breakdown', 'csv')).bytes.toString('utf8'));
      expect(rows.slice(1).map((r) => r.at(-1))).toEqual(['', '', '', '', '', '', 'yes']);
      expect(rows.at(-1)!.slice(1, -1).filter((_, i) => i % 2 === 1)).toEqual(b.values.map(() => '')); // no means today
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a prefix no event has: a note; a prefix with a pattern character: BAD_EVENT_NAME in the panel, the others drawn, the gateway still up', async () => {
    const none = await open(query({ prefix: 'nothing:here:' }));
    try {
      expect(await none.page.getAttribute('body', 'data-state')).toBe('ready');
      expect(await none.page.textContent('#breakdown .note')).toBe('No events under nothing:here:.');
      expect((await dashboardOf(none.page)).breakdown!.values).toEqual([]);
    } finally {
      await none.context.close();
    }
    const { page, context } = await open(query({ prefix: 'launch:*' }));
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('error');
      const d = await dashboardOf(page);
      expect(d.errors.map((e) => [e.panel, e.errors[0]?.extensions?.code])).toEqual([['breakdown', 'BAD_EVENT_NAME']]);
      expect(await page.textContent('#breakdown .error')).toContain('BAD_EVENT_NAME');
      expect(await page.getAttribute('#series', 'data-state')).toBe('ready');
      expect(await page.getAttribute('#cohort', 'data-state')).toBe('ready');
    } finally {
      await context.close();
    }
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` },
      body: JSON.stringify({ query: '{ countBreakdown(prefix: "launch:provider:", period: { at: { granularity: MONTH, date: "2026-10-01" } }) { value } }' }),
    });
    expect(((await res.json()) as { data: { countBreakdown: unknown[] } }).data.countBreakdown.length).toBe(referenceBreakdown().values.length);
  });
});

describe('the cohort of two events', () => {
  it('rows of the cohort event, cells of the activity event later, in percent and in counts; CSV and PNG of each', async () => {
    const ref = referenceCohort(COHORT_EVENT, ACTIVITY, TO, ROWS);
    const { page, context, problems } = await open(query({ cohortEvent: COHORT_EVENT, activity: ACTIVITY }));
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      let d = await dashboardOf(page);
      expect(d.cohort!.event).toBe(COHORT_EVENT);
      expect(d.cohort!.activity).toBe(ACTIVITY);
      expect(d.cohort!.percent).toBe(true);
      expect(await page.inputValue('#f-cohortEvent')).toBe(COHORT_EVENT);
      expect(await page.inputValue('#f-activity')).toBe(ACTIVITY);
      expect(await page.textContent('#cohort h2')).toBe(`Retention · ${COHORT_EVENT} → ${ACTIVITY} by week`);
      expect(await page.textContent('#cohort .stats')).toBe(`${ROWS} cohorts of ${COHORT_EVENT} · cells: % of the cohort with ${ACTIVITY} later`);
      expect(d.cohort!.rows.map((r) => r.label)).toEqual(ref.rows.map((r) => r.label));
      expect(d.cohort!.rows.map((r) => r.size)).toEqual(ref.rows.map((r) => r.size));
      ref.rows.forEach((r, i) => expectClose(d.cohort!.rows[i]!.cells, r.percents, `${r.label} %`));
      expectClose(d.cohort!.average, ref.averagePercents, 'average %');
      // Not retention: cell 0 is under 100% (some launched from other providers only), and above 0.
      expect(ref.rows[0]!.percents[0]).toBeLessThan(100);
      expect(ref.rows[0]!.percents[0]).toBeGreaterThan(50);
      const shown = await page.$$eval('#cohort tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td.cell')].map((td) => (td as HTMLElement).dataset.value ?? '')));
      ref.rows.forEach((r, i) => expectClose(shown[i]!.map(num), r.percents, `${r.label} % shown`));

      const csv = await download(page, 'cohort', 'csv');
      expect(csv.name).toBe(`cohort-launch-launch-provider-github-week-${TO}-percent.csv`);
      let rows = parseCsv(csv.bytes.toString('utf8'));
      expect(rows[0]).toEqual(['cohort', 'size', ...Array.from({ length: ROWS }, (_, k) => `+${k}`)]);
      expect(rows.slice(1, -1).map((r) => [r[0], Number(r[1])])).toEqual(ref.rows.map((r) => [r.label, r.size]));
      ref.rows.forEach((r, i) => expectClose(rows[i + 1]!.slice(2).map(num), r.percents, `${r.label} % in the CSV`));
      expect(rows.at(-1)!.slice(0, 2)).toEqual(['average', '']);
      expectClose(rows.at(-1)!.slice(2).map(num), ref.averagePercents, 'average % in the CSV');
      const size = pngSize((await download(page, 'cohort', 'png')).bytes);
      expect(size.width).toBeGreaterThan(300);
      expect(size.height).toBeGreaterThan((ROWS + 2) * 26);

      // Counts: the same table as users.
      await page.click('#f-cells-counts + span');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.cohort?.percent === false, undefined, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('cells')).toBe('counts');
      d = await dashboardOf(page);
      ref.rows.forEach((r, i) => expect(d.cohort!.rows[i]!.cells, `${r.label} counts`).toEqual(r.counts));
      expectClose(d.cohort!.average, ref.averageCounts, 'average counts');
      expect(await page.getAttribute('#cohort table', 'data-cells')).toBe('counts');
      expect(await page.textContent('#cohort .stats')).toBe(`${ROWS} cohorts of ${COHORT_EVENT} · cells: users of the cohort with ${ACTIVITY} later`);
      rows = parseCsv((await download(page, 'cohort', 'csv')).bytes.toString('utf8'));
      ref.rows.forEach((r, i) => expect(rows[i + 1]!.slice(2).map(num), `${r.label} counts in the CSV`).toEqual(r.counts));
      expectClose(rows.at(-1)!.slice(2).map(num), ref.averageCounts, 'average counts in the CSV');
      pngSize((await download(page, 'cohort', 'png')).bytes);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('CSV and PNG of the series and counter panels', () => {
  it('hold the numbers drawn', async () => {
    const { page, context, problems } = await open(query());
    try {
      const d = await dashboardOf(page);
      const { byDay } = sets();
      const launch = byDay.get('launch')!;
      const daily = (day: string): number => launch.get(day)?.size ?? 0;
      const labels = days(FROM, TO);
      const rows = parseCsv((await download(page, 'series', 'csv')).bytes.toString('utf8'));
      expect(rows[0]).toEqual(['period', 'count', `mean ${WINDOW}`, 'partial']);
      expect(rows.slice(1).map((r) => r[0])).toEqual(labels);
      expect(rows.slice(1).map((r) => Number(r[1]))).toEqual(labels.map(daily));
      expectClose(
        rows.slice(1).map((r) => num(r[2]!)),
        labels.map((day) => Array.from({ length: WINDOW }, (_, k) => daily(addDays(day, -k))).reduce((a, b) => a + b, 0) / WINDOW),
        'series mean in the CSV',
      );
      expect(rows.slice(1).map((r) => Number(r[1]))).toEqual(d.series!.points.map((p) => p.count));
      pngSize((await download(page, 'series', 'png')).bytes);

      const month = TO.slice(0, 7);
      const totals = new Map<string, number>();
      for (const e of events) if (e.provider !== undefined && dayOf(Date.parse(e.timestamp)).startsWith(month)) totals.set(e.provider, (totals.get(e.provider) ?? 0) + 1);
      const top = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
      const counters = await download(page, 'counters', 'csv');
      expect(counters.name).toBe(`counters-launches-${month}.csv`);
      expect(parseCsv(counters.bytes.toString('utf8'))).toEqual([['key', 'value'], ...top.map(([k, v]) => [k, String(v)])]);
      const size = pngSize((await download(page, 'counters', 'png')).bytes);
      expect(size.height).toBeGreaterThan(top.length * 26);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('the panel controls', () => {
  it('the cohort pickers and the prefix field belong to the form: a choice redraws its panel and goes in the URL; at phone width every control fits', async () => {
    const { page, context, problems } = await open(query(), { width: 390, height: 844 });
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      await page.selectOption('#f-activity', ACTIVITY);
      await page.waitForFunction((a) => document.body.dataset.state === 'ready' && window.dashboard.cohort?.activity === a, ACTIVITY, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('activity')).toBe(ACTIVITY);
      expect(new URL(page.url()).searchParams.get('cohortEvent')).toBeNull(); // still "the same as Event"
      const ref = referenceCohort('launch', ACTIVITY, TO, ROWS);
      const d = await dashboardOf(page);
      ref.rows.forEach((r, i) => expectClose(d.cohort!.rows[i]!.cells, r.percents, `${r.label} %`));

      // A shorter prefix: the values are what follows it.
      await page.fill('#f-prefix', 'launch:');
      await page.press('#f-prefix', 'Enter');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.breakdown?.prefix === 'launch:', undefined, { timeout: 15_000 });
      const b = (await dashboardOf(page)).breakdown!;
      expect(b.values.map((v) => v.value)).toEqual(referenceBreakdown().values.map((v) => `provider:${v.value}`));
      expect(new URL(page.url()).searchParams.get('prefix')).toBe('launch:');

      const fit = await page.evaluate(() => {
        const right = (s: string): number => Math.max(...[...document.querySelectorAll(s)].map((e) => e.getBoundingClientRect().right));
        return {
          inner: window.innerWidth,
          page: document.documentElement.scrollWidth,
          tools: right('.panel .tools'),
          exports: right('.exports button'),
          inputs: right('.tools input:not([type="radio"]), .tools select'),
          chart: right('#breakdown .chart canvas'),
        };
      });
      for (const k of ['page', 'tools', 'exports', 'inputs', 'chart'] as const) expect(fit[k], k).toBeLessThanOrEqual(fit.inner);
      // Each counter key on its bar's row (the API key field's phone layout once moved them below every bar).
      const rows = await page.$$eval('#counters li', (lis) =>
        lis.map((li) => [li.querySelector('.key')!, li.querySelector('.value')!].map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))),
      );
      expect(rows.length).toBeGreaterThan(3);
      for (const [key, value] of rows) expect(Math.abs(key! - value!)).toBeLessThanOrEqual(2);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-panels-phone.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

// Last in the file: it adds an event under the prefix, which the tests above do not expect.
describe('the breakdown panel with Live on', () => {
  it('draws marks sent through the API, for a known value and for a new event under the prefix, without a reload; today stays partial', async () => {
    const today = new Date().toISOString().slice(0, 10); // the browser and the gateway both run in UTC
    const from = addDays(today, -6);
    const fresh = `Live${randomBytes(3).toString('hex')}`; // a provider no event has yet
    const { page, context, problems } = await open(query({ from, to: today, live: 'on' }), undefined, writable);
    try {
      await page.waitForFunction(() => (window.dashboard.live?.updates ?? 0) >= 4, undefined, { timeout: 15_000 }); // series, breakdown, cohort, counters
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
      expect(await page.$('#breakdown .not-live')).toBeNull();

      /** The reference: distinct users of each name under the prefix per day, from the files and the marks sent so far. */
      const { byDay } = sets();
      const labels = days(from, today);
      const expected = (): { values: RefValue[]; totals: number[] } => {
        const users = new Map<string, Map<string, Set<string>>>();
        for (const [name, perDay] of byDay) if (name.startsWith(PREFIX)) users.set(name, new Map([...perDay].map(([d, set]) => [d, new Set(set)])));
        for (const m of apiMarks) {
          if (!users.has(m.name)) users.set(m.name, new Map());
          const perDay = users.get(m.name)!;
          if (!perDay.has(m.day)) perDay.set(m.day, new Set());
          perDay.get(m.day)!.add(`api:${m.userId}`);
        }
        const values = [...users].map(([name, perDay]) => {
          const daily = (d: string): number => perDay.get(d)?.size ?? 0;
          const counts = labels.map(daily);
          const averages = labels.map((d) => Array.from({ length: WINDOW }, (_, k) => daily(addDays(d, -k))).reduce((a, b) => a + b, 0) / WINDOW);
          return { value: name.slice(PREFIX.length), total: counts.reduce((a, b) => a + b, 0), counts, averages };
        });
        values.sort((a, b) => b.total - a.total || (a.value < b.value ? -1 : 1));
        return { values, totals: labels.map((_, i) => values.reduce((a, v) => a + v.counts[i]!, 0)) };
      };
      const check = (b: DashboardData['breakdown'], want: ReturnType<typeof expected>): void => {
        expect(b!.labels).toEqual(labels);
        expect(b!.partial).toEqual(labels.map((d) => d === today));
        expect(b!.values.map((v) => v.value)).toEqual(want.values.map((v) => v.value));
        b!.values.forEach((v, i) => {
          expect(v.counts, v.value).toEqual(want.values[i]!.counts);
          expect(v.total, v.value).toBe(want.values[i]!.total);
          expect(v.averages.at(-1), v.value).toBeNull(); // today: no mean
          expectClose(v.averages.slice(0, -1), want.values[i]!.averages.slice(0, -1), `${v.value} mean`);
        });
        expect(b!.totals).toEqual(want.totals);
      };
      const before = expected();
      expect(before.values.some((v) => v.value === fresh)).toBe(false);
      check((await dashboardOf(page)).breakdown, before);

      // Marks through the API, as any producer sends them: GitHub (one user twice) and the new provider.
      const sent: Array<{ name: string; userId: number }> = [
        { name: `${PREFIX}GitHub`, userId: 9_300_001 },
        { name: `${PREFIX}GitHub`, userId: 9_300_002 },
        { name: `${PREFIX}GitHub`, userId: 9_300_001 },
        { name: `${PREFIX}${fresh}`, userId: 9_300_001 },
        { name: `${PREFIX}${fresh}`, userId: 9_300_003 },
        { name: `${PREFIX}${fresh}`, userId: 9_300_004 },
      ];
      for (const m of sent) {
        const res = await fetch(`${writable.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITER}` },
          body: JSON.stringify({ query: `mutation { markEvent(input: { name: "${m.name}", userId: ${m.userId}, at: "${today}T10:00:00Z" }) { marked } }` }),
        });
        expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
        apiMarks.push({ ...m, day: today });
      }
      const after = expected();
      const github = after.values.find((v) => v.value === 'GitHub')!;
      expect(github.counts.at(-1)! - before.values.find((v) => v.value === 'GitHub')!.counts.at(-1)!).toBe(2);
      expect(after.values.find((v) => v.value === fresh)!.counts.at(-1)).toBe(3);

      await page.waitForFunction(
        ([name, n, gh]) => {
          const b = window.dashboard.breakdown;
          return b?.values.find((v) => v.value === name)?.counts.at(-1) === n && b.values.find((v) => v.value === 'GitHub')?.counts.at(-1) === gh;
        },
        [fresh, 3, github.counts.at(-1)!] as const,
        { timeout: 15_000 },
      );
      const d = await dashboardOf(page);
      check(d.breakdown, after);
      // What the page shows: the legend names the new value with its total; today is drawn dashed from yesterday.
      expect(await page.$$eval('#breakdown ul.legend li', (lis) => lis.map((li) => [(li as HTMLElement).dataset.value, Number((li as HTMLElement).dataset.total)]))).toEqual(
        after.values.map((v) => [v.value, v.total]),
      );
      const i = d.breakdown!.values.findIndex((v) => v.value === fresh);
      const dashed = d.breakdown!.drawn.series.find((s) => s.label === `${fresh} so far`)!;
      expect(dashed.values).toEqual([null, null, null, null, null, after.values[i]!.counts.at(-2), 3]);
      expect(await page.getAttribute('#breakdown .chart', 'data-partial')).toBe(today);
      expect(await page.textContent('#breakdown .stats')).toContain(`total ${after.totals.reduce((a, b) => a + b, 0).toLocaleString('en-US')}`);
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      expect(d.live!.errors).toEqual([]);

      // Stacked under Live: the switch redraws, and the next answer is drawn stacked too.
      await page.click('#f-stacked-on + span');
      await page.waitForFunction(() => window.dashboard.breakdown?.drawn.stacked === true, undefined, { timeout: 15_000 });
      const res = await fetch(`${writable.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITER}` },
        body: JSON.stringify({ query: `mutation { markEvent(input: { name: "${PREFIX}${fresh}", userId: ${9_300_005}, at: "${today}T11:00:00Z" }) { marked } }` }),
      });
      expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
      apiMarks.push({ name: `${PREFIX}${fresh}`, userId: 9_300_005, day: today });
      await page.waitForFunction((name) => window.dashboard.breakdown?.values.find((v) => v.value === name)?.counts.at(-1) === 4, fresh, { timeout: 15_000 });
      const last = (await dashboardOf(page)).breakdown!;
      expect(last.drawn.stacked).toBe(true);
      check(last, expected());
      // The top of the stack, painted first: solid to yesterday, then dashed to today's total so far.
      expect(last.drawn.series.slice(0, 2).map((x) => [x.label, x.values.at(-1)])).toEqual([
        [`${last.values.at(-1)!.value} (stacked)`, null],
        [`${last.values.at(-1)!.value} (stacked) so far`, expected().totals.at(-1)],
      ]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
