// Request body limit: HTTP 413 (code TOO_LARGE) for a body over MAX_BODY_BYTES.
//
// With a Content-Length the header decides at once (Node's parser never delivers more bytes than
// it declares). Without one (Transfer-Encoding: chunked) the body is read here, counting bytes
// as they stream, and refused as soon as the count passes the limit; a body within it is handed
// on as a buffered request. A refusal closes the connection, so the rest is never read.

import type { Plugin } from 'graphql-yoga';

function tooLarge(fetchAPI: { Response: typeof Response }, message: string, limit: number): Response {
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'TOO_LARGE', limit } }] }), {
    status: 413,
    headers: { 'content-type': 'application/json', connection: 'close' },
  });
}

export function bodyLimit(maxBytes: number): Plugin {
  return {
    // Synchronous unless a body without a length has to be read: no promise per ordinary request.
    onRequest({ request, setRequest, endResponse, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        const length = Number(declared);
        if (length > maxBytes) endResponse(tooLarge(fetchAPI, `request body is ${length} bytes; the limit is ${maxBytes}`, maxBytes));
        return;
      }
      if (request.method === 'GET' || request.method === 'HEAD' || !request.body) return;
      return readWithin(request, maxBytes, fetchAPI).then((buffered) => {
        if (buffered) setRequest(buffered);
        else endResponse(tooLarge(fetchAPI, `request body is over ${maxBytes} bytes (the limit)`, maxBytes));
      });
    },
  };
}

/** The request with its body read into memory, or null as soon as the body passes maxBytes. */
async function readWithin(request: Request, maxBytes: number, fetchAPI: { Request: typeof Request }): Promise<Request | null> {
  const reader = request.body!.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal });
}
