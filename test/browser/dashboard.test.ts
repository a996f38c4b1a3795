// The dashboard page in headless Chromium against a gateway with demo data: every number the
// page draws equals one computed independently from the events; the chart is drawn; an API key is
// asked for and used; persisted-operations mode works with a manifest holding the page's
// operations; with Live on, marks and increments sent through the API are drawn without a reload.
// A full-page screenshot goes to test/browser/artifacts/ (git-ignored).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Kind, parse, print } from 'graphql';
import type { FieldNode, OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { DASHBOARD_CSP } from '../../src/dashboard/server.ts';
import type { DashboardData } from '../../src/dashboard/app/main.ts';
import { hashKey } from '../../src/auth.ts';
import { ENGINES, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';
import { launchChromium } from './chromium.ts';
import { DEMO, addDays, dashboardConfig, listen, openEngine, reference, seedDemoData } from './fixture.ts';
import type { Reference, RunningGateway } from './fixture.ts';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const EXAMPLES_MANIFEST = join(import.meta.dirname, '../../examples/generated/persisted-documents.json');
const DASHBOARD_MANIFEST = join(import.meta.dirname, '../../src/dashboard/generated/persisted-documents.json');

const STATE = { event: 'launch', from: addDays(DEMO.end, 1 - DEMO.days), to: DEMO.end, granularity: 'DAY', prefix: 'launch:provider:', cohort: 'WEEK', rows: 6, counter: 'launches', counterPeriod: 'MONTH' } as const;
const DAYS = DEMO.days;
const QUERY = `?${new URLSearchParams(Object.entries(STATE).map(([k, v]) => [k, String(v)])).toString()}`;
const WINDOW = 7;
const VIEWPORT = { width: 1280, height: 900 };

const READER = `bmq_dash_${randomBytes(12).toString('hex')}`;

let dir: string;
let engine: Engine;
let gw: RunningGateway;
let ref: Reference;
let browser: Browser;
const others: RunningGateway[] = [];

beforeAll(async () => {
  browser = await launchChromium(); // installs Chromium first when it is missing
  dir = mkdtempSync(join(tmpdir(), 'bitmapql-dashboard-'));
  const events = seedDemoData(dir);
  ref = reference(events);
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

interface Opened {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions. */
  problems: string[];
  /** Bodies POSTed to /graphql. */
  posts: Array<Record<string, unknown>>;
}

/** A fresh context (its own localStorage), optionally holding the API key already. */
async function open(url: string, key: string | null): Promise<Opened> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, timezoneId: 'UTC', locale: 'en-US' });
  if (key !== null) await context.addInitScript((k) => localStorage.setItem('bitmapql.apiKey', k), key);
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
  return { page, context, problems, posts };
}

const settled = (page: Page): Promise<unknown> => page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 15_000 });
const dashboardOf = (page: Page): Promise<DashboardData> => page.evaluate(() => window.dashboard);

