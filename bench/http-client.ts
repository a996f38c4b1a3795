// A lean HTTP/1.1 keep-alive client (node:http), so the gateway rows time the gateway rather than
// the client library: undici's fetch adds about 0.8 ms per request on this machine.

import http from 'node:http';

export interface HttpReply {
  status: number;
  body: string;
}

/** POSTs JSON over keep-alive connections (as many as `connections`) to one loopback URL. */
export class KeepAliveClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    url: string,
    connections = 4,
    private readonly headers: Record<string, string> = {},
  ) {
    this.url = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(this.url.hostname)) {
      throw new Error(`only loopback addresses are load-tested or benchmarked, not ${this.url.hostname}`);
    }
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  post(body: string): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json',
            'content-length': Buffer.byteLength(body),
            ...this.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const clients = new Map<string, KeepAliveClient>();

export function postJson(url: string, body: string): Promise<HttpReply> {
  let client = clients.get(url);
  if (!client) clients.set(url, (client = new KeepAliveClient(url)));
  return client.post(body);
}

/** POSTs a GraphQL document; resolves to `data`, or throws with the errors. */
export async function graphql(url: string, body: string, who: string): Promise<Record<string, unknown>> {
  const res = await postJson(url, body);
  const json = JSON.parse(res.body) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string }> };
  if (res.status !== 200 || json.errors?.length || !json.data) {
    throw new Error(`${who}: HTTP ${res.status}: ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
  }
  return json.data;
}
