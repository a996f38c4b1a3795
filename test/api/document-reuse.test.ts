// A document sent again is worked out again wherever its answer can differ: what is kept per parsed document (coerced arguments, resolved sets, depths) follows the clock, the variables and new data.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInputObjectType } from 'graphql';
import { schema } from '../../src/schema/index.ts';
import { ENGINES, testGateway } from '../helpers.ts';
import type { TestGateway, TestGatewayOptions } from '../helpers.ts';

// Asia/Kolkata is UTC+05:30: its days start at hh:30 UTC, in the middle of a UTC hour.
const LAST_MINUTE_OF_22ND = Date.parse('2026-11-22T18:29:00Z'); // 23:59 on the 22nd in Kolkata
const FIRST_MINUTE_OF_23RD = Date.parse('2026-11-22T18:30:00Z'); // 00:00 on the 23rd in Kolkata

const DASHBOARD = `{
  today: count(set: { event: { name: "visit", period: { current: DAY } } })
  thisHour: count(set: { event: { name: "visit", period: { current: HOUR } } })
  yesterday: count(set: { event: { name: "visit", period: { ago: { granularity: DAY, periods: 1 } } } })
  lastTwoDays: count(set: { range: { name: "visit", granularity: DAY, last: 2 } })
  has1Today: contains(set: { event: { name: "visit", period: { current: DAY } } }, userId: 1)
  anyToday: hasEvents(set: { event: { name: "visit", period: { current: DAY } } })
  todayPage: members(set: { event: { name: "visit", period: { current: DAY } } }, first: 10) { ids }
}`;

