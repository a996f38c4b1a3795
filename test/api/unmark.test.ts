// unmarkEvent clears what markEvent sets (day, ISO week, month, and hour/unique when asked), as bitmapist's unmark_event: as the README says.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../assertions.ts';
import { ENGINES, testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe.each(ENGINES)('unmarkEvent (%s engine)', (engine) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine, now: NOW });
  });
  afterAll(() => t.close());

  const membership = async (user: number): Promise<Record<string, boolean>> => {
    const at = (g: string, date: string): string => `{ event: { name: "active", period: { at: { granularity: ${g}, date: "${date}" } } } }`;
    return ok(
      await t.gql<Record<string, boolean>>(`{
        day20: contains(set: ${at('DAY', '2026-11-20')}, userId: ${user})
        day22: contains(set: ${at('DAY', '2026-11-22')}, userId: ${user})
        hour: contains(set: ${at('HOUR', '2026-11-22T09')}, userId: ${user})
        week: contains(set: ${at('WEEK', '2026-W47')}, userId: ${user})
        month: contains(set: ${at('MONTH', '2026-11')}, userId: ${user})
        unique: contains(set: { unique: "active" }, userId: ${user})
      }`),
    );
  };

  it('takes the user out of that week and month even if other days of them put the user there', async () => {
    ok(
      await t.gql(`mutation { markEvents(input: [
        { name: "active", userId: 123, at: "2026-11-20T10:00:00Z" }
        { name: "active", userId: 123, at: "2026-11-22T09:05:00Z", trackHourly: true, trackUnique: true }
        { name: "active", userId: 7, at: "2026-11-22T09:30:00Z", trackHourly: true, trackUnique: true }
      ]) { marked } }`),
    );
    expect(await membership(123)).toEqual({ day20: true, day22: true, hour: true, week: true, month: true, unique: true });

    const r = ok(
      await t.gql(`mutation { unmarkEvent(input: { name: "active", userId: 123, at: "2026-11-22T09:05:00Z", trackHourly: true, trackUnique: true }) { marked } }`),
    );
    expect(r).toEqual({ unmarkEvent: { marked: 1 } });
    // Only the 20th's own key still holds 123; another user's bits are untouched.
    expect(await membership(123)).toEqual({ day20: true, day22: false, hour: false, week: false, month: false, unique: false });
    expect(await membership(7)).toEqual({ day20: false, day22: true, hour: true, week: true, month: true, unique: true });

    // The README's remedy: mark the other days again.
    ok(await t.gql(`mutation { markEvents(input: [{ name: "active", userId: 123, at: "2026-11-20T10:00:00Z" }]) { marked } }`));
    expect(await membership(123)).toEqual({ day20: true, day22: false, hour: false, week: true, month: true, unique: false });
  });

  it('without trackHourly/trackUnique leaves the hour and unique keys (the gateway defaults are off)', async () => {
    ok(await t.gql(`mutation { markEvent(input: { name: "active", userId: 9, at: "2026-11-22T09:10:00Z", trackHourly: true, trackUnique: true }) { marked } }`));
    ok(await t.gql(`mutation { unmarkEvent(input: { name: "active", userId: 9, at: "2026-11-22T09:10:00Z" }) { marked } }`));
    expect(await membership(9)).toEqual({ day20: false, day22: false, hour: true, week: false, month: false, unique: true });
  });
});
