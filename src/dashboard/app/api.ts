// A tiny typed GraphQL client: POST /graphql (same origin) with a generated document, so the
// result and the variables are typed by the operation. In persisted mode (PERSISTED_OPERATIONS on
// the gateway, announced on <html data-persisted>) the document's manifest id is sent instead of
// its text.

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

export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: VariablesArg<TVariables>
): Promise<TResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  const key = apiKey.get();
  if (key) headers.authorization = `Bearer ${key}`;
  const hash = document.__meta__?.hash as unknown;
  const body =
    persisted() && typeof hash === 'string' ? { documentId: hash, variables: variables ?? {} } : { query: document.toString(), variables: variables ?? {} };
  let res: Response;
  try {
    res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
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
