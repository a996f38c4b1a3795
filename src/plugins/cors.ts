// CORS: same-origin unless CORS_ORIGINS lists origins. A listed origin may call the gateway from
// its pages (the Authorization header included) and read the answers; any other origin gets no
// CORS headers at all, so the browser fails its preflight and hides every answer from its page.

/** What yoga's `cors` option takes for one request (@whatwg-node/server's CORSOptions). */
interface CorsAnswer {
  readonly origin: string[];
  readonly methods: string[];
  readonly exposedHeaders: string[];
  readonly credentials: boolean;
  readonly maxAge: number;
}

/** Yoga's `cors` option: false (no CORS headers ever) or the answer per request. */
export function corsFor(origins: readonly string[]): false | ((request: Request) => CorsAnswer | false) {
  if (origins.length === 0) return false;
  const allowed = new Set(origins);
  const answer: CorsAnswer = {
    // The whole list: the response then names the request's own origin (and varies by Origin).
    origin: [...origins],
    methods: ['GET', 'POST'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    // Callers authenticate with a header their page sets, never with cookies or cached HTTP
    // credentials: no Allow-Credentials, so a page cannot read an answer obtained with them.
    credentials: false,
    maxAge: 600,
  };
  // Checked here, not left to the CORS helper: for an unlisted origin it would answer
  // `Access-Control-Allow-Origin: null`, which a sandboxed page's "null" origin matches.
  return (request) => (allowed.has(request.headers.get('origin') ?? '') ? answer : false);
}
