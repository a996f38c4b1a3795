// A tiny typed GraphQL client: POST /graphql (same origin) with a generated document, so the
// result and the variables are typed by the operation. In persisted mode (PERSISTED_OPERATIONS on
// the gateway, announced on <html data-persisted>) the document's manifest id is sent instead of
// its text. Subscriptions are the same POST read as a stream of Server-Sent Events: fetch rather
// than EventSource, which can send neither the API key header nor a persisted document's id.

import type { TypedDocumentString } from '../generated/graphql.ts';

export interface GraphQLErrorItem {
  readonly message: string;
  readonly path?: ReadonlyArray<string | number>;
  readonly extensions?: { readonly code?: string; readonly [k: string]: unknown };
}

/** The request failed: GraphQL errors as the gateway sent them (or one made from the HTTP failure). */
export class RequestError extends Error {
  constructor(
    readonly errors: readonly GraphQLErrorItem[],
    readonly status: number,
  ) {
    super(errors.map((e) => (e.extensions?.code ? `${e.message} (${e.extensions.code})` : e.message)).join('; '));
    this.name = 'RequestError';
  }

  /** True when every error is about the API key (none sent, or an unknown one). */
  get needsKey(): boolean {
    return this.errors.length > 0 && this.errors.every((e) => e.extensions?.code === 'UNAUTHENTICATED');
  }
}

const KEY_STORAGE = 'bitmapql.apiKey';

/** The API key kept in localStorage (empty: none). */
export const apiKey = {
  get(): string {
    try {
      return localStorage.getItem(KEY_STORAGE) ?? '';
    } catch {
      return '';
    }
  },
  set(key: string): void {
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
    } catch {
      // storage disabled: the key lasts for this page only
    }
  },
};

const persisted = (): boolean => document.documentElement.dataset.persisted === 'true';

/** No variables argument for operations without variables; required otherwise. */
type VariablesArg<V> = V extends Record<string, never> ? [variables?: V] : [variables: V];

/** The POST of an operation: headers (the API key when there is one) and body (its text or, in persisted mode, its id). */
function post(document: TypedDocumentString<unknown, unknown>, variables: unknown, accept: string): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept };
  const key = apiKey.get();
  if (key) headers.authorization = `Bearer ${key}`;
  const hash = document.__meta__?.hash as unknown;
  const body =
    persisted() && typeof hash === 'string' ? { documentId: hash, variables: variables ?? {} } : { query: document.toString(), variables: variables ?? {} };
  return { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' };
}

export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: VariablesArg<TVariables>
): Promise<TResult> {
  const init = post(document as TypedDocumentString<unknown, unknown>, variables, 'application/graphql-response+json, application/json');
  let res: Response;
  try {
    res = await fetch('/graphql', init);
  } catch (e) {
    throw new RequestError([{ message: `the gateway did not answer: ${(e as Error).message}`, extensions: { code: 'NETWORK' } }], 0);
  }
  let json: { data?: TResult | null; errors?: GraphQLErrorItem[] };
  try {
    json = (await res.json()) as typeof json;
  } catch {
    throw new RequestError([{ message: `HTTP ${res.status} ${res.statusText}: not a GraphQL response`, extensions: { code: `HTTP_${res.status}` } }], res.status);
  }
  if (json.errors?.length) throw new RequestError(json.errors, res.status);
  if (json.data == null) throw new RequestError([{ message: `HTTP ${res.status}: a response without data`, extensions: { code: `HTTP_${res.status}` } }], res.status);
  return json.data;
}

export interface SubscriptionHandlers<TResult> {
  /** Each answer: the first at once, then one whenever a write changes it. */
  next(data: TResult): void;
  /** The stream failed or was refused; it is not retried. */
  error(err: RequestError): void;
}

/**
 * A subscription over GraphQL-over-SSE (distinct connections). Returns a function that closes
 * the stream (the gateway then drops the subscription at once). The stream also ends when the
 * gateway completes it (shutdown): reported as an error, so the page can say it is no longer live.
 */
export function subscribe<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  handlers: SubscriptionHandlers<TResult>,
): () => void {
  const abort = new AbortController();
  const fail = (message: string, code: string, status = 0): void => {
    if (!abort.signal.aborted) handlers.error(new RequestError([{ message, extensions: { code } }], status));
  };
  void (async () => {
    let res: Response;
    try {
      res = await fetch('/graphql', { ...post(document as TypedDocumentString<unknown, unknown>, variables, 'text/event-stream'), signal: abort.signal });
    } catch (e) {
      fail(`the gateway did not answer: ${(e as Error).message}`, 'NETWORK');
      return;
    }
    if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      // A refusal before the stream (bad key, unknown persisted id): a GraphQL response.
      let errors: GraphQLErrorItem[] | undefined;
      try {
        errors = ((await res.json()) as { errors?: GraphQLErrorItem[] }).errors;
      } catch {
        // not JSON
      }
      if (!abort.signal.aborted) handlers.error(new RequestError(errors?.length ? errors : [{ message: `HTTP ${res.status}: not a stream`, extensions: { code: `HTTP_${res.status}` } }], res.status));
      return;
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (event === 'complete') {
            fail('the gateway ended the live stream (it is restarting?): turn Live off and on again', 'LIVE_ENDED');
            await reader.cancel();
            return;
          }
          if (event !== 'next' || !data) continue;
          const json = JSON.parse(data) as { data?: TResult | null; errors?: GraphQLErrorItem[] };
          if (json.errors?.length) {
            if (!abort.signal.aborted) handlers.error(new RequestError(json.errors, res.status));
            abort.abort();
            return;
          }
          if (json.data != null && !abort.signal.aborted) handlers.next(json.data);
        }
      }
      fail('the live stream ended: turn Live off and on again', 'LIVE_ENDED');
    } catch (e) {
      fail(`the live stream broke: ${(e as Error).message}`, 'NETWORK');
    }
  })();
  return () => abort.abort();
}
