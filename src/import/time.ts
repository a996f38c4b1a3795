// Instants of imported lines, fast: ISO-8601 stamps of one hour share their first 13 characters,
// so that prefix is parsed once; wall-clock hours and minutes in the configured zone come from the
// zone's offset, looked up once per UTC hour.

import { parseTimeInput, resolveTime } from '../bitmap/period.ts';
import type { TimeZone } from '../bitmap/period.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Instants a Date can hold. */
const MAX_MS = 8.64e15;

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const isDigit = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};

export class LineClock {
  /** `YYYY-MM-DDTHH` of the last stamp parsed on the fast path, and its instant. */
  private prefix = '';
  private prefixMs = 0;
  private readonly prefixes = new Map<string, number>();
  /** Per UTC hour: the zone's offset when constant through the hour, else NaN. */
  private readonly offsets = new Map<number, number>();
  private lastUtcHour = NaN;
  private lastOffset = NaN;
  private readonly utc: boolean;

  constructor(private readonly tz: TimeZone) {
    this.utc = tz.name === 'UTC';
  }

  /** ms since the epoch of an ISO-8601 string or an epoch-ms number; NaN when it is neither. */
  instant(v: unknown): number {
    if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) <= MAX_MS ? Math.floor(v) : NaN;
    if (typeof v !== 'string') return NaN;
    const fast = this.fastIso(v);
    if (!Number.isNaN(fast)) return fast;
    try {
      const ms = resolveTime(parseTimeInput(v), this.tz);
      return Math.abs(ms) <= MAX_MS ? ms : NaN;
    } catch {
      return NaN;
    }
  }

  /** `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, the common shape; NaN for anything else (then the full parser decides). */
  private fastIso(s: string): number {
    const n = s.length;
    if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
    let base: number;
    if (s.startsWith(this.prefix) && this.prefix !== '') base = this.prefixMs;
    else {
      const p = s.slice(0, 13);
      let known = this.prefixes.get(p);
      if (known === undefined) {
        if (s.charCodeAt(10) !== 84 /* T */) return NaN;
        try {
          const t = parseTimeInput(`${p}:00:00Z`);
          known = 'utcMs' in t ? t.utcMs : NaN;
        } catch {
          known = NaN;
        }
        if (this.prefixes.size >= 100_000) this.prefixes.clear();
        this.prefixes.set(p, known);
      }
      if (Number.isNaN(known)) return NaN;
      this.prefix = p;
      this.prefixMs = base = known;
    }
    if (!isDigit(s, 14) || !isDigit(s, 15) || !isDigit(s, 17) || !isDigit(s, 18)) return NaN;
    const minute = digit(s, 14) * 10 + digit(s, 15);
    const second = digit(s, 17) * 10 + digit(s, 18);
    if (minute > 59 || second > 59) return NaN;
    let ms = 0;
    if (n > 20) {
      // .f, .ff, .fff or more digits: the first three are milliseconds.
      if (s.charCodeAt(19) !== 46 && s.charCodeAt(19) !== 44) return NaN;
      if (n < 22) return NaN;
      for (let i = 20; i < n - 1; i++) {
        if (!isDigit(s, i)) return NaN;
        if (i < 23) ms += digit(s, i) * (i === 20 ? 100 : i === 21 ? 10 : 1);
      }
    }
    return base + minute * 60_000 + second * 1000 + ms;
  }

  /** Hours since 1970-01-01T00 of the wall clock in the zone at `ms` (the index of its HOUR period). */
  localHour(ms: number): number {
    return Math.floor(this.localMs(ms) / HOUR);
  }

  /** Minutes since 1970-01-01T00:00 of the wall clock in the zone at `ms` (the index of its MINUTE period). */
  localMinute(ms: number): number {
    return Math.floor(this.localMs(ms) / MINUTE);
  }

  /** The wall clock in the zone at `ms`, as ms since 1970-01-01T00:00 of that clock. */
  private localMs(ms: number): number {
    if (this.utc) return ms;
    const utcHour = Math.floor(ms / HOUR);
    let offset: number;
    if (utcHour === this.lastUtcHour) offset = this.lastOffset;
    else {
      let known = this.offsets.get(utcHour);
      if (known === undefined) {
        const start = utcHour * HOUR;
        const a = this.tz.offsetAt(start);
        const b = this.tz.offsetAt(start + HOUR - 1);
        known = a === b ? a : NaN;
        if (this.offsets.size >= 100_000) this.offsets.clear();
        this.offsets.set(utcHour, known);
      }
      this.lastUtcHour = utcHour;
      this.lastOffset = offset = known;
    }
    // The zone changes its offset within this hour: ask it for this very instant.
    if (Number.isNaN(offset)) offset = this.tz.offsetAt(ms);
    return ms + offset;
  }
}
