// Arbitraries for the input-surface property test: GraphQL requests built from the schema, hostile values included, and how they are written down.

import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';

/**
 * An input value before it is written down: the same value can be rendered as a GraphQL literal
 * or sent in the variables, so one generator covers both.
 */
export type V =
  | { k: 'str'; v: string; style: 'json' | 'block' | 'raw' }
  | { k: 'num'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'enum'; v: string }
  | { k: 'list'; items: V[] }
  | { k: 'obj'; fields: Array<[string, V]> }
  /** Hoisted into a variable of this declared type (maybe the wrong one); `value` undefined: declared, never sent. */
  | { k: 'var'; type: string; value: V | undefined }
  | Deep;

/** A set expression nested `levels` deep, written without recursion (5,000 levels would overflow a recursive writer). */
export interface Deep {
  k: 'deep';
  levels: number;
  op: 'not' | 'and' | 'or' | 'minus';
  leaf: V;
}

/** One field of a selection set, with its arguments and sub-selection. */
export interface Sel {
  field: string;
  alias?: string;
  args: Array<[string, V]>;
  sub?: Sel[];
  /** `@include(if: …)` or `@skip(if: …)`. */
  directive?: ['include' | 'skip', V];
  /** How it is written at its level: inline, in an inline fragment, or in a named fragment. */
  wrap: 'plain' | 'inline' | 'named';
}

export interface Operation {
  kind: 'query' | 'mutation' | 'subscription';
  name?: string;
  sels: Sel[];
}

/** What the property sends: a document and variables, or a raw body. */
export type Request =
  | { k: 'doc'; ops: Operation[]; operationName?: string; prelude?: string }
  | { k: 'text'; query: string }
  | { k: 'raw'; body: string };

export interface ArbitraryOptions {
  /** Allow user ids up to 2^32-1 (in Redis, a SETBIT that far allocates 512 MiB). */
  hugeIds: boolean;
}

// ---- values ----

const str = (v: string, style: 'json' | 'block' | 'raw' = 'json'): V => ({ k: 'str', v, style });
const num = (v: number): V => ({ k: 'num', v });
const en = (v: string): V => ({ k: 'enum', v });
const list = (items: V[]): V => ({ k: 'list', items });
/** An input object; undefined fields are left out. */
const obj = (...fields: Array<[string, V | undefined]>): V => ({
  k: 'obj',
  fields: fields.filter((f): f is [string, V] => f[1] !== undefined),
});
const opt = <T>(a: Arbitrary<T>, freq = 2): Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq });

export const VALID_NAMES = ['login', 'buy', 'a', 'plays', 'Ünï', 'x_u', '2026-11', 'é'.repeat(200)];
const HOSTILE_NAMES = [
  '', ' ', 'a b', 'tab\t', 'nl\n', 'a*', 'a?', 'a[', 'a]', 'a\\b', 'bitop', 'bitop_x', 'bitop_', 'x'.repeat(201),
  '\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '😀', '\u202e', '\u200b', '\u0000', '\u2028', 'e\u0301', '\ufeff', '\uffff',
  '__proto__', 'constructor', 'toString', '{', '"', '"""', '$x', '#', '{{{{', '%', 'NaN', '-1', 'a_', '_u', 'u', '*',
];
/** Any UTF-16 code unit (lone surrogates included) or a few ASCII characters that matter in keys. */
const codeUnit = fc.oneof(
  fc.constantFrom('a', 'z', '_', '-', ':', '.', '{', '"', '\\', '*'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);
const nameText: Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VALID_NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NAMES) },
  { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength: 12 }) },
);
const strStyle = fc.constantFrom<'json' | 'block' | 'raw'>('json', 'json', 'json', 'json', 'block', 'raw');
const textAnyStyle = (text: Arbitrary<string>): Arbitrary<V> => fc.tuple(text, strStyle).map(([s, style]) => str(s, style));

