// Admin deletes: keys found by SCAN (never KEYS) and removed a scan batch at a time by the
// engine (UNLINK in Redis lua mode, DEL in pipeline mode). Each returns how many keys went.

import type { Engine } from './engines/engine.ts';
import type { KeyLayout } from './keys.ts';
import type { Period } from './period.ts';

/** Deletes every key under `prefix` that `keep` accepts, one SCAN batch at a time. */
async function deleteScanned(engine: Engine, prefix: string, keep: (key: string) => boolean = () => true): Promise<number> {
  let deleted = 0;
  for await (const batch of engine.scan(prefix)) {
    const keys = batch.filter(keep);
    if (keys.length) deleted += await engine.delete(keys);
  }
  return deleted;
}

/** The event's keys of one period (a YEAR: its 12 month keys). Only event bitmaps: counters are kept. */
export async function deleteEventPeriod(engine: Engine, layout: KeyLayout, name: string, period: Period): Promise<number> {
  return engine.delete(layout.eventKeys(name, period));
}

/**
 * Every key of the event: hour, day, week and month bitmaps and the date-free `_u` set. The scan
 * of `<prefix><name>_` also finds events named `<name>_more…`, so each key is parsed and kept only
 * when its event name is exactly `name`. Counters of the same name are kept.
 */
export async function deleteEvent(engine: Engine, layout: KeyLayout, name: string): Promise<number> {
  return deleteScanned(engine, `${layout.prefix}${name}_`, (key) => layout.parse(key)?.name === name);
}

/** Temporary result keys (`<prefix>bitop_…`), e.g. left by a crashed gateway; in-flight requests may lose theirs. */
export async function deleteTemporaryKeys(engine: Engine, layout: KeyLayout): Promise<number> {
  return deleteScanned(engine, layout.tempPrefix);
}

/** Everything of the layout: every key under the prefix (events, unique sets, temporary keys) and every counter hash. */
export async function deleteAll(engine: Engine, layout: KeyLayout): Promise<number> {
  return (await deleteScanned(engine, layout.prefix)) + (await deleteScanned(engine, layout.counterPrefix));
}
