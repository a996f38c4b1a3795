// What an import writes: the mapping from a JSON line to marks and counter increments.
//
// A mapping names the timestamp and id fields, the marks (event name templates such as
// `launch:provider:{provider}`), the counters (`launches` = `{provider}`) and filters. It comes
// from flags or a JSON mapping file ({timestamp, id, numericIds, marks, counts, where}); a flag
// given replaces the file's value of that setting.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MAX_COUNTER_KEY_LENGTH } from '../bitmap/counters.ts';
import { assertEventName } from '../bitmap/errors.ts';
import type { BitmapError } from '../bitmap/errors.ts';
import { UsageError } from '../usage-error.ts';

export interface ImportSpec {
  /** Field of the event's instant: an ISO-8601 string or epoch milliseconds. */
  readonly timestamp: string;
  /** Field of the entity id. */
  readonly id: string;
  /** The id field holds integers in [0, 2^32), used as they are; otherwise ids are mapped strings. */
  readonly numericIds: boolean;
  /** Event name templates. */
  readonly marks: readonly string[];
  /** Counter name → template of the counted key; each line adds 1. */
  readonly counts: Readonly<Record<string, string>>;
  /** Only lines whose field equals the value (as text) are imported. */
  readonly where: Readonly<Record<string, string>>;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** The mapping file: every setting optional (flags may give it). */
export const mappingFileSchema = z.strictObject({
  timestamp: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  numericIds: z.boolean().optional(),
  marks: z.array(z.string()).optional(),
  counts: z.record(z.string(), z.string()).optional(),
  where: z.record(z.string(), scalar).optional(),
});
export type MappingFile = z.output<typeof mappingFileSchema>;

export function readMappingFile(path: string): MappingFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--mapping ${path}: ${(e as Error).message}`);
  }
  const parsed = mappingFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`);
    throw new UsageError(
      `--mapping ${path}: ${problems.join('; ')} (expected {"timestamp": "…", "id": "…", "numericIds": false, "marks": ["…"], "counts": {"name": "{field}"}, "where": {"field": "value"}})`,
    );
  }
  return parsed.data;
}

/** `name=template` (a counter) or `field=value` (a filter); the value may contain `=`. */
export function splitPair(text: string, flag: string, what: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected ${what}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

export interface SpecFlags {
  timestamp?: string;
  id?: string;
  numericIds?: boolean;
  mark?: string[];
  count?: string[];
  where?: string[];
}

/** Flags over the mapping file over the defaults; checked as a whole (every template compiled). */
export function resolveSpec(flags: SpecFlags, file: MappingFile = {}): ImportSpec {
  const counts = flags.count?.length
    ? Object.fromEntries(flags.count.map((c) => splitPair(c, '--count', 'name=template, e.g. launches={provider}')))
    : (file.counts ?? {});
  const where = flags.where?.length
    ? Object.fromEntries(flags.where.map((w) => splitPair(w, '--where', 'field=value, e.g. status=success')))
    : (file.where ?? {});
  const spec: ImportSpec = {
    timestamp: flags.timestamp ?? file.timestamp ?? 'timestamp',
    id: flags.id ?? file.id ?? '',
    numericIds: flags.numericIds ?? file.numericIds ?? false,
    marks: flags.mark?.length ? flags.mark : (file.marks ?? []),
    counts,
    where,
  };
  checkSpec(spec);
  return spec;
}

export function checkSpec(spec: ImportSpec): void {
  if (!spec.id) throw new UsageError('the id field is required: --id <field> (or "id" in the --mapping file)');
  if (!spec.timestamp) throw new UsageError('the timestamp field must not be empty');
  if (spec.marks.length === 0 && Object.keys(spec.counts).length === 0) {
    throw new UsageError('nothing to write: give at least one --mark <template> or --count <name>=<template>');
  }
  for (const m of spec.marks) compileTemplate(m, '--mark');
  for (const [name, key] of Object.entries(spec.counts)) {
    try {
      assertEventName(name, 'counter name');
    } catch (e) {
      throw new UsageError(`--count ${name}=${key}: ${(e as Error).message}`);
    }
    compileTemplate(key, `--count ${name}`, false);
  }
}

// ---- templates ----------------------------------------------------------------------------

/** Reads a field, or a nested one by a dotted path (`a.b`) when there is no field of that exact name. */
export type Getter = (o: Record<string, unknown>) => unknown;

export function fieldGetter(path: string): Getter {
  if (!path.includes('.')) return (o) => o[path];
  const parts = path.split('.');
  return (o) => {
    const direct = o[path];
    if (direct !== undefined) return direct;
    let v: unknown = o;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

export interface Template {
  readonly text: string;
  /** Literal parts; `literals.length === fields.length + 1`. */
  readonly literals: readonly string[];
  readonly fields: readonly string[];
  readonly getters: readonly Getter[];
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * `launch:provider:{provider}` → literals ['launch:provider:', ''], fields ['provider']. An
 * event name template's literal parts are checked once here (with a stand-in for each field),
 * so a line can only fail on its values.
 */
export function compileTemplate(text: string, flag: string, eventName = true): Template {
  const literals: string[] = [];
  const fields: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const field = m[1]!.trim();
    if (!field) throw new UsageError(`${flag} ${JSON.stringify(text)}: empty {} (expected {field})`);
    literals.push(text.slice(last, m.index));
    fields.push(field);
    last = m.index + m[0].length;
  }
  literals.push(text.slice(last));
  if (literals.some((l) => l.includes('{') || l.includes('}'))) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: unbalanced { or } (fields are written {field})`);
  }
  if (eventName) {
    try {
      assertEventName(literals.join('x'), 'event name');
    } catch (e) {
      throw new UsageError(`${flag} ${JSON.stringify(text)}: ${(e as BitmapError).message}`);
    }
  } else if (text.length === 0 || (fields.length === 0 && text.length > MAX_COUNTER_KEY_LENGTH)) {
    throw new UsageError(`${flag}: the counted key must be 1 to ${MAX_COUNTER_KEY_LENGTH} characters`);
  }
  return { text, literals, fields, getters: fields.map(fieldGetter) };
}

/** A value fit for a name or key: strings, numbers and booleans as text; anything else is not. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
