// Key layout: where an event's period bitmap lives. "bitmapist" is Doist bitmapist's exact layout.

import { civilFromDays, isoWeek, monthsOfYear, periodStartCivil, weekIndexOfIso, daysFromCivil } from './period.ts';
import type { Granularity, Period } from './period.ts';

/** What a key holds, as read back from its name. */
export type KeyInfo = { name: string; period: Period } | { name: string; unique: true };

export interface KeyLayout {
  readonly prefix: string;
  /** Keys whose union is the event's set in the period (YEAR: its 12 months). */
  eventKeys(name: string, period: Period): string[];
  /** The event's date-free set. */
  uniqueKey(name: string): string;
  /** Prefix of temporary result keys; never an event name (names may not start with bitop_). */
  readonly tempPrefix: string;
  /** SCAN pattern for every key of this layout (optionally of events whose names start with a prefix). */
  scanPattern(namePrefix?: string): string;
  /** SCAN pattern for every key of one event. */
  eventPattern(name: string): string;
  parse(key: string): KeyInfo | null;
  /** Prefix of counter hashes; disjoint from every event key. */
  readonly counterPrefix: string;
  /** Hashes whose sum is a counter's values in the period (YEAR: its 12 months). */
  counterKeys(name: string, period: Period): string[];
  /**
   * String id mapping (opt-in): `forward` hash external id → dense id, `reverse` hash dense id →
   * external id, `next` the next dense id to hand out. Disjoint from event and counter keys.
   */
  readonly idKeys: { readonly forward: string; readonly reverse: string; readonly next: string };
  /** Hash of imported files: field `<sha256>` = lines committed, `<sha256>:done` = 1 once complete. */
  readonly importsKey: string;
}

/**
 * bitmapist: `trackist_<event>_<suffix>`, numbers not zero-padded, ISO week-year for weeks.
 * MINUTE is ours, not bitmapist's (it has no minute keys): `m<y>-<m>-<d>-<h>-<minute>`, e.g.
 * `m2026-11-22-9-5`. The leading `m` sets it apart at a glance and from any form bitmapist has
 * or might add (a bare fifth number); no bitmapist suffix starts with `m`, and the suffix is
 * what follows the key's last `_`, so no key can be read both ways.
 */
export function periodSuffix(p: Period): string {
  const c = periodStartCivil(p);
  switch (p.granularity) {
    case 'MINUTE':
      return `m${c.year}-${c.month}-${c.day}-${c.hour}-${c.minute}`;
    case 'HOUR':
      return `${c.year}-${c.month}-${c.day}-${c.hour}`;
    case 'DAY':
      return `${c.year}-${c.month}-${c.day}`;
    case 'WEEK': {
      const w = isoWeek(p.index);
      return `W${w.year}-${w.week}`;
    }
    case 'MONTH':
      return `${c.year}-${c.month}`;
    case 'YEAR':
      throw new Error('a YEAR has no key of its own');
  }
}

// The week that holds 0000-01-01 belongs to ISO week-year -1 (W-1-52).
const SUFFIX = /_(?:(u)|W(-?\d+)-(\d+)|(\d+)-(\d+)(?:-(\d+)(?:-(\d+))?)?|m(\d+)-(\d+)-(\d+)-(\d+)-(\d+))$/;

export function parseSuffix(rest: string): KeyInfo | null {
  const m = SUFFIX.exec(rest);
  if (!m) return null;
  const name = rest.slice(0, m.index);
  if (!name) return null;
  const [, u, wy, ww, by, bmo, bd, bh, my, mmo, md, mh, mmi] = m;
  if (u) return { name, unique: true };
  const num = Number;
  const y = by ?? my;
  const mo = bmo ?? mmo;
  const d = bd ?? md;
  const h = bh ?? mh;
  let granularity: Granularity;
  let index: number;
  if (mmi !== undefined) {
    granularity = 'MINUTE';
    index = (daysFromCivil(num(y), num(mo), num(d)) * 24 + num(h)) * 60 + num(mmi);
  } else if (wy) {
    granularity = 'WEEK';
    index = weekIndexOfIso(num(wy), num(ww));
  } else if (h !== undefined) {
    granularity = 'HOUR';
    index = daysFromCivil(num(y), num(mo), num(d)) * 24 + num(h);
  } else if (d !== undefined) {
    granularity = 'DAY';
    index = daysFromCivil(num(y), num(mo), num(d));
  } else {
    granularity = 'MONTH';
    index = num(y) * 12 + num(mo) - 1;
  }
  const period = { granularity, index };
  // Reject names whose numbers do not round-trip (e.g. 2026-13 or 2026-02-31).
  if (granularity !== 'WEEK' && `_${periodSuffix(period)}` !== m[0]) return null;
  if (granularity === 'DAY' || granularity === 'HOUR' || granularity === 'MINUTE') {
    const back = civilFromDays(Math.floor(index / (granularity === 'MINUTE' ? 1440 : granularity === 'HOUR' ? 24 : 1)));
    if (back.day !== num(d)) return null;
  }
  return { name, period };
}

/**
 * Counters are not part of bitmapist: they live in hashes under `trackist:counter:` (the
 * prefix with its trailing `_` swapped for `:counter:`), which no `trackist_…` event key
 * can equal: `trackist:counter:<name>:<period suffix>`, one field per counted key. String id
 * mappings and the import ledger live beside them under `trackist:` too.
 */
export const metaPrefixFor = (prefix: string): string => `${prefix.replace(/_$/, '')}:`;
export const counterPrefixFor = (prefix: string): string => `${metaPrefixFor(prefix)}counter:`;

/** Period suffixes are computed once per period (a dashboard names the same few periods many times). */
const suffixes = new Map<string, string>();
function cachedSuffix(p: Period): string {
  const id = `${p.granularity}${p.index}`;
  let s = suffixes.get(id);
  if (s === undefined) {
    if (suffixes.size >= 100_000) suffixes.clear();
    s = periodSuffix(p);
    suffixes.set(id, s);
  }
  return s;
}

export function bitmapistLayout(prefix = 'trackist_'): KeyLayout {
  const eventKey = (name: string, p: Period): string => `${prefix}${name}_${cachedSuffix(p)}`;
  const counterPrefix = counterPrefixFor(prefix);
  const counterKey = (name: string, p: Period): string => `${counterPrefix}${name}:${cachedSuffix(p)}`;
  const meta = metaPrefixFor(prefix);
  return {
    prefix,
    counterPrefix,
    idKeys: { forward: `${meta}ids:forward`, reverse: `${meta}ids:reverse`, next: `${meta}ids:next` },
    importsKey: `${meta}imports`,
    counterKeys: (name, period) =>
      period.granularity === 'YEAR' ? monthsOfYear(period).map((m) => counterKey(name, m)) : [counterKey(name, period)],
    tempPrefix: `${prefix}bitop_`,
    eventKeys: (name, period) =>
      period.granularity === 'YEAR' ? monthsOfYear(period).map((m) => eventKey(name, m)) : [eventKey(name, period)],
    uniqueKey: (name) => `${prefix}${name}_u`,
    scanPattern: (namePrefix = '') => `${prefix}${namePrefix}*`,
    eventPattern: (name) => `${prefix}${name}_*`,
    parse(key) {
      if (!key.startsWith(prefix) || key.startsWith(`${prefix}bitop_`)) return null;
      return parseSuffix(key.slice(prefix.length));
    },
  };
}