const VALID_DATES = [
  '2026-11-22', '2026-11-22T09:05:00Z', '2026-11-22T09:05', '2026-11-21T23:00:00+01:00', '2026-11-15', '2026-01-01',
  '2025-12-29', '2026-10-31T23:59:59.999Z', '2026-11-22T09', '2020-02-29',
];
const HOSTILE_DATES = [
  '0000-01-01', '0001-01-01', '9999-12-31', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z',
  '-000001-01-01', '+010000-01-01', '2026-02-30', '2026-13-01', '2026-00-10', '2026-11-22T24:00', '2016-12-31T23:59:60Z',
  '2026-11-22T09:00+99:99', '2026-11-22T09:00-99:99', '2026-11-22T09:00+14:00', '2026-11-22T09:00-23:59', '2026-11-22T09:00+24:00',
  '2026-W47', '2026-W53-1', '2026-326', '', ' ', 'now', 'NaN', 'Infinity', '1e300', '-1', '2026', '2026-11', '20261122',
  '2026-11-22T09:05:00.123456789Z', '2026-11-22 09:05', '2026-11-22T09:05:00z', '２０２６-11-22', '2026-11-22\u0000',
  '2026-11-22T09:05:00Z\ud800', '2026-11-22T09:05:00+01:00:00', '2026-11-22T-1:00',
];
const pad = (n: number, w: number): string => (n < 0 ? '-' : '') + String(Math.abs(n)).padStart(w, '0');
/** Dates written the ISO way with numbers anywhere from plausible to absurd. */
const composedDate = fc
  .tuple(
    fc.oneof(fc.integer({ min: 2024, max: 2027 }), fc.integer({ min: -1, max: 10_000 })),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    opt(fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 60 }))),
    opt(fc.constantFrom('Z', '+01:00', '-05:30', '+99:99', '-00:00', '+14:00', '+1', '+0100')),
  )
  .map(([y, m, d, hm, off]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}${hm ? `T${pad(hm[0], 2)}:${pad(hm[1], 2)}` : ''}${hm && off ? off : ''}`);
/** Dates: one the gateway cannot read fails the whole request, so well-typed documents have fewer. */
export const dateText = (malformed: boolean): Arbitrary<string> =>
  fc.oneof(
    { weight: malformed ? 5 : 12, arbitrary: fc.constantFrom(...VALID_DATES) },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_DATES) },
    { weight: 2, arbitrary: composedDate },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
  );

const HOSTILE_NUMBERS = [
  -1, 0, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2e9, -2e9, 1e300, -1e300, Number.MAX_SAFE_INTEGER, 1.5, -0,
  NaN, Infinity, 1e21,
];
/** Extremes that are still a GraphQL Int (32-bit). */
const EXTREME_INTS = [-1, 0, 2 ** 31 - 1, -(2 ** 31), 2e9, -2e9, 1_000_000];

export const GRANS = ['MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR'];

/** IANA zones: whole hours from UTC or not (half hours, 45 minutes, Lord Howe's half-hour DST), spellings Intl accepts. */
export const VALID_ZONES = [
  'UTC', 'utc', 'Etc/UTC', 'GMT', 'America/New_York', 'america/NEW_york', 'Europe/Amsterdam', 'Europe/Dublin', 'Europe/London',
  'Asia/Kolkata', 'Asia/Calcutta', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Australia/Adelaide', 'Asia/Tokyo', 'Pacific/Kiritimati',
  'Pacific/Pago_Pago', 'Pacific/Chatham', 'America/St_Johns', 'Africa/Monrovia', 'Antarctica/Troll', 'Etc/GMT-14', 'Etc/GMT+12',
  'Asia/Colombo', 'America/Sao_Paulo',
];
const HOSTILE_ZONES = [
  '', ' ', 'Etc/GMT+14', '+05:30', '-00:00', 'Z', 'UTC+1', 'GMT+5', 'Local', 'Factory', 'America/Nowhere', 'America/', '/', '..', '../etc/passwd',
  'America/New_York ', ' America/New_York', 'America/New_York\u0000', 'America/New_York\ud800', '\ud800', '\udfff', '😀', 'Europe/Amsterdam/x',
  'x'.repeat(5000), `America/${'a'.repeat(300)}`, 'A'.repeat(64), '__proto__', 'constructor', 'NaN', 'null', '{', 'America\\New_York',
];
/** Time zone names: mostly ones Intl knows, then hostile text. */
export const zoneText: Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VALID_ZONES) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_ZONES) },
  { weight: 1, arbitrary: fc.constantFrom(...Intl.supportedValuesOf('timeZone')) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(fc.constantFrom('/', '_', '+', '-', 'a', 'A', '0'), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))), maxLength: 16 }) },
);
/** Period shifts, up to ones that move far past the years 0000 to 9999. */
export const shiftBy = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -40, max: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(2e9, -2e9, 2 ** 31 - 1, -(2 ** 31), 1e6, -1e6, 8e6, 9e7) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
);
const LONE_SURROGATE = /\p{Cs}/u;

/** Something of the wrong type (or shape) for wherever it lands. */
const anyValue: Arbitrary<V> = fc.letrec<{ any: V }>((tie) => ({
  any: fc.oneof(
    { depthSize: 'small' },
    textAnyStyle(fc.oneof(fc.constantFrom('1', 'true', 'DAY', '{}', 'null', '2026-11-22'), fc.string({ unit: codeUnit, maxLength: 6 }))),
    fc.constantFrom(...HOSTILE_NUMBERS, 3).map(num),
    fc.boolean().map((v): V => ({ k: 'bool', v })),
    fc.constant<V>({ k: 'null' }),
    fc.constantFrom('DAY', 'FOO', 'true', 'null', 'day').map(en),
    fc.array(tie('any'), { maxLength: 3 }).map(list),
    fc.array(fc.tuple(fc.constantFrom('name', 'event', 'ids', 'x', '__proto__', 'or'), tie('any')), { maxLength: 3 }).map((f) => obj(...f)),
  ),
})).any;

export function arbitraries(options: ArbitraryOptions) {
  // Two families: well-typed documents, whose hostile values (names, dates, extreme numbers, deep
  // and wide sets) reach the resolvers; and documents where anything may be malformed, which
  // mostly exercise parsing, validation and variable coercion.
  const wellTyped = family(options, false);
  const hostile = family(options, true);
  const request = fc.oneof({ weight: 3, arbitrary: wellTyped.request }, { weight: 2, arbitrary: hostile.request });
  const subscription = fc.oneof({ weight: 2, arbitrary: wellTyped.subscription }, { weight: 1, arbitrary: hostile.subscription }, { weight: 3, arbitrary: liveQuestion });
  // Counterexamples print as the body sent, cut short (a 2,000-alias document is long).
  const printed = (r: Request): Request => Object.defineProperty(r, fc.toStringMethod, { value: () => shortBody(r) });
  return { request: request.map(printed), subscription: subscription.map(printed) };
}

function family(options: ArbitraryOptions, malformed: boolean) {
  /**
   * A value of a GraphQL type: mostly `good`, sometimes hoisted into a variable. Malformed: now and
   * then declared with a wrong type, never sent, or of the wrong type altogether. Well-typed: a
   * string GraphQL text cannot hold (a lone surrogate) always goes in a variable.
   */
  const typed = (type: string, good: Arbitrary<V>): Arbitrary<V> => {
    const hoist = (t: string, value: V | undefined): V => ({ k: 'var', type: t, value });
    if (!malformed) {
      // Declared non-null, so it fits nullable and non-null positions alike.
      const declared = type.endsWith('!') ? type : `${type}!`;
      return fc.tuple(good, fc.integer({ min: 0, max: 6 })).map(([v, r]) => (r === 0 || (v.k === 'str' && LONE_SURROGATE.test(v.v)) ? hoist(declared, v) : v));
    }
    const declared = fc.oneof({ weight: 8, arbitrary: fc.constant(type) }, { weight: 1, arbitrary: fc.constantFrom('String', 'Int!', 'SetExpr', '[UserId!]', 'Bogus', 'Boolean') });
    return fc.oneof(
      { weight: 40, arbitrary: good },
      { weight: 6, arbitrary: fc.tuple(declared, good).map(([t, value]) => hoist(t, value)) },
      { weight: 1, arbitrary: fc.constant(hoist(type, undefined)) },
      { weight: 2, arbitrary: anyValue },
    );
  };
  /** A string: JSON-escaped; malformed documents also write block strings and unescaped text. */
  const textV = (text: Arbitrary<string>): Arbitrary<V> => (malformed ? textAnyStyle(text) : text.map((v) => str(v)));
  const intOf = (small: Arbitrary<number>): Arbitrary<V> =>
    fc.oneof(
      { weight: 6, arbitrary: small },
      { weight: 2, arbitrary: malformed ? fc.constantFrom(...HOSTILE_NUMBERS) : fc.constantFrom(...EXTREME_INTS) },
      { weight: 1, arbitrary: malformed ? fc.integer() : fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
    ).map(num);
  const smallInt = intOf(fc.integer({ min: -3, max: 40 }));

  const nameV = typed('String!', textV(nameText));
  const dateV = typed('DateTime', textV(dateText(malformed)));
  const granV = typed(
    'Granularity!',
    (malformed
      ? fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...GRANS) }, { weight: 1, arbitrary: fc.constantFrom('day', 'SECOND', 'QUARTER') })
      : fc.constantFrom(...GRANS)
    ).map(en),
  );
  const idNumber = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 ** 20 - 1 }) },
    ...(malformed ? [{ weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 32, -0, NaN, 1e300, 2 ** 53) }] : []),
    // In Redis, one SETBIT this far allocates 512 MiB.
    ...(options.hugeIds ? [{ weight: 1, arbitrary: fc.constantFrom(2 ** 32 - 1, 2 ** 31, 2 ** 31 - 1, 4_000_000_000) }] : []),
  );
  const idV = typed('UserId!', idNumber.map(num));
  const optIdV = typed('UserId', idNumber.map(num));
  const idList = fc.oneof(
    { weight: 8, arbitrary: fc.array(idV, { maxLength: 8 }).map(list) },
    // Wide lists around MAX_IDS (10,000).
    { weight: 1, arbitrary: fc.constantFrom(1000, 10_000, 10_001).map((n) => list(Array.from({ length: n }, (_, i) => num(i)))) },
  );
  const lastV = typed('Int', fc.oneof(smallInt, fc.integer({ min: 0, max: 3000 }).map(num)));


  const periodV: Arbitrary<V> = typed(
    'PeriodInput',
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(granV, dateV).map(([g, d]) => obj(['at', obj(['granularity', g], ['date', d])])) },
      { weight: 4, arbitrary: granV.map((g) => obj(['current', g])) },
      { weight: 4, arbitrary: fc.tuple(granV, smallInt).map(([g, n]) => obj(['ago', obj(['granularity', g], ['periods', n])])) },
      // @oneOf violations: none, two, or a null member.
      {
        weight: malformed ? 1 : 0,
        arbitrary: fc.constantFrom(
          obj(),
          obj(['current', en('DAY')], ['ago', obj(['granularity', en('DAY')], ['periods', num(1)])]),
          obj(['current', { k: 'null' }]),
        ),
      },
    ),
  );

  const eventLeaf = fc
    .tuple(nameV, opt(periodV, 5), opt(malformed ? smallInt : typed('Int', shiftBy.map(num)), 3))
    .map(([name, period, shift]) => obj(['event', obj(['name', name], ['period', period], ['shift', shift])]));
  const uniqueLeaf = nameV.map((n) => obj(['unique', n]));
  const rangeLeaf = fc
    .tuple(nameV, granV, opt(dateV), opt(dateV), opt(lastV))
    .map(([name, g, from, to, last]) => obj(['range', obj(['name', name], ['granularity', g], ['from', from], ['to', to], ['last', last])]));
  const idsLeaf = typed('[UserId!]', idList).map((ids) => obj(['ids', ids]));

  /** Nesting of one operator `levels` deep around an event leaf (MAX_EXPR_DEPTH is 32). */
  const deepSet = fc
    .tuple(
      fc.constantFrom(31, 32, 33, 64, 1000, 5000),
      fc.constantFrom<Deep['op']>('not', 'and', 'or', 'minus'),
      fc.constantFrom(obj(['event', obj(['name', str('login')], ['period', obj(['current', en('DAY')])])]), obj(['ids', list([num(1)])])),
    )
    .map(([levels, op, leaf]): V => ({ k: 'deep', levels, op, leaf }));
  /** Many keys in one operator: many leaves (MAX_EXPR_NODES is 1000) or a few 2000-period ranges. */
  const wideSet = fc.oneof(
    fc.tuple(fc.constantFrom('or', 'and', 'xor'), fc.constantFrom(100, 999, 1001)).map(([op, n]) =>
      obj([op, list(Array.from({ length: n }, (_, i) => obj(['event', obj(['name', str('login')], ['period', obj(['ago', obj(['granularity', en('DAY')], ['periods', num(i)])])])])))]),
    ),
    // 4 × 2000 hours (or minutes): 8,000 keys in one operator.
    fc.tuple(fc.constantFrom('or', 'or', 'and', 'xor'), fc.constantFrom(1, 2, 4, 5), fc.constantFrom('DAY', 'HOUR', 'MINUTE')).map(([op, n, g]) =>
      obj([op, list(Array.from({ length: n }, (_, i) => obj(['range', obj(['name', str(VALID_NAMES[i % 4]!)], ['granularity', en(g)], ['last', num(2000)])])))]),
    ),
  );

  const { set } = fc.letrec<{ set: V; inner: V; leaf: V; node: V }>((tie) => ({
    // Now and then a whole sub-expression goes into a variable.
    set: fc.tuple(tie('inner'), fc.integer({ min: 0, max: 24 })).map(([v, r]): V => (r === 0 ? { k: 'var', type: 'SetExpr!', value: v } : v)),
    inner: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 10, arbitrary: tie('leaf') },
      { weight: 8, arbitrary: tie('node') },
      { weight: 1, arbitrary: deepSet },
      { weight: 2, arbitrary: wideSet },
      {
        weight: malformed ? 1 : 0,
        arbitrary: fc.oneof(
          anyValue,
          // @oneOf violations.
          fc.tuple(tie('leaf'), idsLeaf).map(([a, b]) => (a.k === 'obj' && b.k === 'obj' ? obj(...a.fields, ...b.fields) : a)),
          fc.constant(obj()),
        ),
      },
    ),
    leaf: fc.oneof({ weight: 5, arbitrary: eventLeaf }, { weight: 2, arbitrary: uniqueLeaf }, { weight: 2, arbitrary: rangeLeaf }, { weight: 2, arbitrary: idsLeaf }),
    node: fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom('and', 'or', 'xor'), fc.array(tie('set'), { maxLength: 4 })).map(([op, xs]) => obj([op, list(xs)])) },
      { weight: 2, arbitrary: fc.tuple(tie('set'), fc.array(tie('set'), { maxLength: 3 })).map(([from, sub]) => obj(['minus', obj(['from', from], ['subtract', list(sub)])])) },
      { weight: 2, arbitrary: tie('set').map((s) => obj(['not', s])) },
    ),
  }));
  const setV = typed('SetExpr!', set);

  // ---- selections ----

  // Well-typed documents get distinct aliases later (uniqueAliases), so fields never conflict.
  const alias = opt(fc.oneof(fc.constantFrom('a', 'b', 'x1', 'count', '__typename', 'ids'), fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,6}$/)), 3);
  const directive = opt(
    fc.tuple(fc.constantFrom<'include' | 'skip'>('include', 'skip'), typed('Boolean!', fc.boolean().map((v): V => ({ k: 'bool', v })))),
    8,
  );
  const wrap = fc.constantFrom<Sel['wrap']>('plain', 'plain', 'plain', 'plain', 'inline', 'named');
  const field = (name: string, args: Arbitrary<Array<[string, V | undefined]>> = fc.constant([]), sub?: Arbitrary<Sel[]>): Arbitrary<Sel> =>
    fc.record({ alias, args: args.map((a) => a.filter((x): x is [string, V] => x[1] !== undefined)), sub: sub ?? fc.constant(undefined), directive, wrap }).map(
      (r): Sel => ({ field: name, ...r, alias: r.alias, sub: r.sub, directive: r.directive }),
    );
  /** Some of these fields (now and then none, or one that does not exist). */
  const selection = (fields: Array<Arbitrary<Sel>>): Arbitrary<Sel[]> =>
    fc.oneof(
      { weight: 30, arbitrary: fc.array(fc.oneof({ depthSize: 'small' }, ...fields), { minLength: 1, maxLength: 4 }) },
      { weight: malformed ? 1 : 0, arbitrary: fc.constant<Sel[]>([]) },
      { weight: malformed ? 1 : 0, arbitrary: fc.constant<Sel[]>([{ field: 'bogus', args: [], wrap: 'plain' }]) },
    );
  /** A required argument: present, or now and then left out. */
  const req = (a: Arbitrary<V>): Arbitrary<V | undefined> =>
    malformed ? fc.oneof({ weight: 30, arbitrary: a }, { weight: 1, arbitrary: fc.constant(undefined) }) : a;
  const extraArg = malformed ? opt(fc.tuple(fc.constantFrom('bogus', 'set', 'name'), anyValue), 20) : fc.constant(undefined);
  const args = (...a: Array<Arbitrary<[string, V | undefined]>>): Arbitrary<Array<[string, V | undefined]>> =>
    fc.tuple(fc.tuple(...a), extraArg).map(([xs, extra]) => (extra ? [...xs, extra] : xs));
  const arg = (name: string, v: Arbitrary<V | undefined>): Arbitrary<[string, V | undefined]> => v.map((x) => [name, x]);
  /** An optional timeZone argument (left out half the time). */
  const zoneArg = arg('timeZone', opt(typed('String', textV(zoneText))));

  const { period: periodSel } = fc.letrec<{ period: Sel[] }>((tie) => ({
    period: selection([
      ...['label', 'start', 'end', 'key', 'granularity', '__typename'].map((f) => field(f)),
      field('previous', fc.constant([]), tie('period')),
      field('next', fc.constant([]), tie('period')),
      field('shift', args(arg('by', req(typed('Int!', malformed ? smallInt : shiftBy.map(num))))), tie('period')),
      field('eventKeys', args(arg('name', req(nameV)))),
    ]),
  }));
  const seriesSel = selection([field('count'), field('average'), field('period', fc.constant([]), periodSel)]);
  const pageSel = selection(['ids', 'hasMore', 'endCursor', 'externalIds'].map((f) => field(f)));
  const cohortSel = selection([
    field('rows', fc.constant([]), selection([field('size'), field('cells'), field('period', fc.constant([]), periodSel)])),
    field('average'),
    field('csv'),
  ]);
  const funnelSel = selection(['count', 'fromFirst', 'fromPrevious'].map((f) => field(f)));
  const counterSel = selection(['key', 'value'].map((f) => field(f)));
  const optGran = req(granV);
  const prefixV = typed('String!', textV(fc.oneof(fc.constantFrom('', 'l', 'log', 'b', '*', 'a[', '\\'), nameText)));
  const breakdownCountSel = selection(['name', 'value', 'count'].map((f) => field(f)));
  const breakdownSeriesSel = selection([...['name', 'value', 'total'].map((f) => field(f)), field('points', fc.constant([]), seriesSel)]);
  const rangeArgs = [arg('granularity', optGran), arg('from', opt(dateV)), arg('to', opt(dateV)), arg('last', opt(lastV)), arg('rollingAverage', opt(smallInt))] as const;
  const counterKey = typed('String', textV(fc.oneof(fc.constantFrom('s1', 's2', '', 'x'.repeat(501), '\ud800', ' '), fc.string({ unit: codeUnit, maxLength: 8 }))));
  const externalId = typed('String', textV(fc.oneof(fc.constantFrom('u1', 'u2', '', '\ud800', 'x'.repeat(5000)), fc.string({ unit: codeUnit, maxLength: 8 }))));

  const queryField = fc.oneof(
    field('count', args(arg('set', req(setV)), zoneArg)),
    field('contains', args(arg('set', req(setV)), arg('userId', opt(optIdV, 1)), arg('externalId', opt(externalId, 5)), zoneArg)),
    field('hasEvents', args(arg('set', req(setV)), zoneArg)),
    field('members', args(arg('set', req(setV)), arg('first', opt(intOf(fc.integer({ min: 0, max: 20_000 })))), arg('after', opt(optIdV)), zoneArg), pageSel),
    field('period', args(arg('granularity', optGran), arg('at', opt(dateV)), zoneArg), periodSel),
    field('series', args(arg('set', req(setV)), ...rangeArgs, zoneArg), seriesSel),
    field(
      'cohort',
      args(
        arg('cohort', req(setV)),
        arg('activity', req(setV)),
        arg('granularity', optGran),
        arg('rows', opt(intOf(fc.integer({ min: 0, max: 200 })))),
        arg('columns', opt(intOf(fc.integer({ min: 0, max: 200 })))),
        arg('from', opt(dateV)),
        arg('to', opt(dateV)),
        arg('asPercent', opt(typed('Boolean', fc.boolean().map((v): V => ({ k: 'bool', v }))))),
        zoneArg,
      ),
      cohortSel,
    ),
    field('funnel', args(arg('steps', req(typed('[SetExpr!]!', fc.array(setV, { maxLength: 5 }).map(list)))), zoneArg), funnelSel),
    field('counters', args(arg('name', req(nameV)), arg('period', req(periodV)), arg('top', opt(intOf(fc.integer({ min: 0, max: 20_000 })))), zoneArg), counterSel),
    field('counterSeries', args(arg('name', req(nameV)), arg('key', opt(counterKey)), ...rangeArgs, zoneArg), seriesSel),
    field('countBreakdown', args(arg('period', req(periodV)), arg('prefix', req(prefixV)), arg('set', opt(setV)), zoneArg), breakdownCountSel),
    field('seriesBreakdown', args(arg('prefix', req(prefixV)), arg('set', opt(setV)), ...rangeArgs, zoneArg), breakdownSeriesSel),
    field('events', args(arg('prefix', opt(typed('String', textV(nameText))))), selection([field('name')])),
    field('counterNames', args(arg('prefix', opt(typed('String', textV(nameText)))))),
    field('__typename'),
  );

  const markInput = typed(
    'MarkEventInput!',
    fc
      .tuple(req(nameV), opt(idV, 8), opt(externalId, 1), opt(dateV), opt(typed('Boolean', fc.boolean().map((v): V => ({ k: 'bool', v })))), opt(typed('Boolean', fc.boolean().map((v): V => ({ k: 'bool', v })))))
      .map(([name, userId, ext, at, hourly, unique]) =>
        obj(['name', name], ['userId', userId], ['externalId', ext], ['at', at], ['trackHourly', hourly], ['trackUnique', unique]),
      ),
  );
  const incrementInput = fc
    .tuple(req(nameV), req(counterKey), opt(smallInt), opt(dateV))
    .map(([name, key, by, at]) => obj(['name', name], ['key', key], ['by', by], ['at', at]));
  const markSel = selection([field('marked')]);
  const counterResultSel = selection([field('incremented')]);
  const mutationField = fc.oneof(
    field('markEvent', args(arg('input', req(markInput))), markSel),
    field('markEvents', args(arg('input', req(typed('[MarkEventInput!]!', fc.array(markInput, { maxLength: 6 }).map(list))))), markSel),
    field('unmarkEvent', args(arg('input', req(markInput))), markSel),
    field('incrementCounter', args(arg('name', req(nameV)), arg('key', req(counterKey)), arg('by', opt(smallInt)), arg('at', opt(dateV))), counterResultSel),
    field('incrementCounters', args(arg('input', req(typed('[CounterIncrementInput!]!', fc.array(incrementInput, { maxLength: 4 }).map(list))))), counterResultSel),
    field('markUnique', args(arg('name', req(nameV)), arg('userId', opt(optIdV, 8)), arg('externalId', opt(externalId, 1))), markSel),
    field('unmarkUnique', args(arg('name', req(nameV)), arg('userId', opt(optIdV, 8)), arg('externalId', opt(externalId, 1))), markSel),
  );

  const operation = (kind: Operation['kind'], f: Arbitrary<Sel>): Arbitrary<Operation> =>
    fc
      .record({ kind: fc.constant(kind), name: opt(fc.constantFrom('Q', 'M', 'Op'), 3), sels: fc.array(f, { minLength: 1, maxLength: 5 }) })
      .map((op) => (malformed ? op : { ...op, sels: uniqueAliases(op.sels) }));

  const doc: Arbitrary<Request> = fc.oneof(
    { weight: 14, arbitrary: operation('query', queryField).map((op): Request => ({ k: 'doc', ops: [op] })) },
    { weight: 5, arbitrary: operation('mutation', mutationField).map((op): Request => ({ k: 'doc', ops: [op] })) },
    // Two operations: picked by operationName, or not (an error).
    {
      weight: malformed ? 1 : 0,
      arbitrary: fc
        .tuple(operation('query', queryField), operation('mutation', mutationField), opt(fc.constantFrom('Q', 'M', 'Nope')))
        .map(([q, m, pick]): Request => ({ k: 'doc', ops: [{ ...q, name: 'Q' }, { ...m, name: 'M' }], operationName: pick })),
    },
    // Around the alias limit (MAX_ALIASES 1000).
    {
      weight: 1,
      arbitrary: fc.constantFrom(999, 1000, 1001, 2000).map((n): Request => ({
        k: 'doc',
        ops: [{ kind: 'query', sels: Array.from({ length: n }, (_, i) => ({ field: 'count', alias: `a${i}`, args: [['set', obj(['ids', list([num(i)])])]], wrap: 'plain' as const })) }],
      })),
    },
    // Deep nesting written inline, after a block string with a quote in it (the bracket-depth guard must not lose count).
    {
      weight: 1,
      arbitrary: fc.tuple(deepSet, fc.constantFrom('"""a"b"""', '"""\\""""', '"""{"""')).map(([deep, block]): Request => ({
        k: 'doc',
        prelude: `# ${block}\n`,
        ops: [{ kind: 'query', sels: [{ field: 'count', args: [['set', obj(['and', list([obj(['unique', { k: 'str', v: block.slice(3, -3), style: 'block' }]), deep])])]], wrap: 'plain' }] }],
      })),
    },
  );

  /** A valid-looking document cut short, or bytes that are not a document at all. */
  const text: Arbitrary<Request> = fc.oneof(
    fc.tuple(doc, fc.double({ min: 0, max: 1, noNaN: true })).map(([d, cut]): Request => {
      const { query } = render(d);
      return { k: 'text', query: query.slice(0, Math.floor(query.length * cut)) };
    }),
    fc.string({ unit: codeUnit, maxLength: 40 }).map((query): Request => ({ k: 'text', query })),
    fc.constantFrom('{', '}', '{ count }', 'query { count(set: {}) }', 'subscription { count }', '{ __schema { types { name } } }', 'query ($x: SetExpr!) { count(set: $x) }').map(
      (query): Request => ({ k: 'text', query }),
    ),
  );
  const raw: Arbitrary<Request> = fc
    .constantFrom(
      '',
      '{',
      'null',
      '[]',
      '"query"',
      '{"query": 1}',
      '{"query": null}',
      '{"query": "{ __typename }", "variables": "x"}',
      '{"query": "{ __typename }", "variables": [1]}',
      '{"query": "{ __typename }", "operationName": 5}',
      '{"query": "{ __typename }", "extensions": "x"}',
      '{"query": ["{ __typename }"]}',
      '{"query": "{ __typename }", "variables": {"__proto__": {"x": 1}}}',
      '{"query": "query ($s: SetExpr!) { count(set: $s) }", "variables": {"s": {"__proto__": {"ids": [1]}}}}',
      '{"query": "query ($s: SetExpr!) { count(set: $s) }", "variables": {"s": {"ids": [1], "ids": [2]}}}',
    )
    .map((body): Request => ({ k: 'raw', body }));

  // A subscription has one root field (graphql-js refuses more), any of the live questions.
  const subscription: Arbitrary<Request> = fc
    .tuple(queryField.filter((f) => SUBSCRIPTION_FIELDS.has(f.field)), opt(fc.constantFrom('S', 'Live'), 3))
    // Well-typed: without a directive on the root field, so that most subscribe and then answer marks (@skip and @include there are in the malformed family).
    .map(([f, name]): Request => ({ k: 'doc', ops: [{ kind: 'subscription', name, sels: malformed ? [f] : uniqueAliases([{ ...f, directive: undefined }]) }] }));

  return {
    request: malformed ? fc.oneof({ weight: 20, arbitrary: doc }, { weight: 2, arbitrary: text }, { weight: 1, arbitrary: raw }) : doc,
    subscription,
  };
}

