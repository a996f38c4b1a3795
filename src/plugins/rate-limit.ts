// Rate limits per caller: a token bucket in memory, checked in onRequest before anything else
// (no body read, no parse, no storage). A caller is the SHA-256 of its Authorization header's
// token when that is an API key, else its client address (the socket's, never a forwarded header).
//
// Every request that reaches this plugin is limited, whatever its path: yoga answers GraphQL on
// many spellings of its endpoint (/graphql/, //graphql, any path ending in /graphql), so a list of
// paths would let a caller step around the limit. What must stay unlimited (/health, /ready,
// /metrics, the dashboard) is answered by plugins placed before this one (see gateway.ts).

import { hashKey } from '../auth.ts';
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';

export interface BucketLimit {
  /** Tokens added per second; 0: no limit. */
  readonly perSecond: number;
  /** Bucket size: requests a caller may send at once (0: one second's worth, at least 1). */
  readonly burst: number;
}

export interface RateLimitOptions {
  /** Callers with an Authorization header. */
  readonly keyed: BucketLimit;
  /** Callers without one, by client address. */
  readonly anonymous: BucketLimit;
  /** The clock, in ms (tests move it). */
  readonly now?: () => number;
  /** Buckets kept at most; full ones are dropped first, then the oldest. */
  readonly maxCallers?: number;
  /**
   * The hex SHA-256 of a presented token when it is a configured API key, else undefined
   * (default: any token is a key). A token that is not counts as anonymous, by client address:
   * rotating made-up tokens buys no fresh buckets.
   */
  readonly keyHash?: (token: string) => string | undefined;
}

export interface Caller {
  readonly kind: 'keyed' | 'anonymous';
  /** `key:<sha256 hex>` or `ip:<address>`. */
  readonly id: string;
}

/** The bearer token (or the whole header when not a bearer one), hashed; else the socket's address. */
export function callerOf(request: Request, serverContext: unknown, keyHash: (token: string) => string | undefined = hashKey): Caller {
  const auth = request.headers.get('authorization');
  if (auth) {
    const m = /^\s*bearer\s+(.+?)\s*$/i.exec(auth);
    const hash = keyHash(m ? m[1]! : auth.trim());
    if (hash) return { kind: 'keyed', id: `key:${hash}` };
  }
  const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
  return { kind: 'anonymous', id: `ip:${req?.socket?.remoteAddress ?? 'unknown'}` };
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;

  constructor(
    readonly limit: BucketLimit,
    private readonly maxCallers = 100_000,
  ) {
    this.capacity = limit.burst > 0 ? limit.burst : Math.max(1, Math.ceil(limit.perSecond));
  }

  get enabled(): boolean {
    return this.limit.perSecond > 0;
  }

  /** Takes one token: 0 when allowed, else the seconds until one is available (≥ 1, whole). */
  take(id: string, now: number): number {
    let b = this.buckets.get(id);
    if (b) {
      b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxCallers) this.sweep(now);
      b = { tokens: this.capacity, at: now };
      this.buckets.set(id, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.limit.perSecond));
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that have refilled (they behave like new ones); if none has, the oldest tenth. */
  private sweep(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.limit.perSecond >= this.capacity) this.buckets.delete(id);
    }
    if (this.buckets.size < this.maxCallers) return;
    let drop = Math.ceil(this.maxCallers / 10);
    for (const id of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(id);
    }
  }
}

/** HTTP 429 with Retry-After and a GraphQL-shaped body (code RATE_LIMITED). */
export function rateLimit(options: RateLimitOptions): Plugin {
  const keyed = new TokenBuckets(options.keyed, options.maxCallers);
  const anonymous = new TokenBuckets(options.anonymous, options.maxCallers);
  const now = options.now ?? Date.now;
  if (!keyed.enabled && !anonymous.enabled) return {};
  return {
    onRequest({ request, serverContext, endResponse, fetchAPI }) {
      const caller = callerOf(request, serverContext, options.keyHash);
      const buckets = caller.kind === 'keyed' ? keyed : anonymous;
      if (!buckets.enabled) return;
      const retryAfter = buckets.take(caller.id, now());
      if (retryAfter === 0) return;
      const { perSecond } = buckets.limit;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [
              {
                message: `too many requests: the limit is ${perSecond} per second (burst ${buckets.limit.burst || Math.max(1, Math.ceil(perSecond))}); retry after ${retryAfter} s`,
                extensions: { code: 'RATE_LIMITED', retryAfter, limit: perSecond },
              },
            ],
          }),
          { status: 429, headers: { 'content-type': 'application/json', 'retry-after': String(retryAfter) } },
        ),
      );
    },
  };
}
