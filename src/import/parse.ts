// Lines to events: each JSON line of a batch read through the ImportSpec into its wall-clock
// hour, its id, the event names it marks and the keys it counts; a line that cannot be imported
// is kept as a skip, with the reason and its line number.

import { assertCounterKey } from '../bitmap/counters.ts';
import { MAX_USER_ID, assertEventName } from '../bitmap/errors.ts';
import { assertExternalId } from '../bitmap/ids.ts';
import type { BatchBuilder, CountTarget, MarkTarget } from './batch.ts';
import type { LineBatch } from './reader.ts';
import { compileTemplate, fieldGetter, textOf } from './spec.ts';
import type { Getter, ImportSpec, Template } from './spec.ts';
import type { LineClock } from './time.ts';

/**
 * A batch of lines, parsed. Per imported line: its wall-clock hour (the index of its HOUR period
 * in the zone), its id, its mark targets (marksPerLine a line) and counted keys (countsPerLine a line).
 */
export interface ParsedBatch {
  readonly batch: LineBatch;
  /** [reason, line number] of each line not imported. */
  readonly skips: Array<[string, number]>;
  readonly hours: number[];
  /** A string id not resolved yet stays a string until the batch's ids are. */
  readonly ids: Array<string | number>;
  readonly lineMarks: MarkTarget[];
  readonly lineCounts: string[];
}

/** Names filled from a template, each checked once (a batch repeats the same few names). */
export class NameResolver<T> {
  private readonly cache = new Map<string, T | null>();
  private readonly constant: T | null | undefined;
  private readonly single: Getter | undefined;
  /** Why the last resolve() gave undefined. */
  reason = '';

  /** `make` turns a filled name into its target, or null when the name is refused (`badReason`). */
  constructor(
    private readonly template: Template,
    private readonly make: (filled: string) => T | null,
    private readonly badReason: string,
  ) {
    if (template.fields.length === 0) this.constant = make(template.literals[0]!);
    else if (template.fields.length === 1 && template.literals[0] === '' && template.literals[1] === '') this.single = template.getters[0];
  }

  resolve(o: Record<string, unknown>): T | undefined {
    if (this.constant !== undefined) {
      if (this.constant === null) this.reason = this.badReason;
      return this.constant ?? undefined;
    }
    let filled: string;
    const t = this.template;
    if (this.single) {
      const v = textOf(this.single(o));
      if (v === undefined) return this.missing(o, 0);
      filled = v;
    } else {
      filled = t.literals[0]!;
      for (let i = 0; i < t.getters.length; i++) {
        const v = textOf(t.getters[i]!(o));
        if (v === undefined) return this.missing(o, i);
        filled += v + t.literals[i + 1]!;
      }
    }
    let r = this.cache.get(filled);
    if (r === undefined) {
      r = this.make(filled);
      if (this.cache.size >= 1_000_000) this.cache.clear();
      this.cache.set(filled, r);
    }
    if (r === null) this.reason = this.badReason;
    return r ?? undefined;
  }

  private missing(o: Record<string, unknown>, i: number): undefined {
    const v = this.template.getters[i]!(o);
    this.reason = v === undefined || v === null ? `no ${this.template.fields[i]}` : this.badReason;
    return undefined;
  }
}

/** Names and keys are checked by src/bitmap's own rules, so an import refuses what the API refuses. */
const orNull =
  <T>(check: (name: string) => T) =>
  (name: string): T | null => {
    try {
      return check(name);
    } catch {
      return null;
    }
  };

const externalId = orNull(assertExternalId);

export class LineParser {
  readonly marksPerLine: number;
  readonly countsPerLine: number;
  /** The spec's counters, in the order of a line's counted keys. */
  readonly counters: readonly CountTarget[];
  private readonly marks: ReadonlyArray<NameResolver<MarkTarget>>;
  private readonly countKeys: ReadonlyArray<NameResolver<string>>;
  private readonly getTimestamp: Getter;
  private readonly getId: Getter;
  private readonly where: ReadonlyArray<readonly [Getter, string]>;