/**
 * A live question most of which subscribe and then answer marks of login, a and plays: every
 * Subscription field, in any granularity (MINUTE too) and zone (whole hours from UTC or not).
 */
const liveQuestion: Arbitrary<Request> = fc
  .tuple(
    fc.integer({ min: 0, max: 8 }),
    fc.constantFrom(...GRANS),
    fc.option(fc.constantFrom(...VALID_ZONES), { nil: undefined }),
    fc.integer({ min: 1, max: 40 }),
    fc.constantFrom('', 'l', 'a', 'log', 'x'),
  )
  .map(([which, g, zone, n, prefix]): Request => {
    const tz = zone === undefined ? '' : `, timeZone: ${JSON.stringify(zone)}`;
    const at = (name: string): string => `{ event: { name: "${name}", period: { current: ${g} } } }`;
    const fields = [
      `count(set: ${at('login')}${tz})`,
      `hasEvents(set: { or: [{ event: { name: "a", period: { ago: { granularity: ${g}, periods: 1 } } } }, { unique: "login" }] }${tz})`,
      `series(set: { event: { name: "login" } }, granularity: ${g}, last: ${n}${tz}) { count period { label start } }`,
      `countBreakdown(prefix: ${JSON.stringify(prefix)}, period: { current: ${g} }${tz}) { name value count }`,
      `seriesBreakdown(prefix: ${JSON.stringify(prefix)}, granularity: ${g}, last: ${Math.min(n, 5)}${tz}) { name total points { count } }`,
      `counters(name: "plays", period: { current: ${g} }${tz}) { key value }`,
      `counterSeries(name: "plays", granularity: ${g}, last: ${n}${tz}) { count }`,
      `cohort(cohort: { event: { name: "login" } }, activity: { event: { name: "a" } }, granularity: ${g}, rows: 3, columns: 3${tz}) { rows { size cells } }`,
      `funnel(steps: [${at('login')}, ${at('a')}]${tz}) { count }`,
    ];
    return { k: 'text', query: `subscription { ${fields[which]!} }` };
  });

