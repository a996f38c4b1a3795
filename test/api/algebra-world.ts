// The set-algebra world shared by the engines' differential tests: seeded random marks and random
// nested expressions, with expected answers from plain JS Sets over the same marks and periods
// computed here from JS Dates (not from the project's period or canonical-form code).

import { expect } from 'vitest';
import type { TestGateway } from '../helpers.ts';

export const NOW = Date.parse('2026-11-22T09:05:00Z'); // a Sunday, ISO week 2026-W47
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const EVENTS = ['login', 'buy', 'share', 'open'];
export const UNIVERSE = 400;
/** Days the marks fall on: year, ISO week-year and month edges, and the days around NOW. */
export const MARK_DAYS = [
  '2025-12-29', // Monday of ISO week 2026-W01
  '2025-12-31',
  '2026-01-01',
  '2026-01-04', // Sunday, still 2026-W01
  '2026-10-31',
  '2026-11-01',
  '2026-11-02',
  '2026-11-16',
  '2026-11-21',
  '2026-11-22',
].map((d) => Date.parse(`${d}T00:00:00Z`));
export const BATCH = 40;
export const EXPRESSIONS = 300;

type Gran = 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';
const GRANS: Gran[] = ['HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR'];

export interface Mark {
  name: string;
  userId: number;
  at: number;
  unique: boolean;
}

/** [start, end) of the period of `g` that holds `t`, moved by `shift` periods; all in UTC. */
export function period(g: Gran, t: number, shift = 0): [number, number] {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (g) {
    case 'HOUR': {
      const s = Math.floor(t / HOUR_MS) * HOUR_MS + shift * HOUR_MS;
      return [s, s + HOUR_MS];
    }
    case 'DAY': {
      const s = Date.UTC(y, m, d.getUTCDate() + shift);
      return [s, Date.UTC(y, m, d.getUTCDate() + shift + 1)];
    }
    case 'WEEK': {
      const monday = d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 7 * shift;
      return [Date.UTC(y, m, monday), Date.UTC(y, m, monday + 7)];
    }
    case 'MONTH':
      return [Date.UTC(y, m + shift, 1), Date.UTC(y, m + shift + 1, 1)];
    case 'YEAR':
      return [Date.UTC(y + shift, 0, 1), Date.UTC(y + shift + 1, 0, 1)];
  }
}

export const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/** A generated set: its GraphQL input (as JSON) and its members by the reference evaluation. */
export interface Gen {
  spec: Record<string, unknown>;
  set: Set<number>;
}

const and = (sets: Set<number>[]): Set<number> => new Set([...sets[0]!].filter((x) => sets.every((s) => s.has(x))));
const or = (sets: Set<number>[]): Set<number> => new Set(sets.flatMap((s) => [...s]));
const xor = (sets: Set<number>[]): Set<number> => {
  const out = new Set<number>();
  for (const s of sets) {
    for (const x of s) {
      if (out.has(x)) out.delete(x);
      else out.add(x);
    }
  }
  return out;
};
const minus = (from: Set<number>, subtract: Set<number>[]): Set<number> =>
  new Set([...from].filter((x) => !subtract.some((s) => s.has(x))));

