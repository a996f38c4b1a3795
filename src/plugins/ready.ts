// GET /ready: 200 while storage answers, 503 when it does not or the gateway is shutting down (GET /health is yoga's: the process is up).

import type { Plugin } from 'graphql-yoga';
import type { Engine } from '../bitmap/engines/engine.ts';
import type { StorageFullEpisode } from '../observability/storage-full.ts';

export interface ReadinessOptions {
  readonly engine: Engine;
  /** READY_TIMEOUT_MS: storage that has not answered by then is not ready. */
  readonly timeoutMs: number;
  /** True once shutdown starts: load balancers should stop sending. */
  readonly draining: () => boolean;
  /** The storage-full episode under way, or null (asking storage, within the timeout, whether it has room again). */
  readonly storageFull: (timeoutMs: number) => Promise<StorageFullEpisode | null>;
}

/** engine.ready(), or false when it has not answered within `ms`. */
export async function readyWithin(engine: Engine, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([engine.ready().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Storage that is full still answers reads, so /ready stays 200 and the body says `storageFull`:
 * taking every instance out of rotation would turn refused writes into refused reads too.
 */
export function readiness(options: ReadinessOptions): Plugin {
  const json = (body: unknown, status: number, fetchAPI: { Response: typeof Response }): Response =>
    new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/ready') return;
      if (options.draining()) {
        endResponse(json({ ready: false, draining: true }, 503, fetchAPI));
        return;
      }
      const ok = await readyWithin(options.engine, options.timeoutMs); // bounded even when Redis hangs
      const storageFull = ok ? await options.storageFull(options.timeoutMs) : null;
      endResponse(json(storageFull ? { ready: ok, storageFull } : { ready: ok }, ok ? 200 : 503, fetchAPI));
    },
  };
}
