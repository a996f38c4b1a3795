// Admin mutations on both engines: exactly which keys (bitmapist layout) remain after each delete
// and the counts returned; deleteAll's confirmation; and, on Redis, SCAN + UNLINK (lua mode) or
// SCAN + DEL (pipeline mode), never KEYS.

import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashKey, newKey } from '../../src/auth.ts';
import { ok } from '../assertions.ts';
import { ENGINES, redisUrl, testGateway } from '../helpers.ts';
import type { EngineKind, GqlResult, TestGateway } from '../helpers.ts';
import type { RedisMode } from '../../src/bitmap/engines/redis.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');
const ADMIN_KEY = newKey();
const WRITER_KEY = newKey();
const apiKeys = [
  { name: 'ops', sha256: hashKey(ADMIN_KEY), scopes: ['admin' as const] },
  { name: 'app', sha256: hashKey(WRITER_KEY), scopes: ['read' as const, 'write' as const] },
];
const asAdmin = { authorization: `Bearer ${ADMIN_KEY}` };
const asWriter = { authorization: `Bearer ${WRITER_KEY}` };

/** Marks in November and October 2026, hourly and unique, for `active`, and for events whose names start with `active_`. */
const SEED = `mutation { markEvents(input: [
  { name: "active", userId: 1, trackHourly: true, trackUnique: true }
  { name: "active", userId: 2, at: "2026-10-05T12:00:00Z", trackHourly: true, trackUnique: true }
  { name: "active_more", userId: 1, trackHourly: true, trackUnique: true }
  { name: "active_2026-11", userId: 3 }
  { name: "other", userId: 4 }
]) { marked } }`;

/** The keys SEED writes, without the prefix (bitmapist's layout: month, ISO week, day, hour, _u). */
const ACTIVE_NOV = ['active_2026-11', 'active_W2026-47', 'active_2026-11-22', 'active_2026-11-22-9'];
const ACTIVE_OCT = ['active_2026-10', 'active_W2026-41', 'active_2026-10-5', 'active_2026-10-5-12'];
const ACTIVE = [...ACTIVE_NOV, ...ACTIVE_OCT, 'active_u'];
const OTHERS = [
  'active_more_2026-11',
  'active_more_W2026-47',
  'active_more_2026-11-22',
  'active_more_2026-11-22-9',
  'active_more_u',
  'active_2026-11_2026-11',
  'active_2026-11_W2026-47',
  'active_2026-11_2026-11-22',
  'other_2026-11',
  'other_W2026-47',
  'other_2026-11-22',
];
const TEMP = ['bitop_leftover1', 'bitop_leftover2'];

const sorted = (keys: string[]): string[] => [...keys].sort();

