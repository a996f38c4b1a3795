// The dashboard's range and granularity in headless Chromium: for a from/to range by day, week and
// month the series panel draws the numbers worked out here from the imported files (plain Sets per
// period); the period containing now is marked partial and left out of the means; a misspelt event
// says "No data for …" with the nearest names; the wording follows the entity; a cohort of 14 and
// 30 columns can be scrolled to every column at a desktop and a phone width.
//
// The demo data ends today, so the current day, week and month hold data (a drop to 0 would show).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import type { DashboardData } from '../../src/dashboard/app/main.ts';
import { loadConfig } from '../../src/config.ts';
import { launchChromium } from './chromium.ts';
import { addDays, dashboardConfig, dayOf, isoWeekLabel, listen, mondayOf, openEngine, seedDemoData } from './fixture.ts';
import type { LaunchEvent, RunningGateway } from './fixture.ts';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const READER = `bmq_range_${randomBytes(12).toString('hex')}`;
/** Today (UTC, the gateway's zone and the browser's), fixed once: the demo data ends here. */
const TODAY = new Date().toISOString().slice(0, 10);
const DEMO_DAYS = 75;

let dir: string;
let engine: Engine;
let gw: RunningGateway;
let browser: Browser;
let events: LaunchEvent[];
const others: RunningGateway[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'bitmapql-dashboard-range-'));
  events = seedDemoData(dir, { days: DEMO_DAYS, end: TODAY, linesPerDay: 120, seed: 11 });
  const config = dashboardConfig(dir, { reader: READER });
  engine = await openEngine(config);
  gw = await listen(engine, config);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  for (const g of others) await g.close();
  await gw?.close();
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- the expected numbers, from the events ------------------------------------------------------

type Granularity = 'DAY' | 'WEEK' | 'MONTH';
const WINDOW: Record<Granularity, number> = { DAY: 7, WEEK: 4, MONTH: 3 };

/** The period label of a day: 2026-11-30, 2026-W49, 2026-11. */
function labelOf(day: string, g: Granularity): string {
  return g === 'DAY' ? day : g === 'WEEK' ? isoWeekLabel(day) : day.slice(0, 7);
}
/** The first day of the period holding `day`. */
function startOf(day: string, g: Granularity): string {
  return g === 'DAY' ? day : g === 'WEEK' ? mondayOf(day) : `${day.slice(0, 8)}01`;
}
/** The first day of the period after the one starting on `start`. */
function nextStart(start: string, g: Granularity): string {
  if (g === 'DAY') return addDays(start, 1);
  if (g === 'WEEK') return addDays(start, 7);
  const [y, m] = start.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}
function previousStart(start: string, g: Granularity): string {
  if (g === 'DAY') return addDays(start, -1);
  if (g === 'WEEK') return addDays(start, -7);
  return startOf(addDays(start, -1), 'MONTH');
}

/** Distinct specs per period label, for one granularity. */
function specsBy(g: Granularity): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const e of events) {
    const label = labelOf(dayOf(Date.parse(e.timestamp)), g);
    if (!m.has(label)) m.set(label, new Set());
    m.get(label)!.add(e.spec);
  }
  return m;
}

interface Expected {
  label: string;
  count: number;
  /** null for the partial period. */
  average: number | null;
  partial: boolean;
}

/** The series from..to: one point per period, the one holding today partial, the means over complete periods only. */
function expectedSeries(from: string, to: string, g: Granularity): { points: Expected[]; mean: number } {
  const specs = specsBy(g);
  const count = (start: string): number => specs.get(labelOf(start, g))?.size ?? 0;
  const points: Expected[] = [];
  for (let s = startOf(from, g); s <= to && s <= TODAY; s = nextStart(s, g)) {
    const partial = s <= TODAY && TODAY < nextStart(s, g);
    let sum = 0;
    let k = s;
    for (let i = 0; i < WINDOW[g]; i++, k = previousStart(k, g)) sum += count(k);
    points.push({ label: labelOf(s, g), count: count(s), average: partial ? null : sum / WINDOW[g], partial });
  }
  const complete = points.filter((p) => !p.partial);
  return { points, mean: complete.reduce((a, p) => a + p.count, 0) / complete.length };
}