/** Root fields of the Subscription type (each takes its query's arguments). */
const SUBSCRIPTION_FIELDS = new Set(['count', 'hasEvents', 'series', 'cohort', 'funnel', 'counters', 'counterSeries', 'countBreakdown', 'seriesBreakdown', 'counterBreakdown']);

/** Every field of a level gets its own response name, so no two can conflict (recursively). */
function uniqueAliases(sels: Sel[]): Sel[] {
  return sels.map((s, i) => ({ ...s, alias: `${s.alias ?? s.field.replace(/^__/, 't')}_${i}`, sub: s.sub && uniqueAliases(s.sub) }));
}

// ---- rendering ----

interface Rendered {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
}

/** The variables' form of a value (a variable inside a hoisted value is just its value). */
export function toJson(v: V): unknown {
  switch (v.k) {
    case 'str':
      return v.v;
    case 'num':
      return v.v;
    case 'bool':
      return v.v;
    case 'null':
      return null;
    case 'enum':
      return v.v;
    case 'list':
      return v.items.map(toJson);
    case 'obj': {
      const o: Record<string, unknown> = {};
      // defineProperty, so a field named __proto__ is sent as a field.
      for (const [k, x] of v.fields) Object.defineProperty(o, k, { value: toJson(x), enumerable: true, configurable: true, writable: true });
      return o;
    }
    case 'var':
      return v.value === undefined ? null : toJson(v.value);
    case 'deep': {
      // JSON text, spliced into the body by body(): JSON.stringify overflows the stack this deep.
      const leaf = JSON.stringify(toJson(v.leaf));
      const [open, close] =
        v.op === 'not' ? ['{"not": ', '}'] : v.op === 'minus' ? ['{"minus": {"from": ', `, "subtract": [${leaf}]}}`] : [`{"${v.op}": [`, `, ${leaf}]}`];
      return new RawJson(open.repeat(v.levels) + leaf + close.repeat(v.levels));
    }
  }
}

