// The line parser against hand-written lines: what each line marks and counts, in which hour and
// under which id, the reason and line number of every line it skips, and of every template that
// misses a line the other templates are filled from.

import { describe, expect, it } from 'vitest';
import { bitmapistLayout } from '../../src/bitmap/keys.ts';
import { TimeZone } from '../../src/bitmap/period.ts';
import { BatchBuilder } from '../../src/import/batch.ts';
import { LineParser, NO_ID } from '../../src/import/parse.ts';
import type { ParsedBatch } from '../../src/import/parse.ts';
import type { ImportSpec } from '../../src/import/spec.ts';
import { LineClock } from '../../src/import/time.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const T = '2026-10-05T09:15:00Z';
/** Hours since 1970 of 2026-10-05T09 UTC. */
const H9 = Date.UTC(2026, 9, 5, 9) / HOUR;

const SPEC: ImportSpec = {
  timestamp: 'ts',
  id: 'user',
  numericIds: false,
  marks: ['launch', 'launch:{provider}'],
  counts: { launches: '{origin}' },
  where: {},
};

function parser(spec: ImportSpec, known: Record<string, number> = {}, zone = 'UTC'): LineParser {
  const builder = new BatchBuilder(bitmapistLayout(), { hourly: false, unique: false });
  return new LineParser(spec, new LineClock(new TimeZone(zone)), builder, (s) => known[s]);
}

const parse = (p: LineParser, rows: Array<string | object>, firstLine = 1): ParsedBatch =>
  p.parse({ lines: rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))), firstLine, last: true });

/** The lines with a time and an id as plain values: [hour, id, mark names, counted keys], null where a template misses. */
function imported(p: LineParser, b: ParsedBatch): Array<[number, string | number, Array<string | null>, Array<string | null>]> {
  const M = p.marksPerLine;
  const C = p.countsPerLine;
  return b.minutes.map((m, i) => [
    Math.floor(m / 60),
    b.ids[i]!,
    b.lineMarks.slice(i * M, (i + 1) * M).map((t) => t?.name ?? null),
    b.lineCounts.slice(i * C, (i + 1) * C),
  ]);
}

