// A lean keep-alive HTTP/1.1 client for the load generator (node:http, one agent per client, so
// the number of connections is the concurrency): times each request, counts errors.

import http from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

export class LoadClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;

  constructor(
    url: string,
    connections: number,
    private readonly headers: Record<string, string> = {},
  ) {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '[::1]') {
      throw new Error(`the load generator only talks to loopback addresses, not ${u.hostname}`);
    }
    this.host = u.hostname;
    this.port = Number(u.port);
    this.path = u.pathname;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  post(body: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          path: this.path,
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

/** True when a reply is HTTP 200 with data and no errors. */
export function isOk(r: Reply): boolean {
  if (r.status !== 200) return false;
  // Cheap check first: an answer with errors always has the "errors" key.
  return !r.body.includes('"errors"') && r.body.includes('"data"');
}