describe.each(ENGINES)('admin mutations (%s engine)', (engine: EngineKind) => {
  let t: TestGateway;
  /** Counter hashes of `active` (hour, day, week, month), full names. */
  let counterKeys: string[];
  const full = (names: string[]): string[] => names.map((n) => `${t.prefix}${n}`);
  const admin = (query: string, variables?: Record<string, unknown>): Promise<GqlResult> => t.gql(query, variables, asAdmin);

  beforeEach(async () => {
    t = await testGateway({ engine, now: NOW, config: { apiKeys, anonymousRead: false } });
    ok(await t.gql(SEED, undefined, asWriter));
    ok(await t.gql('mutation { incrementCounter(name: "active", key: "song-1", by: 3) { incremented } }', undefined, asWriter));
    // Temporary keys a crashed gateway could leave behind.
    await t.engine.write(TEMP.map((n, i) => ({ key: `${t.prefix}${n}`, offset: i, bit: 1 as const })));
    counterKeys = (await t.keys()).filter((k) => k.startsWith(t.gateway.services.layout.counterPrefix));
    expect(counterKeys).toHaveLength(4);
    expect(await t.keys()).toEqual(sorted([...full([...ACTIVE, ...OTHERS, ...TEMP]), ...counterKeys]));
  });
  afterEach(async () => {
    await t.close();
  });

  it('deleteEventPeriod: the one key of a DAY, WEEK, HOUR or MONTH; 0 when already gone', async () => {
    const del = (period: string): Promise<GqlResult> => admin(`mutation { deleteEventPeriod(name: "active", period: ${period}) { deleted } }`);
    expect(ok(await del('{ at: { granularity: DAY, date: "2026-11-22" } }'))).toEqual({ deleteEventPeriod: { deleted: 1 } });
    expect(ok(await del('{ current: DAY }'))).toEqual({ deleteEventPeriod: { deleted: 0 } });
    expect(ok(await del('{ ago: { granularity: WEEK, periods: 0 } }'))).toEqual({ deleteEventPeriod: { deleted: 1 } });
    expect(ok(await del('{ at: { granularity: HOUR, date: "2026-10-05T12:30:00Z" } }'))).toEqual({ deleteEventPeriod: { deleted: 1 } });
    const gone = ['active_2026-11-22', 'active_W2026-47', 'active_2026-10-5-12'];
    expect(await t.keys()).toEqual(sorted([...full([...ACTIVE.filter((k) => !gone.includes(k)), ...OTHERS, ...TEMP]), ...counterKeys]));
  });

  it('deleteEventPeriod: a YEAR is its 12 month keys (days, weeks, hours and _u stay)', async () => {
    const r = await admin('mutation { deleteEventPeriod(name: "active", period: { at: { granularity: YEAR, date: "2026-06-01" } }) { deleted } }');
    expect(ok(r)).toEqual({ deleteEventPeriod: { deleted: 2 } });
    const gone = ['active_2026-11', 'active_2026-10'];
    expect(await t.keys()).toEqual(sorted([...full([...ACTIVE.filter((k) => !gone.includes(k)), ...OTHERS, ...TEMP]), ...counterKeys]));
  });

  it('deleteEvent: every key of the event, hour to month and _u; events named active_… and counters stay', async () => {
    expect(ok(await admin('mutation { deleteEvent(name: "active") { deleted } }'))).toEqual({ deleteEvent: { deleted: ACTIVE.length } });
    expect(await t.keys()).toEqual(sorted([...full([...OTHERS, ...TEMP]), ...counterKeys]));
    expect(ok(await admin('mutation { deleteEvent(name: "active") { deleted } }'))).toEqual({ deleteEvent: { deleted: 0 } });
    // The event is gone from the API too; its neighbours are not.
    const events = ok(await t.gql('{ events(prefix: "act") { name } }', undefined, asWriter)) as { events: Array<{ name: string }> };
    expect(events.events.map((e) => e.name)).toEqual(['active_2026-11', 'active_more']);
  });

  it('deleteEvent of a name with an underscore leaves the shorter name alone', async () => {
    expect(ok(await admin('mutation { deleteEvent(name: "active_2026-11") { deleted } }'))).toEqual({ deleteEvent: { deleted: 3 } });
    const gone = ['active_2026-11_2026-11', 'active_2026-11_W2026-47', 'active_2026-11_2026-11-22'];
    expect(await t.keys()).toEqual(sorted([...full([...ACTIVE, ...OTHERS.filter((k) => !gone.includes(k)), ...TEMP]), ...counterKeys]));
  });

  it('deleteTemporaryKeys: only <prefix>bitop_ keys', async () => {
    expect(ok(await admin('mutation { deleteTemporaryKeys { deleted } }'))).toEqual({ deleteTemporaryKeys: { deleted: 2 } });
    expect(await t.keys()).toEqual(sorted([...full([...ACTIVE, ...OTHERS]), ...counterKeys]));
  });

  it('deleteAll: refuses without the prefix as confirmation, then deletes every key and counter', async () => {
    const before = await t.keys();
    for (const confirm of ['', 'yes', 'trackist_', t.prefix.slice(0, -1)]) {
      const r = await admin('mutation($c: String!) { deleteAll(confirm: $c) { deleted } }', { c: confirm });
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(r)).toBe('BAD_INPUT');
      expect(r.errors![0]!.message).toContain(`pass confirm: "${t.prefix}"`);
    }
    expect(await t.keys()).toEqual(before);
    const r = await admin('mutation($c: String!) { deleteAll(confirm: $c) { deleted } }', { c: t.prefix });
    expect(ok(r)).toEqual({ deleteAll: { deleted: before.length } });
    expect(await t.keys()).toEqual([]);
  });

  it('a bad event name or period is refused before anything is deleted', async () => {
    const before = await t.keys();
    const bad = await admin('mutation { deleteEvent(name: "act*") { deleted } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_EVENT_NAME');
    const badPeriod = await admin('mutation { deleteEventPeriod(name: "active", period: { ago: { granularity: DAY, periods: -1 } }) { deleted } }');
    expect(badPeriod.errors?.[0]?.extensions?.code).toBe('BAD_INPUT');
    expect(await t.keys()).toEqual(before);
  });
});

describe.each<RedisMode>(['lua', 'pipeline'])('admin deletes on Redis (%s mode): SCAN and UNLINK (lua) or DEL (pipeline), never KEYS', (mode) => {
  let t: TestGateway;
  let monitor: Redis;
  /** Commands that mention this gateway's prefix (or its counter prefix), as [name, ...args]. */
  const seen: string[][] = [];

  beforeEach(async () => {
    t = await testGateway({ engine: 'redis', redisMode: mode, now: NOW, config: { apiKeys, anonymousRead: false } });
    ok(await t.gql(SEED, undefined, asWriter));
    await t.engine.write(TEMP.map((n, i) => ({ key: `${t.prefix}${n}`, offset: i, bit: 1 as const })));
    const raw = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
    monitor = await raw.monitor();
    raw.disconnect();
    seen.length = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(t.prefix.slice(0, -1)))) seen.push([args[0]!.toUpperCase(), ...args.slice(1)]);
    });
  });
  afterEach(async () => {
    monitor.disconnect();
    await t.close();
  });

  it('every delete', async () => {
    ok(await t.gql('mutation { deleteEventPeriod(name: "active", period: { current: MONTH }) { deleted } }', undefined, asAdmin));
    ok(await t.gql('mutation { deleteEvent(name: "active") { deleted } }', undefined, asAdmin));
    ok(await t.gql('mutation { deleteTemporaryKeys { deleted } }', undefined, asAdmin));
    ok(await t.gql('mutation($c: String!) { deleteAll(confirm: $c) { deleted } }', { c: t.prefix }, asAdmin));
    expect(await t.keys()).toEqual([]);
    await new Promise((r) => setTimeout(r, 100)); // MONITOR lines arrive asynchronously
    const names = new Set(seen.map((c) => c[0]));
    expect(names.has('KEYS')).toBe(false);
    expect(names.has('SCAN')).toBe(true);
    const deleter = mode === 'lua' ? 'UNLINK' : 'DEL';
    const other = mode === 'lua' ? 'DEL' : 'UNLINK';
    expect(names.has(deleter)).toBe(true);
    expect(names.has(other)).toBe(false);
    // The SCAN patterns: the event's keys, the temporary keys, everything under the prefix, counters.
    const patterns = seen.filter((c) => c[0] === 'SCAN').map((c) => c[c.indexOf('MATCH') + 1]);
    expect(new Set(patterns)).toEqual(
      new Set([`${t.prefix}active_*`, `${t.prefix}bitop_*`, `${t.prefix}*`, `${t.gateway.services.layout.counterPrefix}*`]),
    );
  });
});
