// Cross-site request forgery: a GraphQL POST that any web page could send without a CORS
// preflight (an HTML form, or fetch in no-cors mode) must carry a header only a preflight allows.
//
// Browsers skip the preflight only for the form content types (form-urlencoded, multipart,
// text/plain) with no custom headers; such a request from a foreign page would run, with the
// user's network position, even though its page cannot read the answer. JSON posts always get a
// preflight, which CORS (CORS_ORIGINS, default same-origin) refuses for a foreign page. GET is
// left alone: yoga runs no mutation over GET (405).
//
// Like @graphql-yoga/plugin-csrf-prevention, but GET queries keep working without a header and the
// refusal carries a code and says what to send.

import { createGraphQLError } from 'graphql-yoga';
import type { Plugin } from 'graphql-yoga';

/** Headers a page can set only after a passed preflight (yoga's and Apollo's names). */
export const PREFLIGHT_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name'] as const;

const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

/** The media type as a browser judges it: before any parameter, lowercased (yoga also cuts at a comma). */
function essence(contentType: string | null): string {
  return (contentType ?? '').split(',')[0]!.split(';')[0]!.trim().toLowerCase();
}

export function csrfPrevention(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST' || !SIMPLE_TYPES.has(essence(request.headers.get('content-type')))) return;
      if (PREFLIGHT_HEADERS.some((h) => request.headers.has(h))) return;
      throw createGraphQLError(
        `a ${essence(request.headers.get('content-type'))} request needs a header that forces a CORS preflight: send application/json, or add "x-graphql-yoga-csrf: 1" (or "apollo-require-preflight: true")`,
        { extensions: { code: 'CSRF_PREFLIGHT_REQUIRED', http: { status: 403 } } },
      );
    },
  };
}