describe('the dashboard page', () => {
  it('is served at / with its bundled assets, a content security policy, and GraphiQL stays at /graphql', async () => {
    const res = await fetch(`${gw.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain('data-api-keys="true"');
    expect(html).toContain('data-persisted="false"');
    const assets = [...html.matchAll(/(?:href|src)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const path of assets) {
      const a = await fetch(`${gw.url}${path}`);
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toBe(path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(a.headers.get('cache-control')).toContain('immutable');
      const text = await a.text();
      expect(text.length).toBeGreaterThan(1000);
      if (path.endsWith('.css')) expect(text).toContain('.uplot'); // uPlot's stylesheet is in the bundle
    }
    expect((await fetch(`${gw.url}/dashboard/nope.js`)).status).toBe(404);
    const graphiql = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toMatch(/graphiql/i);
  });

  it('without an API key shows the GraphQL error and the key field; with the key typed in, it draws', async () => {
    const { page, context } = await open(`${gw.url}/${QUERY}`, null);
    try {
      await settled(page);
      expect(await page.getAttribute('body', 'data-state')).toBe('error');
      const errorText = await page.textContent('#series .error');
      expect(errorText).toContain('UNAUTHENTICATED');
      expect(await page.isVisible('#api-key')).toBe(true);
      const d = await dashboardOf(page);
      expect(d.errors[0]?.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      await page.fill('#api-key', READER);
      await page.click('#key-form button');
      await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
      expect(await page.evaluate(() => localStorage.getItem('bitmapql.apiKey'))).toBe(READER);
      expect((await dashboardOf(page)).series?.points).toHaveLength(DAYS);
    } finally {
      await context.close();
    }
  });

  it('every number equals the reference computed from the events; the chart is drawn', async () => {
    const { page, context, problems, posts } = await open(`${gw.url}/${QUERY}`, READER);
    try {
      await settled(page);
      expect(await page.getAttribute('body', 'data-state'), JSON.stringify(await dashboardOf(page).catch(() => null))).toBe('ready');
      const d = await dashboardOf(page);
      expect(d.state).toEqual({ ...STATE, stacked: false, cohortEvent: null, activity: null, cells: 'percent', live: false, entity: null });
      expect(new URL(page.url()).search).toBe(QUERY);
      // The pickers list what the gateway has.
      expect(await page.$$eval('#f-event option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(ref.eventNames);
      expect(await page.$$eval('#f-counter option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(['launches']);

      // (1) series: daily users and the 7-day rolling average.
      const series = ref.series(STATE.to, DAYS, WINDOW);
      expect(d.series!.points.map((p) => p.label)).toEqual(series.map((p) => p.label));
      expect(d.series!.points.map((p) => p.count)).toEqual(series.map((p) => p.count));
      d.series!.points.forEach((p, i) => expect(p.average, p.label).toBeCloseTo(series[i]!.average, 9));
      expect(series.reduce((a, p) => a + p.count, 0)).toBeGreaterThan(1000); // the data is not empty

      // The chart: a canvas of the chart's size with both lines on it.
      const canvas = await page.evaluate(() => {
        const chart = document.querySelector<HTMLElement>('#series .chart')!;
        const c = chart.querySelector('canvas')!;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const near = (r: number, g: number, b: number, i: number): boolean => Math.abs(px[i]! - r) + Math.abs(px[i + 1]! - g) + Math.abs(px[i + 2]! - b) < 60 && px[i + 3]! > 200;
        let blue = 0;
        let orange = 0;
        const colours = new Set<number>();
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3]! > 0) colours.add((px[i]! << 16) | (px[i + 1]! << 8) | px[i + 2]!);
          if (near(0x25, 0x63, 0xeb, i)) blue++;
          if (near(0xea, 0x58, 0x0c, i)) orange++;
        }
        return { width: c.width, height: c.height, chartWidth: chart.clientWidth, blue, orange, colours: colours.size };
      });
      expect(canvas.width).toBe(canvas.chartWidth);
      expect(canvas.height).toBe(280);
      expect(canvas.blue).toBeGreaterThan(300);
      expect(canvas.orange).toBeGreaterThan(300);
      expect(canvas.colours).toBeGreaterThan(8);
      // The readout follows the cursor: the last day at rest, the hovered day under the pointer.
      expect(await page.textContent('#series .readout')).toContain(series.at(-1)!.label);
      const over = (await page.locator('#series .u-over').boundingBox())!;
      await page.mouse.move(over.x + 2, over.y + over.height / 2);
      expect(await page.textContent('#series .readout')).toContain(`${series[0]!.label} · users ${series[0]!.count.toLocaleString('en-US')}`);
      await page.mouse.move(0, 0);

      // (2) cohort heatmap: bitmapist get_dates_data by ISO week, percent cells.
      const cohort = ref.weeklyCohort(STATE.to, STATE.rows);
      expect(d.cohort!.rows.map((r) => r.label)).toEqual(cohort.map((r) => r.label));
      expect(d.cohort!.rows.map((r) => r.size)).toEqual(cohort.map((r) => r.size));
      const cells = await page.$$eval('#cohort tbody tr', (rows) =>
        rows.map((tr) => [...tr.querySelectorAll('td.cell')].map((td) => (td as HTMLElement).dataset.value ?? '')),
      );
      expect(cells).toHaveLength(STATE.rows);
      cohort.forEach((row, r) => {
        expect(cells[r]).toHaveLength(STATE.rows);
        row.cells.forEach((want, k) => {
          const got = cells[r]![k]!;
          if (want === null) expect(got, `${row.label} +${k}`).toBe('');
          else expect(Number(got), `${row.label} +${k}`).toBeCloseTo(want, 9);
        });
      });
      expect(cohort[0]!.cells[1]).toBeGreaterThan(0); // some users come back the next week
      const sizes = await page.$$eval('#cohort tbody tr', (rows) => rows.map((tr) => Number((tr as HTMLElement).dataset.size)));
      expect(sizes).toEqual(cohort.map((r) => r.size));
      // Shading follows the percent: a full cell is darker than a low one.
      const shades = await page.$$eval('#cohort td.cell[data-value]:not(.empty)', (tds) =>
        tds.map((td) => ({ v: Number((td as HTMLElement).dataset.value), bg: getComputedStyle(td).backgroundColor })),
      );
      const lum = (bg: string): number => {
        const [r, g, b] = bg.match(/\d+/g)!.map(Number);
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const sorted = [...shades].sort((a, b) => a.v - b.v);
      expect(lum(sorted[0]!.bg)).toBeGreaterThan(lum(sorted.at(-1)!.bg));

      // (3) the counter's top keys in the month of the end date.
      const top = ref.monthCounters(STATE.to);
      expect(d.counters!.period).toBe(STATE.to.slice(0, 7));
      expect(d.counters!.top).toEqual(top);
      const bars = await page.$$eval('#counters li', (lis) => lis.map((li) => ({ key: (li as HTMLElement).dataset.key, value: Number((li as HTMLElement).dataset.value) })));
      expect(bars).toEqual(top);

      // The page's operations were sent as query texts (persisted mode is off) with the key.
      expect(posts.length).toBe(5); // the pickers, then one request a panel
      for (const p of posts) expect(typeof p.query).toBe('string');
      expect(problems).toEqual([]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('with no query string: the first event, today, 30 days, WEEK, 8 rows, the first counter; the URL then says so', async () => {
    const { page, context, problems } = await open(`${gw.url}/`, READER);
    try {
      await settled(page);
      const d = await dashboardOf(page);
      const today = new Date().toISOString().slice(0, 10); // the browser runs in UTC
      expect(d.state).toEqual({ event: ref.eventNames[0], from: addDays(today, -29), to: today, granularity: 'DAY', prefix: 'launch:provider:', stacked: false, cohort: 'WEEK', rows: 8, cohortEvent: null, activity: null, cells: 'percent', counter: 'launches', counterPeriod: 'MONTH', live: false, entity: null });
      expect(d.series!.points).toHaveLength(30);
      expect(d.cohort!.rows).toHaveLength(8);
      expect(new URL(page.url()).searchParams.get('to')).toBe(today);
      expect(problems).toEqual([]);

      // Choosing another event redraws the panels for it and puts it in the URL.
      const other = ref.eventNames.find((n) => n !== ref.eventNames[0])!;
      await page.selectOption('#f-event', other);
      await page.waitForFunction((name) => document.body.dataset.state === 'ready' && window.dashboard.state?.event === name, other, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('event')).toBe(other);
    } finally {
      await context.close();
    }
  });
});

describe('the dashboard with Live on', () => {
  it('draws marks and increments sent through the API as they arrive, without a reload; Live is in the URL', async () => {
    const writer = `bmq_dash_w_${randomBytes(12).toString('hex')}`;
    const apiKeys = [
      { name: 'dashboard', sha256: hashKey(READER), scopes: ['read' as const] },
      { name: 'writer', sha256: hashKey(writer), scopes: ['read' as const, 'write' as const] },
    ];
    const g = await listen(engine, dashboardConfig(dir, { reader: READER }, { apiKeys }));
    others.push(g);
    // Today, so the last point is the current period; the writes name the day, so midnight cannot move them.
    const end = new Date().toISOString().slice(0, 10);
    const state = { ...STATE, from: addDays(end, -6), to: end };
    const query = `?${new URLSearchParams(Object.entries(state).map(([k, v]) => [k, String(v)])).toString()}`;
    const { page, context, problems } = await open(`${g.url}/${query}`, READER);
    try {
      await settled(page);
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      expect(await page.isChecked('#f-live')).toBe(false); // off by default
      expect((await dashboardOf(page)).live).toBeNull();
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

      await page.check('#f-live');
      await page.waitForFunction(() => (window.dashboard.live?.updates ?? 0) >= 3, undefined, { timeout: 15_000 }); // each panel's first answer
      expect(new URL(page.url()).searchParams.get('live')).toBe('on');
      const before = await dashboardOf(page);
      expect(before.series!.points.map((p) => p.count)).toEqual(ref.series(end, 7, WINDOW).map((p) => p.count));

      // Writes through the API, as any producer sends them.
      const marked = new Set<number>();
      const api = async (document: string): Promise<void> => {
        const res = await fetch(`${g.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
          body: JSON.stringify({ query: document }),
        });
        const json = (await res.json()) as { errors?: unknown };
        expect(json.errors, document).toBeUndefined();
      };
      for (const userId of [9_000_001, 9_000_002, 9_000_001, 9_000_003]) {
        await api(`mutation { markEvent(input: { name: "launch", userId: ${userId}, at: "${end}T12:00:00Z" }) { marked } }`);
        marked.add(userId);
      }
      await api(`mutation { incrementCounter(name: "launches", key: "live-test", by: 5, at: "${end}T12:00:00Z") { incremented } }`);
      await api(`mutation { incrementCounter(name: "launches", key: "live-test", by: 2, at: "${end}T13:00:00Z") { incremented } }`);

      // Expected, from the events and the writes above: today's users and this month's counts.
      const daily = (day: string): number => ref.daily(day) + (day === end ? marked.size : 0);
      const expectedSeries = Array.from({ length: 7 }, (_, i) => {
        const day = new Date(Date.parse(`${end}T00:00:00Z`) + (i - 6) * 86_400_000).toISOString().slice(0, 10);
        const last = Array.from({ length: WINDOW }, (_, k) => daily(new Date(Date.parse(`${day}T00:00:00Z`) - k * 86_400_000).toISOString().slice(0, 10)));
        return { label: day, count: daily(day), average: last.reduce((a, b) => a + b, 0) / WINDOW };
      });
      const expectedTop = [...ref.monthCounters(end), { key: 'live-test', value: 7 }]
        .sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .slice(0, 10);

      await page.waitForFunction(
        ([count, value]) =>
          window.dashboard.series?.points.at(-1)?.count === count && window.dashboard.counters?.top.some((c) => c.key === 'live-test' && c.value === value),
        [expectedSeries.at(-1)!.count, 7] as const,
        { timeout: 15_000 },
      );
      const after = await dashboardOf(page);
      expect(after.series!.points.map((p) => p.label)).toEqual(expectedSeries.map((p) => p.label));
      expect(after.series!.points.map((p) => p.count)).toEqual(expectedSeries.map((p) => p.count));
      // Today is not over: drawn partial, without an average (left out of it).
      after.series!.points.forEach((p, i) => {
        if (i === 6) expect([p.partial, p.average]).toEqual([true, null]);
        else expect([p.partial, p.average ?? NaN]).toEqual([false, expect.closeTo(expectedSeries[i]!.average, 9)]);
      });
      expect(after.counters!.top).toEqual(expectedTop);
      // The current week's cohort is the users marked today.
      await page.waitForFunction((n) => window.dashboard.cohort?.rows.at(-1)?.size === n, marked.size, { timeout: 15_000 });
      // What the page shows, not only what it holds.
      expect(await page.textContent('#series .readout')).toContain(`${end} · users ${expectedSeries.at(-1)!.count}`);
      const bars = await page.$$eval('#counters li', (lis) => lis.map((li) => ({ key: (li as HTMLElement).dataset.key, value: Number((li as HTMLElement).dataset.value) })));
      expect(bars).toEqual(expectedTop);
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      expect(after.live!.errors).toEqual([]);
      expect(problems).toEqual([]);

      // Off again: the subscriptions close (the gateway drops them) and the URL forgets Live.
      await page.uncheck('#f-live');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && window.dashboard.live === null, undefined, { timeout: 15_000 });
      expect(new URL(page.url()).searchParams.get('live')).toBeNull();
      const services = g.gateway.services;
      for (let i = 0; i < 100 && services.live.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(services.live.size).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe('the dashboard with PERSISTED_OPERATIONS', () => {
  let manifests: string;
  beforeAll(() => {
    manifests = mkdtempSync(join(tmpdir(), 'bitmapql-manifest-'));
    // The operator's manifest: the example operations plus the dashboard's.
    const merged = { ...JSON.parse(readFileSync(EXAMPLES_MANIFEST, 'utf8')), ...JSON.parse(readFileSync(DASHBOARD_MANIFEST, 'utf8')) } as Record<string, string>;
    writeFileSync(join(manifests, 'merged.json'), JSON.stringify(merged));
  });
  afterAll(() => rmSync(manifests, { recursive: true, force: true }));

  it('each Live subscription selects what its query does: the same fragment, under the same field with the same arguments', () => {
    const manifest = JSON.parse(readFileSync(DASHBOARD_MANIFEST, 'utf8')) as Record<string, string>;
    const operations = Object.values(manifest).flatMap((text) =>
      parse(text).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION),
    );
    const byName = new Map(operations.map((o) => [o.name!.value, o]));
    const live = operations.filter((o) => o.operation === 'subscription');
    // One subscription per panel: series, breakdown, cohort, counters.
    expect(live.map((o) => o.name!.value).sort()).toEqual(['LiveEventBreakdown', 'LiveEventCohort', 'LiveEventSeries', 'LiveTopCounters']);
    for (const sub of live) {
      const query = byName.get(sub.name!.value.replace(/^Live/, ''));
      expect(query?.operation, sub.name!.value).toBe('query');
      const fields = (o: OperationDefinitionNode): FieldNode[] => o.selectionSet.selections.filter((x): x is FieldNode => x.kind === Kind.FIELD);
      for (const field of fields(sub)) {
        const twin = fields(query!).find((f) => f.name.value === field.name.value);
        expect(twin, `${sub.name!.value}.${field.name.value}`).toBeDefined();
        // The whole selection is one fragment spread, the same one the query uses.
        const spreads = (f: FieldNode): string[] => f.selectionSet!.selections.map((x) => (x.kind === Kind.FRAGMENT_SPREAD ? x.name.value : `(not a fragment: ${x.kind})`));
        expect(spreads(field), sub.name!.value).toHaveLength(1);
        expect(spreads(field), sub.name!.value).toEqual(spreads(twin!));
        expect(field.arguments!.map((a) => print(a)), sub.name!.value).toEqual(twin!.arguments!.map((a) => print(a)));
      }
    }
  });

  it('sends documentIds and draws the same numbers when the manifest holds the page’s operations', async () => {
    const g = await listen(engine, dashboardConfig(dir, { reader: READER }, { persistedOperations: join(manifests, 'merged.json') }));
    others.push(g);
    const { page, context, problems, posts } = await open(`${g.url}/${QUERY}`, READER);
    try {
      await settled(page);
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      expect(posts.length).toBe(5); // the pickers, then one request a panel
      for (const p of posts) {
        expect(p.query).toBeUndefined();
        expect(p.documentId).toMatch(/^sha256:[0-9a-f]{64}$/);
      }
      const d = await dashboardOf(page);
      expect(d.series!.points.map((p) => p.count)).toEqual(ref.series(STATE.to, DAYS, WINDOW).map((p) => p.count));
      expect(d.counters!.top).toEqual(ref.monthCounters(STATE.to));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a manifest without the page’s operations: the page shows PERSISTED_QUERY_NOT_FOUND', async () => {
    const g = await listen(engine, dashboardConfig(dir, { reader: READER }, { persistedOperations: EXAMPLES_MANIFEST }));
    others.push(g);
    const { page, context } = await open(`${g.url}/${QUERY}`, READER);
    try {
      await settled(page);
      expect(await page.getAttribute('body', 'data-state')).toBe('error');
      expect(await page.textContent('#series .error')).toContain('PERSISTED_QUERY_NOT_FOUND');
    } finally {
      await context.close();
    }
  });
});

describe.each(ENGINES)('counterNames (%s engine)', (kind) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: kind });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists counters by name (names may hold ":" and "_"), optionally by prefix, and only counter keys', async () => {
    expect((await t.gql('{ counterNames }')).data).toEqual({ counterNames: [] });
    const write = await t.gql(`mutation {
      incrementCounters(input: [
        { name: "plays", key: "song-1", at: "2026-10-31T10:00:00Z" }
        { name: "plays:by:country", key: "de", at: "2026-10-01" }
        { name: "a_b", key: "x", at: "2025-01-01" }
      ]) { incremented }
      markEvent(input: { name: "listens", userId: 1 }) { marked }
    }`);
    expect(write.errors).toBeUndefined();
    expect((await t.gql('{ counterNames }')).data).toEqual({ counterNames: ['a_b', 'plays', 'plays:by:country'] });
    expect((await t.gql('{ counterNames(prefix: "plays:") }')).data).toEqual({ counterNames: ['plays:by:country'] });
    expect((await t.gql('{ counterNames(prefix: "x") }')).data).toEqual({ counterNames: [] });
    expect((await t.gql('{ counterNames(prefix: "p*") }')).errors?.[0]?.extensions?.code).toBe('BAD_EVENT_NAME');
  });
});
