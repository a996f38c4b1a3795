// Lines to events: each JSON line of a batch read through the ImportSpec into its wall-clock
// hour, its id, the event names it marks and the keys it counts. A line without a time or an id
// is kept as a skip, with the reason and its line number; a template that cannot be filled from
// a line (a field missing, a value not in its map) misses that line alone, with its reason, and
// the line's other templates are still written.

import { assertCounterKey } from '../bitmap/counters.ts';
import { MAX_USER_ID, assertEventName } from '../bitmap/errors.ts';
import { assertExternalId } from '../bitmap/ids.ts';
import type { BatchBuilder, CountTarget, MarkTarget } from './batch.ts';
import type { LineBatch } from './reader.ts';
import { compileTemplate, fieldGetter, textOf } from './spec.ts';
import type { Getter, ImportSpec, Template } from './spec.ts';
import type { LineClock } from './time.ts';

/**
 * A batch of lines, parsed. Per line with a time and an id: its line number, its wall-clock minute
 * (the index of its MINUTE period in the zone; its hour is minute / 60, rounded down), its id, its mark targets (marksPerLine a line) and
 * counted keys (countsPerLine a line), null where the template misses the line.
 */
export interface ParsedBatch {
  readonly batch: LineBatch;
  /** [reason, line number] of each line with no time or id (or filtered out). */
  readonly skips: Array<[string, number]>;
  readonly lines: number[];
  readonly minutes: number[];
  /** A string id not resolved yet stays a string until the batch's ids are. */
  readonly ids: Array<string | number>;
  readonly lineMarks: Array<MarkTarget | null>;
  readonly lineCounts: Array<string | null>;
  /** [index in `lines`, template (marks, then counters), reason] of each template that misses a line. */
  readonly misses: Array<[number, number, string]>;
  /** Field names seen in the batch's first lines (dotted below the top level), for suggestions. */
  readonly fields: string[];
  /** Per --where field: lines of the batch that have it. */
  readonly wherePresent: number[];
}

/** The id of a line that writes nothing. */
export const NO_ID = -1;

/** Reasons for a field a line lacks read `no <field>`. */
export const noField = (field: string): string => `no ${field}`;
/** Reasons for a value its map lacks read `unmapped <field> (--map <name>)`. */
export const unmapped = (field: string, map: string): string => `unmapped ${field} (--map ${map})`;

/** Names filled from a template, each checked once (a batch repeats the same few names). */
export class NameResolver<T> {
  private readonly cache = new Map<string, T | null>();
  private readonly constant: T | null | undefined;
  private readonly single: Getter | undefined;
  /** Why the last resolve() gave undefined. */
  reason = '';
  /** A value that was not in its map (the first one met), for the summary. */
  unmappedExample: string | undefined;

