// The reference for questions asked in a time zone: local dates from Intl, ISO weeks and months
// by plain arithmetic, sets of ids; marks sent through the API; a subscription's events.

import type { TestGateway } from '../helpers.ts';
import { ok } from '../assertions.ts';

export const HOUR = 3_600_000;
export const DAY_MS = 24 * HOUR;
const MARKS = 'mutation($in: [MarkEventInput!]!) { markEvents(input: $in) { marked } }';

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** The local date (YYYY-MM-DD) of an instant in a zone. */
export function localDay(ms: number, zone: string): string {
  let f = dayFormats.get(zone);
  if (!f) dayFormats.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(ms);
}
const pad = (n: number): string => String(n).padStart(2, '0');
/** ISO week label of a date (YYYY-MM-DD): the week-year is the year of its Thursday. */
export function isoWeekOf(date: string): string {
  const day = Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
  const thursday = day - ((day + 3) % 7) + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const week = Math.floor((thursday - Math.floor(Date.UTC(year, 0, 1) / DAY_MS)) / 7) + 1;
  return `${year}-W${pad(week)}`;
}
export type G = 'DAY' | 'WEEK' | 'MONTH';
/** The label of the period of granularity `g` holding a date. */
export const labelOfDate = (g: G, d: string): string => (g === 'DAY' ? d : g === 'WEEK' ? isoWeekOf(d) : d.slice(0, 7));
/** The label of the local period of granularity `g` holding an instant. */
export const localLabel = (g: G, ms: number, zone: string): string => labelOfDate(g, localDay(ms, zone));

export interface Mark {
  name: string;
  userId: number;
  ms: number;
}
/** Users of `name` marked in the local period labelled `label`. */
export function users(marks: readonly Mark[], name: string, g: G, label: string, zone: string): Set<number> {
  return new Set(marks.filter((m) => m.name === name && localLabel(g, m.ms, zone) === label).map((m) => m.userId));
}

/** Sends the marks through markEvents, with the given tracking flags on each. */
export async function markAll(g: TestGateway, marks: readonly Mark[], flags: { trackHourly?: boolean; trackMinutely?: boolean }): Promise<void> {
  const input = marks.map((m) => ({ name: m.name, userId: m.userId, at: new Date(m.ms).toISOString(), ...flags }));
  ok(await g.gql(MARKS, { in: input }));
}

/** The `next` payloads of a subscription's event stream, as they come. */
export async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (/^event: next$/m.test(block)) {
        yield JSON.parse(block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'));
      }
    }
  }
}