  /**
   * `builder` makes the targets lines are marked and counted under; `knownId` gives the dense id
   * of a string id resolved already, so only new ones wait for the store.
   */
  constructor(
    private readonly spec: ImportSpec,
    private readonly clock: LineClock,
    builder: BatchBuilder,
    private readonly knownId: (external: string) => number | undefined,
  ) {
    this.getTimestamp = fieldGetter(spec.timestamp);
    this.getId = fieldGetter(spec.id);
    this.where = Object.entries(spec.where).map(([f, v]) => [fieldGetter(f), v] as const);
    this.marks = spec.marks.map(
      (m) => new NameResolver<MarkTarget>(compileTemplate(m, '--mark'), orNull((name) => builder.markTarget(assertEventName(name))), 'bad event name'),
    );
    const countEntries = Object.entries(spec.counts);
    this.counters = countEntries.map(([name]) => builder.countTarget(name));
    this.countKeys = countEntries.map(
      ([name, key]) => new NameResolver<string>(compileTemplate(key, `--count ${name}`, false), orNull(assertCounterKey), 'bad counter key'),
    );
    this.marksPerLine = this.marks.length;
    this.countsPerLine = this.countKeys.length;
  }

  /** What each imported line marks and counts, and why the others are skipped. */
  parse(b: LineBatch): ParsedBatch {
    const { spec, clock, marks, countKeys, where, getTimestamp, getId } = this;
    const M = this.marksPerLine;
    const C = this.countsPerLine;
    const { lines, firstLine } = b;
    const skips: Array<[string, number]> = [];
    const hours: number[] = [];
    const ids: Array<string | number> = [];
    const lineMarks: MarkTarget[] = [];
    const lineCounts: string[] = [];
    const skip = (reason: string, i: number): void => {
      skips.push([reason, firstLine + i]);
    };
    lines: for (let i = 0; i < lines.length; i++) {
      const text = lines[i]!;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(text) as Record<string, unknown>;
      } catch {
        skip(text.trim() === '' ? 'empty line' : 'invalid JSON', i);
        continue;
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) {
        skip('not a JSON object', i);
        continue;
      }
      for (const [get, value] of where) {
        if (textOf(get(o)) !== value) {
          skip('filtered', i);
          continue lines;
        }
      }
      const tv = getTimestamp(o);
      if (tv === undefined || tv === null) {
        skip(`no ${spec.timestamp}`, i);
        continue;
      }
      const ms = clock.instant(tv);
      if (Number.isNaN(ms)) {
        skip('bad timestamp', i);
        continue;
      }
      const iv = getId(o);
      if (iv === undefined || iv === null) {
        skip(`no ${spec.id}`, i);
        continue;
      }
      let id: string | number;
      if (spec.numericIds) {
        const n = typeof iv === 'number' ? iv : typeof iv === 'string' && /^\d{1,10}$/.test(iv) ? Number(iv) : NaN;
        if (!Number.isInteger(n) || n < 0 || n > MAX_USER_ID) {
          skip('bad id', i);
          continue;
        }
        id = n;
      } else {
        const s = textOf(iv);
        // Known already: its dense id (it was checked when first seen); else the string, checked
        // as the API checks an externalId and resolved for the whole batch at once.
        const known = s === undefined ? undefined : this.knownId(s);
        if (known !== undefined) id = known;
        else if (s !== undefined && externalId(s) !== null) id = s;
        else {
          skip('bad id', i);
          continue;
        }
      }
      const atM = lineMarks.length;
      for (let m = 0; m < M; m++) {
        const t = marks[m]!.resolve(o);
        if (t === undefined) {
          lineMarks.length = atM;
          skip(marks[m]!.reason, i);
          continue lines;
        }
        lineMarks.push(t);
      }
      const atC = lineCounts.length;
      for (let c = 0; c < C; c++) {
        const k = countKeys[c]!.resolve(o);
        if (k === undefined) {
          lineMarks.length = atM;
          lineCounts.length = atC;
          skip(countKeys[c]!.reason, i);
          continue lines;
        }
        lineCounts.push(k);
      }
      hours.push(clock.localHour(ms));
      ids.push(id);
    }
    return { batch: b, skips, hours, ids, lineMarks, lineCounts };
  }
}