  /** `make` turns a filled name into its target, or null when the name is refused (`badReason`). */
  constructor(
    private readonly template: Template,
    private readonly make: (filled: string) => T | null,
    private readonly badReason: string,
  ) {
    if (template.fields.length === 0) this.constant = make(template.literals[0]!);
    else if (template.fields.length === 1 && template.literals[0] === '' && template.literals[1] === '' && !template.maps[0]) {
      this.single = template.getters[0];
    }
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
        let v = textOf(t.getters[i]!(o));
        if (v === undefined) return this.missing(o, i);
        const map = t.maps[i];
        if (map) {
          const mapped = map.get(v);
          if (mapped === undefined) {
            this.unmappedExample ??= v;
            this.reason = unmapped(t.fields[i]!, t.mapNames[i]!);
            return undefined;
          }
          v = mapped;
        }
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
    this.reason = v === undefined || v === null ? noField(this.template.fields[i]!) : this.badReason;
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
  readonly marks: ReadonlyArray<NameResolver<MarkTarget>>;
  readonly countKeys: ReadonlyArray<NameResolver<string>>;
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
      (m) =>
        new NameResolver<MarkTarget>(
          compileTemplate(m, '--mark', true, spec.maps),
          orNull((name) => builder.markTarget(assertEventName(name))),
          'bad event name',
        ),
    );
    const countEntries = Object.entries(spec.counts);
    this.counters = countEntries.map(([name]) => builder.countTarget(name));
    this.countKeys = countEntries.map(
      ([name, key]) => new NameResolver<string>(compileTemplate(key, `--count ${name}`, false, spec.maps), orNull(assertCounterKey), 'bad counter key'),
    );
    this.marksPerLine = this.marks.length;
    this.countsPerLine = this.countKeys.length;
  }

  /** What each line marks and counts, and why lines and templates are skipped. */
  parse(b: LineBatch): ParsedBatch {
    const { spec, clock, marks, countKeys, where, getTimestamp, getId } = this;
    const M = this.marksPerLine;
    const C = this.countsPerLine;
    const { lines, firstLine } = b;
    const skips: Array<[string, number]> = [];
    const lineNumbers: number[] = [];
    const minutes: number[] = [];
    const ids: Array<string | number> = [];
    const lineMarks: Array<MarkTarget | null> = [];
    const lineCounts: Array<string | null> = [];
    const misses: Array<[number, number, string]> = [];
    const fields = new Set<string>();
    const wherePresent = where.map(() => 0);
    const skip = (reason: string, i: number): void => {
      skips.push([reason, firstLine + i]);
    };
    for (let i = 0; i < lines.length; i++) {
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
      if (i < FIELD_SAMPLE_LINES) sampleFields(o, fields);
      let filtered = false;
      for (let w = 0; w < where.length; w++) {
        const v = where[w]![0](o);
        if (v !== undefined) wherePresent[w]!++;
        if (textOf(v) !== where[w]![1]) filtered = true;
      }
      if (filtered) {
        skip('filtered', i);
        continue;
      }
      const tv = getTimestamp(o);
      if (tv === undefined || tv === null) {
        skip(noField(spec.timestamp), i);
        continue;
      }
      const ms = clock.instant(tv);
      if (Number.isNaN(ms)) {
        skip('bad timestamp', i);
        continue;
      }
      const iv = getId(o);
      if (iv === undefined || iv === null) {
        skip(noField(spec.id), i);
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
      const at = minutes.length;
      let filled = 0;
      for (let m = 0; m < M; m++) {
        const t = marks[m]!.resolve(o);
        if (t === undefined) misses.push([at, m, marks[m]!.reason]);
        else filled++;
        lineMarks.push(t ?? null);
      }
      for (let c = 0; c < C; c++) {
        const k = countKeys[c]!.resolve(o);
        if (k === undefined) misses.push([at, M + c, countKeys[c]!.reason]);
        else filled++;
        lineCounts.push(k ?? null);
      }
      lineNumbers.push(firstLine + i);
      minutes.push(clock.localMinute(ms));
      // A line no template can be filled from needs no id: a new string id would be assigned for nothing.
      ids.push(filled > 0 ? id : NO_ID);
    }
    return { batch: b, skips, lines: lineNumbers, minutes, ids, lineMarks, lineCounts, misses, fields: [...fields], wherePresent };
  }

  /** The resolver of template `t` (marks, then counters). */
  resolver(t: number): NameResolver<MarkTarget> | NameResolver<string> {
    return t < this.marksPerLine ? this.marks[t]! : this.countKeys[t - this.marksPerLine]!;
  }
}

/** Lines of each batch whose field names are sampled: enough to suggest a field, cheap to read. */
const FIELD_SAMPLE_LINES = 32;

/** Top-level field names and, one level down, dotted ones (`who.plan`). */
function sampleFields(o: Record<string, unknown>, into: Set<string>): void {
  for (const k in o) {
    into.add(k);
    const v = o[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const k2 in v as object) into.add(`${k}.${k2}`);
  }
}