/** Daily cohort of `launch` by itself: `rows` days ending `to`, percent cells (null: empty row or day). */
function expectedDailyCohort(to: string, rows: number): Array<{ label: string; size: number; cells: Array<number | null> }> {
  const specs = specsBy('DAY');
  return Array.from({ length: rows }, (_, r) => {
    const day = addDays(to, r - rows + 1);
    const row = specs.get(day) ?? new Set<string>();
    const cells = Array.from({ length: rows }, (_, k) => {
      const later = specs.get(addDays(day, k));
      if (row.size === 0 || later === undefined || later.size === 0) return null;
      let both = 0;
      for (const s of row) if (later.has(s)) both++;
      return (both / row.size) * 100;
    });
    return { label: day, size: row.size, cells };
  });
}

/** Plain Levenshtein distance (the misspellings below swap no neighbours, so it agrees with the page's). */
function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

const fmtDec = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

// ---- the page -----------------------------------------------------------------------------------

interface Opened {
  page: Page;
  context: BrowserContext;
  problems: string[];
  posts: Array<Record<string, unknown>>;
}

async function open(url: string, viewport = { width: 1280, height: 900 }): Promise<Opened> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, timezoneId: 'UTC', locale: 'en-US' });
  await context.addInitScript((k) => localStorage.setItem('bitmapql.apiKey', k), READER);
  const page = await context.newPage();
  const problems: string[] = [];
  const posts: Array<Record<string, unknown>> = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/graphql')) posts.push(r.postDataJSON() as Record<string, unknown>);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 20_000 });
  return { page, context, problems, posts };
}

const dashboardOf = (page: Page): Promise<DashboardData> => page.evaluate(() => window.dashboard);
/** The series chart's legend, as shown: each entry's label (uPlot's table under the chart). */
const legendOf = (page: Page): Promise<string[]> => page.$$eval('#series .u-legend .u-series', (rows) => rows.map((r) => r.querySelector('.u-label')?.textContent ?? ''));
const q = (params: Record<string, string | number>): string => `?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString()}`;