describe('LineParser', () => {
  it('turns good lines into an hour, an id, the filled mark names and counted keys', () => {
    const p = parser(SPEC, { bob: 17 });
    expect(p.marksPerLine).toBe(2);
    expect(p.countsPerLine).toBe(1);
    expect(p.counters.map((c) => c.name)).toEqual(['launches']);
    const b = parse(p, [
      { ts: T, user: 'alice', provider: 'GitHub', origin: 'a.org' },
      // A string id the import has resolved already comes out as its dense id.
      { ts: T, user: 'bob', provider: 'GitLab', origin: 'b.org' },
      // Numbers and booleans fill templates and string ids as text.
      { ts: '2026-10-05T11:59:59.999+02:00', user: 42, provider: true, origin: 7 },
      // Epoch milliseconds; the next hour.
      { ts: Date.UTC(2026, 9, 5, 10, 0, 0), user: 'alice', provider: 'Zenodo', origin: 'a.org' },
    ]);
    expect(b.skips).toEqual([]);
    expect(b.misses).toEqual([]);
    expect(b.lines).toEqual([1, 2, 3, 4]);
    expect(imported(p, b)).toEqual([
      [H9, 'alice', ['launch', 'launch:GitHub'], ['a.org']],
      [H9, 17, ['launch', 'launch:GitLab'], ['b.org']],
      [H9, '42', ['launch', 'launch:true'], ['7']],
      [H9 + 1, 'alice', ['launch', 'launch:Zenodo'], ['a.org']],
    ]);
    // One target per name, shared by every line that marks it.
    expect(b.lineMarks[0]).toBe(b.lineMarks[2]);
    expect(b.lineMarks[1]).not.toBe(b.lineMarks[3]);
  });

  it('skips each line without a time or an id with its reason and line number; a template that cannot be filled misses its line alone', () => {
    const p = parser(SPEC);
    const good = { ts: T, user: 'u', provider: 'GitHub', origin: 'o' };
    const rows: Array<string | object> = [
      good,
      '',
      '   ',
      '{"ts": ',
      '[1, 2]',
      'null',
      '"text"',
      { user: 'u', provider: 'GitHub', origin: 'o' },
      { ...good, ts: null },
      { ...good, ts: 'yesterday' },
      { ...good, ts: '2026-02-30T00:00:00Z' },
      { ...good, ts: { at: 1 } },
      { ts: T, provider: 'GitHub', origin: 'o' },
      { ...good, user: '' },
      { ...good, user: { id: 1 } },
      { ...good, user: [1] },
      { ts: T, user: 'u', origin: 'o' },
      { ...good, provider: 'with space' },
      { ...good, provider: 'glob*' },
      { ...good, provider: 'p'.repeat(300) },
      { ...good, provider: null },
      // Refused on the counter, after its marks were filled.
      { ts: T, user: 'u', provider: 'Leftover' },
      { ...good, provider: 'Leftover', origin: 'o'.repeat(501) },
      { ...good, provider: 'Leftover', origin: { nested: true } },
      good,
    ];
    const b = parse(p, rows, 101);
    const at = (i: number): number => 101 + i;
    expect(b.skips).toEqual([
      ['empty line', at(1)],
      ['empty line', at(2)],
      ['invalid JSON', at(3)],
      ['not a JSON object', at(4)],
      ['not a JSON object', at(5)],
      ['not a JSON object', at(6)],
      ['no ts', at(7)],
      ['no ts', at(8)],
      ['bad timestamp', at(9)],
      ['bad timestamp', at(10)],
      ['bad timestamp', at(11)],
      ['no user', at(12)],
      ['bad id', at(13)],
      ['bad id', at(14)],
      ['bad id', at(15)],
    ]);
    // Templates 0 and 1 are the marks, 2 the counter; the index is the line's among b.lines.
    expect(b.lines).toEqual([0, 16, 17, 18, 19, 20, 21, 22, 23, 24].map(at));
    expect(b.misses).toEqual([
      [1, 1, 'no provider'],
      [2, 1, 'bad event name'],
      [3, 1, 'bad event name'],
      [4, 1, 'bad event name'],
      [5, 1, 'no provider'],
      [6, 2, 'no origin'],
      [7, 2, 'bad counter key'],
      [8, 2, 'bad counter key'],
    ]);
    // The line's other templates are filled all the same.
    expect(imported(p, b)).toEqual([
      [H9, 'u', ['launch', 'launch:GitHub'], ['o']],
      [H9, 'u', ['launch', null], ['o']],
      [H9, 'u', ['launch', null], ['o']],
      [H9, 'u', ['launch', null], ['o']],
      [H9, 'u', ['launch', null], ['o']],
      [H9, 'u', ['launch', null], ['o']],
      [H9, 'u', ['launch', 'launch:Leftover'], [null]],
      [H9, 'u', ['launch', 'launch:Leftover'], [null]],
      [H9, 'u', ['launch', 'launch:Leftover'], [null]],
      [H9, 'u', ['launch', 'launch:GitHub'], ['o']],
    ]);
    expect(b.minutes.length + b.skips.length).toBe(rows.length);
    expect(b.lineMarks.length).toBe(2 * b.minutes.length);
  });

  it('value maps: {field|map} fills in the mapped value; a value not in the map misses that template alone', () => {
    const maps = { fed: new Map([['gke.mybinder.org', 'GKE'], ['7', 'seven'], ['ovh.mybinder.org', 'OVH']]) };
    const p = parser({ ...SPEC, marks: ['launch', 'launch:federation:{origin|fed}', '{ origin | fed }'], counts: { launches: '{provider}:{origin|fed}' }, maps });
    const row = (origin: unknown, provider = 'GitHub') => ({ ts: T, user: 'u', provider, origin });
    const b = parse(p, [
      row('gke.mybinder.org'),
      row(7, 'Zenodo'),
      // Not in the map, whatever Object.prototype holds.
      row('gesis.mybinder.org'),
      row('constructor'),
      row('__proto__'),
      { ts: T, user: 'u', provider: 'GitHub' },
    ]);
    expect(b.skips).toEqual([]);
    expect(imported(p, b)).toEqual([
      [H9, 'u', ['launch', 'launch:federation:GKE', 'GKE'], ['GitHub:GKE']],
      [H9, 'u', ['launch', 'launch:federation:seven', 'seven'], ['Zenodo:seven']],
      [H9, 'u', ['launch', null, null], [null]],
      [H9, 'u', ['launch', null, null], [null]],
      [H9, 'u', ['launch', null, null], [null]],
      [H9, 'u', ['launch', null, null], [null]],
    ]);
    const unmapped = 'unmapped origin (--map fed)';
    expect(b.misses).toEqual([
      ...[2, 3, 4].flatMap((i) => [[i, 1, unmapped], [i, 2, unmapped], [i, 3, unmapped]]),
      [5, 1, 'no origin'],
      [5, 2, 'no origin'],
      [5, 3, 'no origin'],
    ]);
    expect(p.marks[1]!.unmappedExample).toBe('gesis.mybinder.org');
  });

  it('a line no template can be filled from has no id to resolve; field names are sampled for suggestions', () => {
    const p = parser({ ...SPEC, marks: ['launch:{provder}'], counts: {} });
    const b = parse(p, [
      { ts: T, user: 'new-user', provider: 'GitHub', meta: { v: 1 } },
      { ts: T, user: 'other', provider: 'GitLab' },
    ]);
    expect(b.ids).toEqual([NO_ID, NO_ID]);
    expect(b.misses).toEqual([
      [0, 0, 'no provder'],
      [1, 0, 'no provder'],
    ]);
    expect(b.fields.sort()).toEqual(['meta', 'meta.v', 'provider', 'ts', 'user']);
  });

  it('names, counted keys and string ids follow the API rules (src/bitmap): too long or not valid Unicode is skipped', () => {
    const p = parser(SPEC);
    const good = { ts: T, user: 'u', provider: 'GitHub', origin: 'o' };
    const b = parse(p, [
      { ...good, user: 'x'.repeat(512) },
      { ...good, user: 'x'.repeat(513) },
      { ...good, user: 'a\ud800b' },
      { ...good, user: '\udfff' },
      { ...good, user: 'smile \ud83d\ude00' },
      { ...good, provider: 'p\ud800' },
      { ...good, origin: 'o\udc00' },
      { ...good, origin: 'ok \ud83d\ude00' },
    ]);
    expect(b.skips).toEqual([
      ['bad id', 2],
      ['bad id', 3],
      ['bad id', 4],
    ]);
    expect(b.misses).toEqual([
      [2, 1, 'bad event name'],
      [3, 2, 'bad counter key'],
    ]);
    expect(b.ids).toEqual(['x'.repeat(512), 'smile \ud83d\ude00', 'u', 'u', 'u']);
    expect(b.lineCounts).toEqual(['o', 'o', 'o', null, 'ok \ud83d\ude00']);
  });

  it('numeric ids: integers from 0 to 2^32 - 1, as numbers or digit strings', () => {
    const p = parser({ ...SPEC, numericIds: true, marks: ['m'], counts: {} });
    const ids = [0, 5, '1000000', 4294967295, '4294967295', -1, 1.5, 2 ** 32, '4294967296', '04294967295', '12a', 'abc', '', true, '-3', ' 7'];
    const b = parse(
      p,
      ids.map((user) => ({ ts: T, user })),
    );
    expect(b.ids).toEqual([0, 5, 1000000, 4294967295, 4294967295]);
    expect(b.skips).toEqual(ids.slice(5).map((_, i) => ['bad id', 6 + i]));
    expect(p.countsPerLine).toBe(0);
    expect(b.lineCounts).toEqual([]);
  });

  it('--where keeps lines whose field reads as the value; dotted fields reach into objects', () => {
    const p = parser({ ...SPEC, id: 'who.id', marks: ['{kind}:{who.plan}'], counts: {}, where: { status: 'success', 'meta.v': '3' } });
    const b = parse(p, [
      { ts: T, who: { id: 'a', plan: 'pro' }, kind: 'k', status: 'success', meta: { v: 3 } },
      { ts: T, who: { id: 'b', plan: 'pro' }, kind: 'k', status: 'failure', meta: { v: 3 } },
      { ts: T, who: { id: 'c', plan: 'pro' }, kind: 'k', meta: { v: 3 } },
      { ts: T, who: { id: 'd', plan: 'pro' }, kind: 'k', status: 'success', meta: { v: '3' } },
      { ts: T, who: { id: 'e', plan: 'pro' }, kind: 'k', status: 'success', meta: { v: 4 } },
      // A field named with the dot itself wins over the path.
      { ts: T, 'who.id': 'f', who: { id: 'x', plan: 'free' }, kind: 'k', status: 'success', 'meta.v': '3' },
      { ts: T, who: { id: 'g' }, kind: 'k', status: 'success', meta: { v: 3 } },
    ]);
    expect(b.ids).toEqual(['a', 'd', 'f', NO_ID]);
    expect(b.lineMarks.map((t) => t?.name ?? null)).toEqual(['k:pro', 'k:pro', 'k:free', null]);
    expect(b.skips).toEqual([
      ['filtered', 2],
      ['filtered', 3],
      ['filtered', 5],
    ]);
    expect(b.misses).toEqual([[3, 0, 'no who.plan']]);
    // Lines that have each --where field (a field named with the dot counts too).
    expect(b.wherePresent).toEqual([6, 7]);
  });

  it('minutes are wall-clock minutes in the configured zone', () => {
    // Kolkata is UTC+05:30: 09:15Z is 14:45 there, 18:40Z is 00:10 on the next day.
    const p = parser({ ...SPEC, marks: ['m'], counts: {} }, {}, 'Asia/Kolkata');
    const b = parse(p, [
      { ts: T, user: 'a' },
      { ts: '2026-10-05T18:40:00Z', user: 'a' },
      { ts: '2026-10-05T14:45:00', user: 'a' }, // no offset: read in the zone
    ]);
    expect(b.minutes).toEqual([Date.UTC(2026, 9, 5, 14, 45) / MINUTE, Date.UTC(2026, 9, 6, 0, 10) / MINUTE, Date.UTC(2026, 9, 5, 14, 45) / MINUTE]);
  });
});