/** Prints a JSON input as a GraphQL literal (granularities are enum values). */
function literal(v: unknown, key = ''): string {
  if (Array.isArray(v)) return `[${v.map((x) => literal(x)).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k}: ${literal(x, k)}`)
      .join(', ')} }`;
  }
  if (typeof v === 'string' && (key === 'granularity' || key === 'current')) return v;
  return JSON.stringify(v);
}

export class World {
  readonly marks: Mark[] = [];
  constructor(readonly random: () => number) {
    const r = random;
    for (let i = 0; i < 1500; i++) {
      const day = MARK_DAYS[Math.floor(r() * MARK_DAYS.length)]!;
      // Hours 8-10 on NOW's day are common, so HOUR periods around NOW have members.
      const hour = day === MARK_DAYS.at(-1) && r() < 0.5 ? 8 + Math.floor(r() * 3) : Math.floor(r() * 24);
      this.marks.push({
        name: EVENTS[Math.floor(r() * EVENTS.length)]!,
        userId: Math.floor(r() * UNIVERSE),
        at: day + hour * HOUR_MS + Math.floor(r() * HOUR_MS),
        unique: r() < 0.2,
      });
    }
    // A few ids far above the universe, to cross bitmap byte and container edges.
    for (const userId of [4095, 65_535, 65_536, 1_000_003]) {
      this.marks.push({ name: 'login', userId, at: MARK_DAYS.at(-1)! + 9 * HOUR_MS, unique: true });
      this.marks.push({ name: 'buy', userId, at: MARK_DAYS[2]! + 3 * HOUR_MS, unique: false });
    }
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Users with a mark of `name` in [start, end). */
  had(name: string, [start, end]: [number, number]): Set<number> {
    return new Set(this.marks.filter((m) => m.name === name && m.at >= start && m.at < end).map((m) => m.userId));
  }

  eventLeaf(): Gen {
    const name = this.pick(EVENTS);
    const g = this.random() < 0.1 ? 'HOUR' : this.pick(GRANS.slice(1));
    const shift = this.random() < 0.35 ? this.int(5) - 3 : 0;
    let spec: Record<string, unknown>;
    let anchor: number;
    let moved = shift;
    const how = this.random();
    if (how < 0.25) {
      spec = { current: g };
      anchor = NOW;
    } else if (how < 0.45) {
      const ago = g === 'HOUR' ? this.int(3) : g === 'YEAR' ? this.int(2) : this.int(4);
      spec = { ago: { granularity: g, periods: ago } };
      anchor = NOW;
      moved -= ago;
    } else {
      const day = this.pick(MARK_DAYS);
      const hour = day === MARK_DAYS.at(-1) ? 8 + this.int(3) : this.int(24);
      const at = day + hour * HOUR_MS + this.int(HOUR_MS);
      anchor = at;
      // A bare date is midnight in the gateway's zone (UTC here); otherwise an instant, sometimes with an offset.
      const form = this.random();
      let date: string;
      if (g !== 'HOUR' && form < 0.4) {
        date = iso(day).slice(0, 10);
        anchor = day;
      } else if (form < 0.7) date = iso(at);
      else date = `${iso(at + 2 * HOUR_MS).slice(0, 19)}+02:00`;
      spec = { at: { granularity: g, date } };
    }
    const event: Record<string, unknown> = { name, period: spec };
    if (shift) event.shift = shift;
    return { spec: { event }, set: this.had(name, period(g, anchor, moved)) };
  }

  rangeLeaf(): Gen {
    const name = this.pick(EVENTS);
    const g = this.pick(GRANS);
    if (this.random() < 0.5) {
      const last = 1 + this.int(g === 'YEAR' ? 2 : g === 'HOUR' ? 30 : 5);
      const [, end] = period(g, NOW);
      const [start] = period(g, NOW, 1 - last);
      return { spec: { range: { name, granularity: g, last } }, set: this.had(name, [start, end]) };
    }
    const from = Math.min(NOW, this.pick(MARK_DAYS) + this.int(DAY_MS));
    let to: number | null = from + this.int(g === 'HOUR' ? 3 * DAY_MS : 60 * DAY_MS);
    // Without `to` a range ends now. HOUR and DAY ranges from last winter are rarely open-ended:
    // hundreds of keys each (an HOUR one would be over the period limit).
    const long = NOW - from > 60 * DAY_MS && (g === 'HOUR' || (g === 'DAY' && this.random() < 0.8));
    if (!long && (to > NOW || this.random() < 0.3)) to = null;
    const [start] = period(g, from);
    const [, end] = period(g, to ?? NOW);
    const range: Record<string, unknown> = { name, granularity: g, from: iso(from) };
    if (to !== null) range.to = iso(to);
    return { spec: { range }, set: this.had(name, [start, end]) };
  }

  uniqueLeaf(): Gen {
    const name = this.pick(EVENTS);
    return { spec: { unique: name }, set: new Set(this.marks.filter((m) => m.name === name && m.unique).map((m) => m.userId)) };
  }

  idsLeaf(): Gen {
    const ids = Array.from({ length: this.int(6) }, () => (this.random() < 0.05 ? 65_536 : this.int(UNIVERSE + 20)));
    if (ids.length === 0 && this.random() < 0.5) ids.push(this.int(UNIVERSE));
    if (ids.length === 0) return this.eventLeaf(); // `ids: []` is legal, but keep leaves non-trivial
    return { spec: { ids }, set: new Set(ids) };
  }

  leaf(): Gen {
    const r = this.random();
    if (r < 0.55) return this.eventLeaf();
    if (r < 0.7) return this.rangeLeaf();
    if (r < 0.8) return this.uniqueLeaf();
    return this.idsLeaf();
  }

  /** A random set of nesting depth at most `depth`; `pool` holds earlier sub-sets, reused to share work. */
  gen(depth: number, pool: Gen[]): Gen {
    if (pool.length && this.random() < 0.12) {
      const fits = pool.filter((g) => depthOf(g.spec) <= depth);
      if (fits.length) return this.pick(fits);
    }
    if (depth <= 1 || this.random() < 0.25) return this.leaf();
    const n = 1 + this.int(3);
    const args = (k: number): Gen[] => Array.from({ length: k }, () => this.gen(depth - 1, pool));
    let out: Gen;
    const op = this.random();
    if (op < 0.22) {
      const a = args(n);
      out = { spec: { and: a.map((g) => g.spec) }, set: and(a.map((g) => g.set)) };
    } else if (op < 0.44) {
      const a = args(n);
      out = { spec: { or: a.map((g) => g.spec) }, set: or(a.map((g) => g.set)) };
    } else if (op < 0.62) {
      const a = args(n + 1);
      out = { spec: { xor: a.map((g) => g.spec) }, set: xor(a.map((g) => g.set)) };
    } else if (op < 0.78) {
      const [from, ...sub] = args(1 + n);
      out = { spec: { minus: { from: from!.spec, subtract: sub.map((g) => g.spec) } }, set: minus(from!.set, sub.map((g) => g.set)) };
    } else {
      // An and with nots next to at least one positive operand (sometimes a double not, which is positive).
      const pos = args(n);
      const neg = args(1 + this.int(2));
      const items: Array<{ spec: unknown }> = [
        ...pos.map((g) => ({ spec: g.spec })),
        ...neg.map((g) => ({ spec: { not: g.spec } })),
      ];
      const doubled = this.random() < 0.2 ? this.gen(depth - 2, pool) : null;
      if (doubled) items.push({ spec: { not: { not: doubled.spec } } });
      for (let i = items.length - 1; i > 0; i--) {
        const j = this.int(i + 1);
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      const positives = doubled ? [...pos, doubled] : pos;
      out = {
        spec: { and: items.map((x) => x.spec) },
        set: minus(and(positives.map((g) => g.set)), neg.map((g) => g.set)),
      };
    }
    pool.push(out);
    return out;
  }
}

export function depthOf(spec: unknown): number {
  if (spec === null || typeof spec !== 'object') return 0;
  const s = spec as Record<string, unknown>;
  for (const k of ['and', 'or', 'xor']) if (Array.isArray(s[k])) return 1 + Math.max(...(s[k] as unknown[]).map(depthOf));
  if (s.not) return 1 + depthOf(s.not);
  if (s.minus) {
    const m = s.minus as { from: unknown; subtract: unknown[] };
    return 1 + Math.max(depthOf(m.from), ...m.subtract.map(depthOf));
  }
  return 1;
}

/** {EXPRESSIONS} random expressions, {BATCH} to a request: count, hasEvents, contains and a members page of each, as the reference says. */
export async function checkRandomExpressions(t: TestGateway, world: World): Promise<void> {
  const random = world.random;
  let nonEmpty = 0;
  let deepest = 0;
  for (let start = 0, req = 0; start < EXPRESSIONS; req++) {
    // Every fourth request spells the sets as literals in the query text (fewer of them: each
    // appears four times, and the query has a token limit), the others as variables.
    const inline = req % 4 === 3;
    const size = Math.min(inline ? BATCH / 4 : BATCH, EXPRESSIONS - start);
    start += size;
    const pool: Gen[] = [];
    const gens = Array.from({ length: size }, () => world.gen(2 + world.int(4), pool));
    const decls: string[] = [];
    const fields: string[] = [];
    const variables: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    gens.forEach((g, i) => {
      deepest = Math.max(deepest, depthOf(g.spec));
      if (g.set.size) nonEmpty++;
      const arg = inline ? literal(g.spec) : `$s${i}`;
      if (!inline) {
        decls.push(`$s${i}: SetExpr!`);
        variables[`s${i}`] = g.spec;
      }
      const sorted = [...g.set].sort((x, y) => x - y);
      const probe = sorted.length && random() < 0.5 ? sorted[world.int(sorted.length)]! : world.int(UNIVERSE + 10);
      const first = 1 + world.int(random() < 0.3 ? 3 : 60);
      const after = random() < 0.4 ? null : random() < 0.5 && sorted.length ? sorted[world.int(sorted.length)]! : world.int(UNIVERSE);
      const later = sorted.filter((x) => after === null || x > after);
      fields.push(
        `c${i}: count(set: ${arg})`,
        `h${i}: hasEvents(set: ${arg})`,
        `k${i}: contains(set: ${arg}, userId: ${probe})`,
        `m${i}: members(set: ${arg}, first: ${first}${after === null ? '' : `, after: ${after}`}) { ids hasMore endCursor }`,
      );
      const ids = later.slice(0, first);
      Object.assign(expected, {
        [`c${i}`]: g.set.size,
        [`h${i}`]: g.set.size > 0,
        [`k${i}`]: g.set.has(probe),
        [`m${i}`]: { ids, hasMore: later.length > first, endCursor: ids.at(-1) ?? null },
      });
    });
    const query = `query${decls.length ? `(${decls.join(', ')})` : ''} {\n  ${fields.join('\n  ')}\n}`;
    const r = await t.gql(query, variables);
    expect(r.errors, `request ${req}`).toBeUndefined();
    for (const [alias, want] of Object.entries(expected)) {
      const i = Number(alias.slice(1));
      expect((r.data as Record<string, unknown>)[alias], `${alias} of ${JSON.stringify(gens[i]!.spec)}`).toEqual(want);
    }
  }
  // The generator is meant to exercise real overlaps and deep nesting, not empty sets.
  expect(nonEmpty).toBeGreaterThan(EXPRESSIONS / 3);
  expect(deepest).toBeGreaterThanOrEqual(5);
}

/** Two spellings of one set (reordered, distributed, double negations) count the same. */
export async function checkSpellings(t: TestGateway, world: World): Promise<void> {
  const pool: Gen[] = [];
  const pairs: Array<[unknown, unknown]> = [];
  for (let i = 0; i < 20; i++) {
    const a = world.gen(3, pool).spec;
    const b = world.gen(3, pool).spec;
    const c = world.gen(2, pool).spec;
    pairs.push(
      [{ and: [a, b] }, { and: [b, a, a] }],
      [{ or: [a, b] }, { or: [b, { or: [a, b] }, a] }],
      [{ minus: { from: a, subtract: [b, c] } }, { and: [a, { not: b }, { not: c }] }],
      [{ minus: { from: a, subtract: [b] } }, { and: [{ not: { and: [b, { not: c }] } }, a, { not: { and: [b, c] } }] }],
      [{ xor: [a, a, b] }, b],
      [{ xor: [a, b] }, { minus: { from: { or: [a, b] }, subtract: [{ and: [a, b] }] } }],
      [{ or: [a, { and: [a, b] }] }, a],
      [{ and: [a, { or: [b, c] }] }, { or: [{ and: [a, b] }, { and: [c, a] }] }],
      [{ and: [a, { not: { not: b } }] }, { and: [a, b] }],
    );
  }
  for (let start = 0; start < pairs.length; start += 45) {
    const chunk = pairs.slice(start, start + 45);
    const decls = chunk.flatMap((_, i) => [`$l${i}: SetExpr!`, `$r${i}: SetExpr!`]);
    const fields = chunk.map((_, i) => `l${i}: count(set: $l${i}) r${i}: count(set: $r${i})`);
    const variables = Object.fromEntries(chunk.flatMap(([l, r], i) => [[`l${i}`, l], [`r${i}`, r]]));
    const res = await t.gql<Record<string, number>>(`query(${decls.join(', ')}) { ${fields.join(' ')} }`, variables);
    expect(res.errors).toBeUndefined();
    chunk.forEach(([l, r], i) => {
      expect(res.data![`l${i}`], `${JSON.stringify(l)} vs ${JSON.stringify(r)}`).toBe(res.data![`r${i}`]);
    });
  }
}
