// Headless Chromium for the dashboard test and `npm run screenshot`: Debian's package (or
// CHROMIUM_PATH), driven by playwright-core, with a fresh profile and no network of its own.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

const ENSURE = join(import.meta.dirname, '../../scripts/ensure-chromium.sh');

export const chromiumPath = (): string => process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The Chromium binary; installs it with scripts/ensure-chromium.sh when missing, or fails saying what to do. */
export function ensureChromium(): string {
  const path = chromiumPath();
  if (executable(path)) return path;
  try {
    execFileSync('bash', [ENSURE], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } catch (e) {
    const out = e as { stdout?: Buffer; stderr?: Buffer };
    const detail = `${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}`.trim();
    throw new Error(`Chromium is not installed at ${path} and scripts/ensure-chromium.sh could not install it:\n${detail || (e as Error).message}`, { cause: e });
  }
  if (!executable(path)) throw new Error(`scripts/ensure-chromium.sh ran, but ${path} is still not an executable file`);
  return path;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium (each launch gets a fresh temporary profile). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS, timeout: 30_000 });
}
