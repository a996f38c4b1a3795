// Storage refusing writes for lack of space, as one episode: its start and end logged once each, and
// what /ready and the bitmapql_storage_full metric show meanwhile.

import { BitmapError } from '../bitmap/errors.ts';
import type { Engine } from '../bitmap/engines/engine.ts';
import type { LogFn } from './request-log.ts';

/** Storage refusing writes for lack of space: from the first STORAGE_FULL to the first write it accepts again. */
export interface StorageFullEpisode {
  /** When the first refusal came (ISO-8601). */
  readonly since: string;
  /** Storage calls refused so far. */
  refused: number;
  /** The first refusal's message (what filled up). */
  readonly reason: string;
}

/** Calls whose success proves storage has room again (Redis lets DEL through at maxmemory; reads need none). */
const ROOM_PROVING = new Set(['write', 'increment', 'restore', 'restoreIds']);

export const isStorageFull = (e: unknown): e is BitmapError => e instanceof BitmapError && e.code === 'STORAGE_FULL';

export class StorageFullWatch {
  /** Logged once when it starts and once when it ends, however many requests it refuses. */
  private full: StorageFullEpisode | null = null;

  /** `engine` is asked (acceptsWrites) whether it has room again; `log` gets the episode's two lines. */
  constructor(
    private readonly engine: Engine,
    private readonly log: LogFn,
  ) {}

  /** A storage call `method` ended: successfully (`error` undefined) or with `error`. */
  settled(method: string, error?: unknown): void {
    if (error === undefined) {
      if (this.full && ROOM_PROVING.has(method)) this.hasRoom();
    } else if (isStorageFull(error)) {
      this.refused(error);
    }
  }

  /**
   * The episode under way, or null. While one lasts this asks the engine whether it has room
   * again (a write that stores nothing), bounded by `timeoutMs`, so /ready and the metric see the
   * end of an episode even when no write comes.
   */
  async current(timeoutMs = 1000): Promise<StorageFullEpisode | null> {
    if (!this.full || !this.engine.acceptsWrites) return this.full;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      const room = await Promise.race([this.engine.acceptsWrites().catch(() => undefined), timeout]);
      if (room) this.hasRoom();
    } finally {
      clearTimeout(timer);
    }
    return this.full;
  }

  private refused(e: BitmapError): void {
    if (this.full) {
      this.full.refused++;
      return;
    }
    this.full = { since: new Date().toISOString(), refused: 1, reason: e.message };
    this.log({ level: 'error', msg: 'storage full: writes are refused until there is room again', engine: this.engine.kind, reason: e.message });
  }

  private hasRoom(): void {
    const episode = this.full;
    if (!episode) return;
    this.full = null;
    const seconds = Math.round((Date.now() - Date.parse(episode.since)) / 100) / 10;
    this.log({ level: 'warn', msg: 'storage accepts writes again', engine: this.engine.kind, since: episode.since, seconds, refused: episode.refused });
  }
}
