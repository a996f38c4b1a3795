// Distinct time zones in one request (MAX_TIME_ZONES): counted from the document before any field
// is priced, so a thousand aliases each in its own zone, or its own spelling of one, is refused
// instead of blocking the event loop while each new zone is worked out (about 15 ms each: 900
// spellings of America/New_York held /health for 8.6 s before). Spellings of one zone share what
// is worked out for it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeZone } from '../../src/bitmap/period.ts';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-22T09:05:00Z');

/** `n` spellings of a zone name, each with its own mix of capitals. */
function spellings(name: string, n: number): string[] {
  const out: string[] = [];
  for (let m = 0; out.length < n; m++) out.push([...name].map((c, i) => ((m >> i) & 1 ? c.toUpperCase() : c.toLowerCase())).join(''));
  return out;
}

const counts = (zones: string[]): string => `{ ${zones.map((z, i) => `a${i}: count(set: { ids: [1, 2, 3] }, timeZone: ${JSON.stringify(z)})`).join(' ')} }`;

describe('MAX_TIME_ZONES', () => {
  let t: TestGateway;
  const healthy = async (): Promise<boolean> => (await t.gateway.yoga.fetch('http://yoga/health')).status === 200;

  beforeAll(async () => {
    t = await testGateway({ engine: 'embedded', now: NOW });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('defaults to 10', () => {
    expect(t.config.maxTimeZones).toBe(10);
  });

  it('1000 aliases, each a spelling of America/New_York of its own: TOO_COMPLEX at the 11th, the gateway still answers', async () => {
    const r = await t.gql(counts(spellings('america/new_york', 1000)));
    expect(r.data).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0]!.extensions).toMatchObject({ code: 'TOO_COMPLEX', timeZones: 11, limit: 10 });
    expect(r.errors![0]!.path).toEqual(['a10']);
    expect(await healthy()).toBe(true);
    expect(await t.gql('{ count(set: { ids: [4, 5] }) }')).toEqual({ data: { count: 2 } });
  });

  it('ten distinct zones (and the same zone again under other aliases) answer', async () => {
    const zones = Intl.supportedValuesOf('timeZone').slice(0, 10);
    const r = await t.gql(counts([...zones, ...zones]));
    expect(r.errors).toBeUndefined();
    expect(Object.values(r.data!)).toEqual(Array.from({ length: 20 }, () => 3));
  });

  it('zones given in variables and through fragments count the same', async () => {
    const zones = Intl.supportedValuesOf('timeZone').slice(20, 31);
    const vars = Object.fromEntries(zones.map((z, i) => [`z${i}`, z]));
    const query = `query (${zones.map((_, i) => `$z${i}: String`).join(', ')}) { ...F } fragment F on Query { ${zones.map((_, i) => `a${i}: hasEvents(set: { ids: [1] }, timeZone: $z${i})`).join(' ')} }`;
    const r = await t.gql(query, vars);
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['TOO_COMPLEX']);
    expect(r.errors![0]!.extensions).toMatchObject({ timeZones: 11, limit: 10 });
  });

  it('MAX_TIME_ZONES=0 turns it off; spellings of one zone are then one zone to work out', async () => {
    const u = await testGateway({ engine: 'embedded', now: NOW, config: { maxTimeZones: 0 } });
    try {
      const r = await u.gql(counts(spellings('asia/tokyo', 300)));
      expect(r.errors).toBeUndefined();
      expect(Object.values(r.data!)).toEqual(Array.from({ length: 300 }, () => 3));
    } finally {
      await u.close();
    }
  });
});

describe("a time zone's id", () => {
  it('is the name Intl knows, whatever the spelling', () => {
    for (const s of spellings('america/new_york', 8)) expect(new TimeZone(s).id).toBe('America/New_York');
    expect(new TimeZone('UTC').id).toBe('UTC');
    expect(new TimeZone('utc').id).toBe('UTC');
  });

  it('keeps the name as asked', () => {
    expect(new TimeZone('asia/TOKYO').name).toBe('asia/TOKYO');
  });

  it("spellings of a zone share its wall-clock fields (one cache a zone, not one a spelling), which are Intl's", () => {
    const zones = spellings('america/new_york', 6).map((s) => new TimeZone(s));
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    for (let i = 0; i < 200; i++) {
      const ms = Date.UTC(2026, 0, 1) + i * 86_400_000 * 1.7;
      const first = zones[0]!.civil(ms);
      for (const z of zones) expect(z.civil(ms)).toBe(first); // the same object: one cache
      const f = Object.fromEntries(parts.formatToParts(new Date(ms)).map((p) => [p.type, Number(p.value)]));
      expect([first.year, first.month, first.day, first.hour, first.minute]).toEqual([f.year, f.month, f.day, f.hour, f.minute]);
    }
    // A fresh zone (a sweep of instants no request asks about) keeps its own.
    const ms = Date.UTC(2026, 5, 1);
    expect(new TimeZone('America/New_York', true).civil(ms)).not.toBe(zones[0]!.civil(ms));
    expect(new TimeZone('America/New_York', true).civil(ms)).toEqual(zones[0]!.civil(ms));
  });
});
