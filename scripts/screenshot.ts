// npm run screenshot: the dashboard over the demo data, in headless Chromium, saved as
// docs/dashboard.png for the README. The same data and browser as test/browser/dashboard.test.ts.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../test/browser/chromium.ts';
import { DEMO, dashboardConfig, listen, openEngine, seedDemoData } from '../test/browser/fixture.ts';

const OUT = join(import.meta.dirname, '../docs/dashboard.png');
// 35 days: every day's 7-day average then lies inside the demo data's 42 days.
const QUERY = `?event=launch&end=${DEMO.end}&days=35&cohort=WEEK&rows=6&counter=launches&counterPeriod=MONTH`;

const dir = mkdtempSync(join(tmpdir(), 'bitmapql-screenshot-'));
try {
  const events = seedDemoData(dir);
  const config = dashboardConfig(dir, null);
  const engine = await openEngine(config);
  const gateway = await listen(engine, config);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, timezoneId: 'UTC', locale: 'en-US' });
    await page.goto(`${gateway.url}/${QUERY}`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30_000 });
    const state = await page.getAttribute('body', 'data-state');
    if (state !== 'ready') throw new Error(`the page did not get ready: ${JSON.stringify(await page.evaluate(() => window.dashboard.errors))}`);
    await page.mouse.move(0, 0);
    mkdirSync(join(OUT, '..'), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    process.stdout.write(`${OUT} (${events.length} demo events)\n`);
  } finally {
    await browser.close();
    await gateway.close();
    await engine.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
