// The dashboard page: GET / (HTML) and its assets under /dashboard/. The browser app
// (src/dashboard/app/, TypeScript) and uPlot's CSS are bundled by esbuild in memory, once per
// process on the first request, and served with content-hashed names (cached for good) under a
// Content-Security-Policy that allows only this origin's scripts, styles and GraphQL endpoint.

import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import type { Plugin } from 'graphql-yoga';

/** The app's sources, found from this file, so the gateway may run from any working directory. */
const APP_ENTRY = join(import.meta.dirname, 'app', 'main.ts');
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface DashboardAsset {
  readonly body: string;
  readonly contentType: string;
}

export interface DashboardBundle {
  /** Path (/dashboard/app-<hash>.js) → asset. */
  readonly assets: ReadonlyMap<string, DashboardAsset>;
  readonly script: string;
  readonly style: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

let bundle: Promise<DashboardBundle> | undefined;

/** The bundled app, built on the first call and kept; a failed build is tried again next time. */
export function dashboardBundle(): Promise<DashboardBundle> {
  bundle ??= buildBundle().catch((e: unknown) => {
    bundle = undefined;
    throw e;
  });
  return bundle;
}

async function buildBundle(): Promise<DashboardBundle> {
  const { build } = await import('esbuild'); // loaded only when the page is first asked for
  const result = await build({
    entryPoints: { app: APP_ENTRY },
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    write: false,
    outdir: join(PROJECT_ROOT, 'dashboard-out'), // never written: names the outputs only
    entryNames: '[name]-[hash]',
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const assets = new Map<string, DashboardAsset>();
  let script = '';
  let style = '';
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    const ext = name.slice(name.lastIndexOf('.'));
    const contentType = CONTENT_TYPES[ext];
    if (!contentType) continue;
    const path = `/dashboard/${name}`;
    assets.set(path, { body: file.text, contentType });
    if (ext === '.js') script = path;
    else style = path;
  }
  if (!script || !style) throw new Error('the dashboard bundle has no script or no stylesheet');
  return { assets, script, style };
}

export interface DashboardOptions {
  /** PERSISTED_OPERATIONS is on: the page sends its operations' manifest ids, not their text. */
  readonly persisted: boolean;
  /** API keys are configured: the page shows its API key field. */
  readonly apiKeys: boolean;
  /** What the ids are, plural (DASHBOARD_ENTITY): the page's wording, "Daily active repositories". */
  readonly entity?: string;
  readonly log?: (fields: Record<string, unknown>) => void;
}

/** Text for a double-quoted HTML attribute. */
const attribute = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function dashboardHtml(b: DashboardBundle, o: Pick<DashboardOptions, 'persisted' | 'apiKeys' | 'entity'>): string {
  return `<!doctype html>
<html lang="en" data-persisted="${o.persisted}" data-api-keys="${o.apiKeys}" data-entity="${attribute(o.entity ?? 'users')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bitmapql dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${b.style}">
<script type="module" src="${b.script}"></script>
</head>
<body data-state="loading">
<noscript>The dashboard needs JavaScript. The API is at <a href="/graphql">/graphql</a>.</noscript>
</body>
</html>
`;
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** A yoga plugin serving GET / and GET /dashboard/<asset>; other requests pass through. */
export function dashboard(options: DashboardOptions): Plugin {
  const etag = (text: string): string => `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      const page = url.pathname === '/';
      if (!page && !url.pathname.startsWith('/dashboard/')) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const head = request.method === 'HEAD';
      let b: DashboardBundle;
      try {
        b = await dashboardBundle();
      } catch (e) {
        options.log?.({ level: 'error', msg: 'building the dashboard failed', error: (e as Error)?.message ?? String(e) });
        endResponse(
          new fetchAPI.Response('the dashboard could not be built; the GraphQL API at /graphql is not affected\n', {
            status: 500,
            headers: { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS },
          }),
        );
        return;
      }
      if (page) {
        const html = dashboardHtml(b, options);
        const tag = etag(html);
        const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', etag: tag, ...SECURITY_HEADERS };
        const fresh = request.headers.get('if-none-match') === tag;
        endResponse(new fetchAPI.Response(fresh || head ? null : html, { status: fresh ? 304 : 200, headers }));
        return;
      }
      const asset = b.assets.get(url.pathname);
      if (!asset) {
        endResponse(new fetchAPI.Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS } }));
        return;
      }
      const headers = {
        'content-type': asset.contentType,
        'content-length': String(Buffer.byteLength(asset.body)),
        'cache-control': 'public, max-age=31536000, immutable', // the name holds the content hash
        ...SECURITY_HEADERS,
      };
      endResponse(new fetchAPI.Response(head ? null : asset.body, { status: 200, headers }));
    },
  };
}
