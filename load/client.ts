// The load generator's HTTP client: the bench's keep-alive client (one agent per client, so the
// number of connections is the concurrency), and what counts as a good reply.

import { KeepAliveClient } from '../bench/http-client.ts';
import type { HttpReply } from '../bench/http-client.ts';

export { KeepAliveClient as LoadClient };
export type Reply = HttpReply;

/** True when a reply is HTTP 200 with data and no errors. */
export function isOk(r: Reply): boolean {
  if (r.status !== 200) return false;
  // Cheap check first: an answer with errors always has the "errors" key.
  return !r.body.includes('"errors"') && r.body.includes('"data"');
}