/** JSON text to be sent as it is. */
class RawJson {
  constructor(readonly text: string) {}
}

export function render(req: Request): Rendered {
  if (req.k !== 'doc') throw new Error('only documents are rendered');
  const variables: Record<string, unknown> = {};
  const fragments: string[] = [];
  let next = 0;

  const lit = (v: V, decls: string[]): string => {
    switch (v.k) {
      case 'str':
        if (v.style === 'block') return `"""${v.v.replace(/"""/g, '\\"""')}"""`;
        if (v.style === 'raw') return `"${v.v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
        return JSON.stringify(v.v);
      case 'num':
        return String(v.v);
      case 'bool':
        return String(v.v);
      case 'null':
        return 'null';
      case 'enum':
        return v.v;
      case 'list':
        return `[${v.items.map((x) => lit(x, decls)).join(', ')}]`;
      case 'obj':
        return `{${v.fields.map(([k, x]) => `${k}: ${lit(x, decls)}`).join(', ')}}`;
      case 'var': {
        const name = `v${next++}`;
        decls.push(`$${name}: ${v.type}`);
        if (v.value !== undefined) variables[name] = toJson(v.value);
        return `$${name}`;
      }
      case 'deep': {
        const leaf = lit(v.leaf, decls);
        const [open, close] =
          v.op === 'not' ? ['{not: ', '}'] : v.op === 'minus' ? ['{minus: {from: ', `, subtract: [${leaf}]}}`] : [`{${v.op}: [`, `, ${leaf}]}`];
        return open.repeat(v.levels) + leaf + close.repeat(v.levels);
      }
    }
  };

  const sels = (list: Sel[], parent: string, decls: string[]): string => {
    const parts = list.map((s) => {
      const a = s.args.length ? `(${s.args.map(([k, x]) => `${k}: ${lit(x, decls)}`).join(', ')})` : '';
      const d = s.directive ? ` @${s.directive[0]}(if: ${lit(s.directive[1], decls)})` : '';
      const sub = s.sub ? ` { ${sels(s.sub, SUB_TYPES[s.field] ?? parent, decls)} }` : '';
      const text = `${s.alias ? `${s.alias}: ` : ''}${s.field}${a}${d}${sub}`;
      if (s.wrap === 'inline') return `... on ${parent} { ${text} }`;
      if (s.wrap === 'named') {
        const f = `F${fragments.length}`;
        fragments.push(`fragment ${f} on ${parent} { ${text} }`);
        return `...${f}`;
      }
      return text;
    });
    return parts.join(' ');
  };

  const ops = req.ops.map((op) => {
    const decls: string[] = [];
    const body = sels(op.sels, op.kind === 'query' ? 'Query' : op.kind === 'mutation' ? 'Mutation' : 'Subscription', decls);
    const head = op.name || decls.length ? `${op.kind} ${op.name ?? ''}${decls.length ? `(${decls.join(', ')})` : ''} ` : op.kind === 'query' ? '' : `${op.kind} `;
    return `${head}{ ${body} }`;
  });
  return { query: (req.prelude ?? '') + [...ops, ...fragments].join('\n'), variables, operationName: req.operationName };
}

/** The output type of a field with a sub-selection (for fragment type conditions). */
const SUB_TYPES: Record<string, string> = {
  members: 'MemberPage',
  period: 'Period',
  previous: 'Period',
  next: 'Period',
  shift: 'Period',
  series: 'SeriesPoint',
  counterSeries: 'SeriesPoint',
  cohort: 'CohortTable',
  rows: 'CohortRow',
  funnel: 'FunnelStep',
  counters: 'CounterValue',
  countBreakdown: 'BreakdownCount',
  seriesBreakdown: 'BreakdownSeries',
  points: 'SeriesPoint',
  events: 'Event',
  markEvent: 'MarkResult',
  markEvents: 'MarkResult',
  unmarkEvent: 'MarkResult',
  markUnique: 'MarkResult',
  unmarkUnique: 'MarkResult',
  incrementCounter: 'CounterResult',
  incrementCounters: 'CounterResult',
};

/** The HTTP body of a request. */
export function body(req: Request): string {
  if (req.k === 'raw') return req.body;
  if (req.k === 'text') return JSON.stringify({ query: req.query });
  const raws: string[] = [];
  const text = JSON.stringify(render(req), (_, value: unknown) => (value instanceof RawJson ? `\u0000raw${raws.push(value.text) - 1}\u0000` : value));
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_, i: string) => raws[Number(i)]!);
}

/** The body, cut to a readable length. */
export function shortBody(req: Request, max = 2000): string {
  const b = body(req);
  return b.length > max ? `${b.slice(0, max)}… (${b.length} characters)` : b;
}