describe('the series panel over a from/to range', () => {
  const cases: Array<[Granularity, string, string]> = [
    ['DAY', addDays(TODAY, -20), TODAY],
    ['WEEK', addDays(TODAY, -60), TODAY],
    ['MONTH', addDays(TODAY, -70), TODAY],
  ];

  it.each(cases)('by %s from %s to %s: the reference numbers; the current period partial and out of the means', async (g, from, to) => {
    const { page, context, problems } = await open(`${gw.url}/${q({ event: 'launch', from, to, granularity: g })}`);
    try {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      const d = await dashboardOf(page);
      expect(d.state).toMatchObject({ from, to, granularity: g });
      const want = expectedSeries(from, to, g);
      const s = d.series!;
      expect(s.granularity).toBe(g);
      expect(s.window).toBe(WINDOW[g]);
      expect(s.points.map((p) => p.label)).toEqual(want.points.map((p) => p.label));
      expect(s.points.map((p) => p.count)).toEqual(want.points.map((p) => p.count));
      expect(s.points.map((p) => p.partial)).toEqual(want.points.map((p) => p.partial));
      s.points.forEach((p, i) => {
        const w = want.points[i]!.average;
        if (w === null) expect(p.average, p.label).toBeNull();
        else expect(p.average, p.label).toBeCloseTo(w, 9);
      });
      // Exactly one partial period, the last: the one holding today, with its events so far (not a 0).
      expect(want.points.filter((p) => p.partial).map((p) => p.label)).toEqual([labelOf(TODAY, g)]);
      expect(s.points.at(-1)!.count).toBeGreaterThan(0);
      expect(s.mean).toBeCloseTo(want.mean, 9);
      // What the page shows: the mean of the complete periods, the partial period named and dashed.
      expect(await page.textContent('#series .stats .mean b')).toBe(fmtDec(want.mean));
      expect(await page.getAttribute('#series .chart', 'data-partial')).toBe(labelOf(TODAY, g));
      expect(await page.getAttribute('#series .chart', 'data-points')).toBe(String(want.points.length));
      expect(await page.textContent('#series .partial-note')).toContain(`${labelOf(TODAY, g)} is not over`);
      expect(await page.textContent('#series .readout')).toContain('so far');
      const unit = { DAY: 'day', WEEK: 'week', MONTH: 'month' }[g];
      expect(await legendOf(page)).toEqual(['users', 'users so far', `${WINDOW[g]}-${unit} average`]);
      expect(await page.textContent('#series h2')).toBe(`${{ DAY: 'Daily', WEEK: 'Weekly', MONTH: 'Monthly' }[g]} active users · launch`);
      expect(await page.textContent('#series .stats')).toContain(`mean per ${unit}`);
      // The form shows the range.
      expect(await page.inputValue('#f-from')).toBe(from);
      expect(await page.inputValue('#f-to')).toBe(to);
      expect(await page.inputValue('#f-granularity')).toBe(g);
      expect(problems).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-range-${g.toLowerCase()}.png`), fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('a range that ended before today has no partial period: every point has its average', async () => {
    const from = addDays(TODAY, -30);
    const to = addDays(TODAY, -10);
    const { page, context, problems } = await open(`${gw.url}/${q({ event: 'launch', from, to, granularity: 'DAY' })}`);
    try {
      const d = await dashboardOf(page);
      const want = expectedSeries(from, to, 'DAY');
      expect(want.points.some((p) => p.partial)).toBe(false);
      expect(d.series!.points.map((p) => [p.label, p.count, p.partial])).toEqual(want.points.map((p) => [p.label, p.count, false]));
      d.series!.points.forEach((p, i) => expect(p.average, p.label).toBeCloseTo(want.points[i]!.average!, 9));
      expect(await page.getAttribute('#series .chart', 'data-partial')).toBe('');
      expect(await page.$('#series .partial-note')).toBeNull();
      expect(await legendOf(page)).toEqual(['users', '7-day average']); // nothing "so far"
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a range reaching past today draws no period that has not begun; an old link (end, days) opens the same days', async () => {
    const { page, context } = await open(`${gw.url}/${q({ event: 'launch', from: addDays(TODAY, -6), to: addDays(TODAY, 5), granularity: 'DAY' })}`);
    try {
      const d = await dashboardOf(page);
      expect(d.series!.points.map((p) => p.label)).toEqual(Array.from({ length: 7 }, (_, i) => addDays(TODAY, i - 6)));
      expect(d.series!.points.at(-1)!.partial).toBe(true);
    } finally {
      await context.close();
    }
    const old = await open(`${gw.url}/${q({ event: 'launch', end: addDays(TODAY, -3), days: 10 })}`);
    try {
      const d = await dashboardOf(old.page);
      expect(d.state).toMatchObject({ from: addDays(TODAY, -12), to: addDays(TODAY, -3), granularity: 'DAY' });
      expect(d.series!.points.map((p) => p.count)).toEqual(expectedSeries(addDays(TODAY, -12), addDays(TODAY, -3), 'DAY').points.map((p) => p.count));
      const url = new URL(old.page.url()).searchParams;
      expect([url.get('from'), url.get('to'), url.get('end'), url.get('days')]).toEqual([addDays(TODAY, -12), addDays(TODAY, -3), null, null]);
    } finally {
      await old.context.close();
    }
  });

  it('choosing WEEK in the form redraws by week and puts it in the URL', async () => {
    const { page, context } = await open(`${gw.url}/${q({ event: 'launch', from: addDays(TODAY, -40), to: TODAY, granularity: 'DAY' })}`);
    try {
      await page.selectOption('#f-granularity', 'WEEK');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.series?.granularity === 'WEEK', undefined, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('granularity')).toBe('WEEK');
      const d = await dashboardOf(page);
      expect(d.series!.points.map((p) => p.count)).toEqual(expectedSeries(addDays(TODAY, -40), TODAY, 'WEEK').points.map((p) => p.count));
    } finally {
      await context.close();
    }
  });
});

describe('an event without data', () => {
  it('a misspelt event: "No data for …" with the nearest names as links, and no series asked for', async () => {
    const names = [...new Set(events.flatMap((e) => (e.provider === undefined ? ['launch'] : ['launch', `launch:provider:${e.provider}`])))].sort();
    const typo = 'lauch';
    const nearest = [...names].sort((a, b) => levenshtein(typo, a) - levenshtein(typo, b) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, 3);
    expect(nearest[0]).toBe('launch');
    const { page, context, problems, posts } = await open(`${gw.url}/${q({ event: typo, from: addDays(TODAY, -13), to: TODAY, granularity: 'DAY' })}`);
    try {
      const box = page.locator('#series .no-data');
      expect(await box.textContent()).toContain(`No data for ${typo}.`);
      expect(await box.textContent()).toContain(`Nearest names: ${nearest.join(', ')}`);
      expect((await box.getAttribute('data-nearest'))!.split('\n')).toEqual(nearest);
      expect((await dashboardOf(page)).series).toBeNull();
      expect(posts.some((p) => typeof p.query === 'string' && p.query.includes('query EventSeries'))).toBe(false);
      // The cohort follows Event: it says the same, and its names link to the page with that Event.
      expect(await page.getAttribute('#cohort .no-data', 'data-name')).toBe(typo);
      expect((await page.getAttribute('#cohort .no-data', 'data-nearest'))!.split('\n')).toEqual(nearest);
      expect(new URLSearchParams((await page.getAttribute('#cohort .no-data a', 'href'))!.slice(1)).get('event')).toBe('launch');
      expect(posts.some((p) => typeof p.query === 'string' && p.query.includes('query EventCohort'))).toBe(false);
      // A name links to the same page with that event.
      const href = await box.locator('a').first().getAttribute('href');
      expect(new URLSearchParams(href!.slice(1)).get('event')).toBe('launch');
      await box.locator('a').first().click();
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.series?.event === 'launch', undefined, { timeout: 15_000 });
      expect((await dashboardOf(page)).series!.points.map((p) => p.count)).toEqual(expectedSeries(addDays(TODAY, -13), TODAY, 'DAY').points.map((p) => p.count));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
    // The gateway is still up.
    expect((await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` }, body: '{"query":"{ __typename }"}' })).status).toBe(200);
  });

  it('a misspelt cohort event or activity event: "No data for …" in the cohort panel with the nearest names, no cohort asked for, the other panels drawn', async () => {
    const names = [...new Set(events.flatMap((e) => (e.provider === undefined ? ['launch'] : ['launch', `launch:provider:${e.provider}`])))].sort();
    const nearestTo = (typo: string): string[] => [...names].sort((a, b) => levenshtein(typo, a) - levenshtein(typo, b) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, 3);
    const rows = 5;
    const base = { event: 'launch', from: addDays(TODAY, -13), to: TODAY, granularity: 'DAY', cohort: 'DAY', rows };
    for (const [field, typo, first] of [
      ['cohortEvent', 'launch:provider:GitHb', 'launch:provider:GitHub'],
      ['activity', 'lanch', 'launch'],
    ] as const) {
      const nearest = nearestTo(typo);
      expect(nearest[0]).toBe(first);
      const { page, context, problems, posts } = await open(`${gw.url}/${q({ ...base, [field]: typo })}`);
      try {
        expect(await page.getAttribute('body', 'data-state')).toBe('ready');
        const box = page.locator('#cohort .no-data');
        expect(await box.textContent()).toContain(`No data for ${typo}.`);
        expect(await box.textContent()).toContain(`Nearest names: ${nearest.join(', ')}`);
        expect((await box.getAttribute('data-nearest'))!.split('\n')).toEqual(nearest);
        expect(await page.textContent('#cohort .stats')).toBe('');
        const d = await dashboardOf(page);
        expect(d.cohort).toBeNull();
        expect(posts.some((p) => typeof p.query === 'string' && p.query.includes('query EventCohort'))).toBe(false);
        // The series is of Event (spelt right): drawn, and no "No data" there.
        expect(d.series!.points.map((p) => p.count)).toEqual(expectedSeries(base.from, base.to, 'DAY').points.map((p) => p.count));
        expect(await page.$('#series .no-data')).toBeNull();
        // The nearest name links to the same page with that name in the misspelt field only.
        const href = new URLSearchParams((await box.locator('a').first().getAttribute('href'))!.slice(1));
        expect(href.get(field)).toBe(first);
        expect(href.get('event')).toBe('launch');
        if (field === 'activity') {
          await box.locator('a').first().click();
          await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.cohort?.activity === 'launch', undefined, { timeout: 15_000 });
          const cohort = (await dashboardOf(page)).cohort!;
          const want = expectedDailyCohort(TODAY, rows);
          expect(cohort.rows.map((r) => [r.label, r.size])).toEqual(want.map((r) => [r.label, r.size]));
          cohort.rows.forEach((r, i) =>
            want[i]!.cells.forEach((c, k) => (c === null ? expect(r.cells[k], `${r.label}[${k}]`).toBeNull() : expect(r.cells[k], `${r.label}[${k}]`).toBeCloseTo(c, 9))),
          );
          expect(await page.$('#cohort .no-data')).toBeNull();
        }
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    }
    expect((await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` }, body: '{"query":"{ __typename }"}' })).status).toBe(200);
  });

  it('an event with data, over a range without any: says so above the chart', async () => {
    const from = addDays(TODAY, -DEMO_DAYS - 30);
    const to = addDays(TODAY, -DEMO_DAYS - 10);
    const { page, context } = await open(`${gw.url}/${q({ event: 'launch', from, to, granularity: 'DAY' })}`);
    try {
      expect(expectedSeries(from, to, 'DAY').points.every((p) => p.count === 0)).toBe(true);
      expect(await page.textContent('#series .no-data')).toBe(`No data for launch from ${from} to ${to}.`);
    } finally {
      await context.close();
    }
  });
});

describe('wording that fits the entity', () => {
  it('DASHBOARD_ENTITY=repositories: "Daily active repositories", the readout and cohort too; &entity= wins', async () => {
    const g = await listen(engine, dashboardConfig(dir, { reader: READER }, { dashboardEntity: 'repositories' }));
    others.push(g);
    const html = await (await fetch(`${g.url}/`)).text();
    expect(html).toContain('data-entity="repositories"');
    const { page, context } = await open(`${g.url}/${q({ event: 'launch', from: addDays(TODAY, -13), to: addDays(TODAY, -1), granularity: 'DAY' })}`);
    try {
      expect(await page.textContent('#series h2')).toBe('Daily active repositories · launch');
      expect(await page.textContent('#series .readout')).toContain(' · repositories ');
      expect(await page.textContent('#cohort thead th.size')).toBe('Repositories');
      expect(await legendOf(page)).toEqual(['repositories', '7-day average']); // no period is partial: no "so far"
      expect(await page.textContent('body')).not.toMatch(/\busers\b/i);
      expect(new URL(page.url()).searchParams.get('entity')).toBeNull(); // the gateway's default is not written into links
    } finally {
      await context.close();
    }
    const other = await open(`${g.url}/${q({ event: 'launch', from: addDays(TODAY, -60), to: TODAY, granularity: 'WEEK', entity: 'notebooks' })}`);
    try {
      expect(await other.page.textContent('#series h2')).toBe('Weekly active notebooks · launch');
      expect(new URL(other.page.url()).searchParams.get('entity')).toBe('notebooks');
      expect(await legendOf(other.page)).toEqual(['notebooks', 'notebooks so far', '4-week average']); // this week is partial
    } finally {
      await other.context.close();
    }
  });

  it('DASHBOARD_ENTITY takes a plain noun only (it is written into the page)', () => {
    expect(loadConfig({ DASHBOARD_ENTITY: 'repositories' }).dashboardEntity).toBe('repositories');
    expect(loadConfig({}).dashboardEntity).toBe('users');
    expect(() => loadConfig({ DASHBOARD_ENTITY: 'x"><script>' })).toThrow(/DASHBOARD_ENTITY/);
    expect(() => loadConfig({ DASHBOARD_ENTITY: 'a'.repeat(41) })).toThrow(/DASHBOARD_ENTITY/);
  });
});

describe('layouts that do not cut off columns', () => {
  const viewports = [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 390, height: 844 }],
  ] as const;
  const sizes = [14, 30];

  for (const [name, viewport] of viewports) {
    for (const rows of sizes) {
      it(`a ${rows}-column daily cohort at ${name} width (${viewport.width}px): every column can be scrolled into view beside the sticky first column`, async () => {
        const to = addDays(TODAY, -1);
        const { page, context, problems } = await open(`${gw.url}/${q({ event: 'launch', from: addDays(TODAY, -13), to, granularity: 'DAY', cohort: 'DAY', rows })}`, viewport);
        try {
          expect(await page.getAttribute('body', 'data-state')).toBe('ready');
          // The numbers first: the reference cohort, every cell.
          const want = expectedDailyCohort(to, rows);
          const cells = await page.$$eval('#cohort tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td.cell')].map((td) => (td as HTMLElement).dataset.value ?? '')));
          expect(cells).toHaveLength(rows);
          want.forEach((row, r) =>
            row.cells.forEach((w, k) => {
              if (w === null) expect(cells[r]![k], `${row.label} +${k}`).toBe('');
              else expect(Number(cells[r]![k]), `${row.label} +${k}`).toBeCloseTo(w, 9);
            }),
          );
          // The page itself is no wider than the screen: the table scrolls inside its panel.
          const pageWidth = await page.evaluate(() => {
            // What sticks out, for the message: elements past the right edge outside a scroller.
            const out = [...document.querySelectorAll('body *')]
              .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('.table-scroll'))
              .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`)
              .slice(0, 8);
            return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth, out };
          });
          expect(pageWidth.scroll, pageWidth.out.join(' ')).toBeLessThanOrEqual(pageWidth.inner);
          // Each column: scroll the panel's table so the column's cells sit right of the sticky label
          // column, then every one of them (header, rows, average) lies inside the scroller and the screen.
          const report = await page.evaluate((n) => {
            const scroller = document.querySelector<HTMLElement>('#cohort .table-scroll')!;
            const table = scroller.querySelector('table')!;
            const out: Array<{ k: number; ok: boolean; why: string }> = [];
            const box = scroller.getBoundingClientRect();
            for (let k = 0; k < n; k++) {
              const column = [
                table.querySelectorAll('thead th.offset')[k] as HTMLElement,
                ...[...table.querySelectorAll('tbody tr, tfoot tr')].map((tr) => tr.querySelectorAll('td.cell, td.average')[k] as HTMLElement),
              ];
              const first = column[1]!;
              const label = first.parentElement!.querySelector('th.label') as HTMLElement;
              scroller.scrollLeft = 0;
              const x = first.getBoundingClientRect().left - label.getBoundingClientRect().right;
              scroller.scrollLeft = Math.max(0, x);
              const labelRight = label.getBoundingClientRect().right;
              let ok = true;
              let why = '';
              for (const el of column) {
                // Scroll the page (vertically only) to the cell, so the hit test below can see it.
                window.scrollTo(0, Math.max(0, el.getBoundingClientRect().top + window.scrollY - window.innerHeight / 2));
                const r = el.getBoundingClientRect();
                const inside = r.left >= labelRight - 1 && r.right <= box.right + 1 && r.left >= -1 && r.right <= window.innerWidth + 1 && r.width > 0;
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                if (!inside || !(hit === el || el.contains(hit))) {
                  ok = false;
                  why = `${el.className} [${r.left.toFixed(0)}, ${r.right.toFixed(0)}] label ${labelRight.toFixed(0)} box [${box.left.toFixed(0)}, ${box.right.toFixed(0)}] hit ${hit?.tagName}.${(hit as HTMLElement | null)?.className}`;
                  break;
                }
              }
              // The label column stays in view (sticky).
              const l = label.getBoundingClientRect();
              if (l.left < box.left - 1 || l.right > box.right + 1) {
                ok = false;
                why = `label column left the view [${l.left}, ${l.right}]`;
              }
              out.push({ k, ok, why });
            }
            return out;
          }, rows);
          expect(report.filter((c) => !c.ok)).toEqual([]);
          expect(problems).toEqual([]);
          mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: join(ARTIFACTS, `dashboard-cohort-${rows}-${name}.png`), fullPage: true });
        } finally {
          await context.close();
        }
      });
    }
  }

  it('at phone width the series chart and the form fit the screen', async () => {
    const { page, context } = await open(`${gw.url}/${q({ event: 'launch', from: addDays(TODAY, -29), to: TODAY, granularity: 'DAY' })}`, { width: 390, height: 844 });
    try {
      const r = await page.evaluate(() => {
        const rect = (s: string): DOMRect => document.querySelector(s)!.getBoundingClientRect();
        return { chart: rect('#series .chart canvas').right, form: rect('#controls').right, apply: rect('#controls .apply').right, inner: window.innerWidth };
      });
      expect(r.chart).toBeLessThanOrEqual(r.inner);
      expect(r.form).toBeLessThanOrEqual(r.inner);
      expect(r.apply).toBeLessThanOrEqual(r.inner);
    } finally {
      await context.close();
    }
  });
});