describe.each(ENGINES)('a document sent again (%s engine)', (engine) => {
  const clock: TestGatewayOptions & { now: number } = {
    engine,
    now: LAST_MINUTE_OF_22ND,
    config: { timeZone: 'Asia/Kolkata', maxCost: 40, idMapping: true },
  };
  let t: TestGateway;
  beforeAll(async () => {
    // testGateway reads `now` from this object at every call: moving it moves the gateway's clock.
    t = await testGateway(clock);
  });
  afterAll(() => t.close());

  const mark = async (...ids: number[]): Promise<void> => {
    const r = await t.gql(`mutation { markEvents(input: [${ids.map((id) => `{ name: "visit", userId: ${id}, trackHourly: true }`).join(', ')}]) { marked } }`);
    expect(r.errors).toBeUndefined();
  };

  it('follows the clock: `current`, `ago` and a range ending now move at the zone’s midnight, not at a UTC hour', async () => {
    const day22 = new Set([1, 7]);
    await mark(...day22);
    const before = await t.gql(DASHBOARD);
    expect(before.errors).toBeUndefined();
    expect(before.data).toEqual({
      today: day22.size,
      thisHour: day22.size,
      yesterday: 0,
      lastTwoDays: day22.size,
      has1Today: true,
      anyToday: true,
      todayPage: { ids: [...day22].sort((a, b) => a - b) },
    });

    // One minute later, in the same UTC hour: a new day in Kolkata. The same text again.
    clock.now = FIRST_MINUTE_OF_23RD;
    const empty = await t.gql(DASHBOARD);
    expect(empty.errors).toBeUndefined();
    expect(empty.data).toEqual({
      today: 0,
      thisHour: 0,
      yesterday: day22.size,
      lastTwoDays: day22.size,
      has1Today: false,
      anyToday: false,
      todayPage: { ids: [] },
    });

    const day23 = new Set([2, 7, 9]);
    await mark(...day23);
    const after = await t.gql(DASHBOARD);
    expect(after.errors).toBeUndefined();
    expect(after.data).toEqual({
      today: day23.size,
      thisHour: day23.size,
      yesterday: day22.size,
      lastTwoDays: new Set([...day22, ...day23]).size,
      has1Today: false,
      anyToday: true,
      todayPage: { ids: [...day23].sort((a, b) => a - b) },
    });
  });

  it('reads variables every time, even deep inside a set', async () => {
    clock.now = FIRST_MINUTE_OF_23RD;
    const doc = `query ($day: DateTime!, $other: String!) {
      c: count(set: { or: [
        { event: { name: "visit", period: { at: { granularity: DAY, date: $day } } } },
        { event: { name: $other, period: { current: DAY } } }
      ] })
    }`;
    const day22 = await t.gql(doc, { day: '2026-11-22', other: 'nothing' });
    const day23 = await t.gql(doc, { day: '2026-11-23', other: 'nothing' });
    const again22 = await t.gql(doc, { day: '2026-11-22', other: 'nothing' });
    const withOther = await t.gql(doc, { day: '2026-11-22', other: 'visit' });
    expect([day22, day23, again22, withOther].map((r) => r.errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect([day22.data, day23.data, again22.data, withOther.data]).toEqual([{ c: 2 }, { c: 3 }, { c: 2 }, { c: new Set([1, 7, 2, 9]).size }]);
  });

  it('prices every request from its own variables (MAX_COST 40), and refuses a costly literal each time', async () => {
    const doc = 'query ($n: Int!) { c: count(set: { range: { name: "visit", granularity: DAY, last: $n } }) }';
    const outcomes: unknown[] = [];
    for (const n of [2, 41, 2, 41]) {
      const r = await t.gql(doc, { n });
      outcomes.push(r.errors ? r.errors[0]?.extensions?.code : r.data);
    }
    const lastTwoDays = { c: new Set([1, 7, 2, 9]).size };
    expect(outcomes).toEqual([lastTwoDays, 'TOO_COMPLEX', lastTwoDays, 'TOO_COMPLEX']);
    const literal = '{ c: count(set: { range: { name: "visit", granularity: DAY, last: 41 } }) }';
    for (let i = 0; i < 2; i++) expect((await t.gql(literal)).errors?.[0]?.extensions?.code).toBe('TOO_COMPLEX');
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('refuses a request over MAX_COST from its own variables before any storage call, each time', async () => {
    // contains with an external id looks the id up first: a refusal after the lookup would show.
    let lookups = 0;
    const resolveIds = t.engine.resolveIds.bind(t.engine);
    t.engine.resolveIds = (...args) => {
      lookups++;
      return resolveIds(...args);
    };
    try {
      const doc = 'query ($n: Int!) { c: contains(set: { range: { name: "visit", granularity: DAY, last: $n } }, externalId: "nobody") }';
      const outcomes: unknown[] = [];
      const lookupsAfter: number[] = [];
      for (const n of [2, 41, 2, 41]) {
        const r = await t.gql(doc, { n });
        outcomes.push(r.errors ? r.errors[0]?.extensions?.code : r.data);
        lookupsAfter.push(lookups);
      }
      expect(outcomes).toEqual([{ c: false }, 'TOO_COMPLEX', { c: false }, 'TOO_COMPLEX']);
      expect(lookupsAfter).toEqual([1, 1, 2, 2]);
    } finally {
      t.engine.resolveIds = resolveIds;
    }
  });

  it('refuses an over-deep document every time it is sent, and still answers', async () => {
    let set = '{ event: { name: "visit", period: { current: DAY } } }';
    for (let i = 0; i < 80; i++) set = `{ and: [${set}] }`;
    for (let i = 0; i < 2; i++) expect((await t.gql(`{ c: count(set: ${set}) }`)).errors?.[0]?.extensions?.code).toBe('TOO_COMPLEX');
    expect((await t.gql('{ c: count(set: { event: { name: "visit", period: { current: DAY } } }) }')).data).toEqual({ c: 3 });
  });

  it('refuses an input field named like an Object.prototype member, as any unknown field', async () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const r = await t.gql(`{ c: count(set: { event: { name: "visit", ${name}: 1, period: { current: DAY } } }) }`);
      expect(r.errors?.[0]?.extensions?.code, name).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(r.errors?.[0]?.message, name).toContain(`"${name}" is not defined by type "EventSet"`);
    }
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});

describe('input types’ field maps', () => {
  it('hold their own fields only, as graphql-js’s own maps do: nothing inherited', () => {
    const inputs = Object.values(schema.getTypeMap()).filter(isInputObjectType);
    expect(inputs.map((i) => i.name)).toContain('SetExpr');
    for (const type of inputs) {
      const fields = type.getFields();
      for (const name of Object.keys(fields)) expect(fields[name]?.name).toBe(name);
      for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
        expect(name in fields, `${type.name}.${name}`).toBe(false);
        expect((fields as Record<string, unknown>)[name], `${type.name}.${name}`).toBeUndefined();
      }
    }
  });
});
