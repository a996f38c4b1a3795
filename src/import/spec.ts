// What an import writes: the mapping from a JSON line to marks and counter increments.
//
// A mapping names the timestamp and id fields, the marks (event name templates such as
// `launch:provider:{provider}`), the counters (`launches` = `{provider}`), filters and value maps
// (`{origin|federation}` fills in the value the map `federation` gives the line's origin). It
// comes from flags or a JSON mapping file ({timestamp, id, numericIds, marks, counts, where,
// maps}); a flag given replaces the file's value of that setting.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
  /** Value maps by name: `{field|name}` in a template fills in the value the map gives the field's value. */
  readonly maps?: Readonly<Record<string, ValueMap>>;
}

/** A value map: a field's value (as text) → what a template fills in instead. */
export type ValueMap = ReadonlyMap<string, string>;

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** The mapping file: every setting optional (flags may give it). */
export const mappingFileSchema = z.strictObject({
  timestamp: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  numericIds: z.boolean().optional(),
  marks: z.array(z.string()).optional(),
  counts: z.record(z.string(), z.string()).optional(),
  where: z.record(z.string(), scalar).optional(),
  /** Name → a JSON file of the map (relative to the mapping file), or the map itself. */
  maps: z.record(z.string(), z.union([z.string().min(1), z.record(z.string(), scalar)])).optional(),
});
type MappingFileData = z.output<typeof mappingFileSchema>;
export type MappingFile = Omit<MappingFileData, 'maps'> & { maps?: Record<string, ValueMap> };

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
      `--mapping ${path}: ${problems.join('; ')} (expected {"timestamp": "…", "id": "…", "numericIds": false, "marks": ["…"], "counts": {"name": "{field}"}, "where": {"field": "value"}, "maps": {"name": "map.json"}})`,
    );
  }
  const { maps, ...rest } = parsed.data;
  if (!maps) return rest;
  const read = Object.entries(maps).map(([name, m]): [string, ValueMap] => {
    checkMapName(name, `--mapping ${path}: maps`);
    return [name, typeof m === 'string' ? readValueMap(resolve(dirname(path), m), `--mapping ${path}: maps.${name}`) : new Map(Object.entries(m))];
  });
  return { ...rest, maps: Object.fromEntries(read) };
}

const MAP_NAME = /^[A-Za-z0-9_.:-]+$/;

function checkMapName(name: string, flag: string): void {
  if (!MAP_NAME.test(name)) throw new UsageError(`${flag}: map name ${JSON.stringify(name)} must be letters, digits and _ . : - only`);
}

const valueMapSchema = z.record(z.string(), scalar);

/** A value map from a JSON file: one object, each value a string, number or boolean. */
export function readValueMap(path: string, flag: string): ValueMap {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
  const parsed = valueMapSchema.safeParse(data);
  if (!parsed.success) {
    throw new UsageError(`${flag}: ${path} must hold one JSON object from value to mapped value, e.g. {"gke.mybinder.org": "GKE"}`);
  }
  // A Map, so that a value such as "constructor" is not found on Object.prototype.
  return new Map(Object.entries(parsed.data));
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
  /** `name=file.json`: a value map for `{field|name}`. */
  map?: string[];
}

/** Flags over the mapping file over the defaults; checked as a whole (every template compiled). */
export function resolveSpec(flags: SpecFlags, file: MappingFile = {}): ImportSpec {
  const counts = flags.count?.length
    ? Object.fromEntries(flags.count.map((c) => splitPair(c, '--count', 'name=template, e.g. launches={provider}')))
    : (file.counts ?? {});
  const where = flags.where?.length
    ? Object.fromEntries(flags.where.map((w) => splitPair(w, '--where', 'field=value, e.g. status=success')))
    : (file.where ?? {});
  const maps = flags.map?.length
    ? Object.fromEntries(
        flags.map.map((m) => {
          const [name, path] = splitPair(m, '--map', 'name=file.json, e.g. federation=origins.json');
          checkMapName(name, `--map ${m}`);
          return [name, readValueMap(path, `--map ${m}`)];
        }),
      )
    : (file.maps ?? {});
  const spec: ImportSpec = {
    timestamp: flags.timestamp ?? file.timestamp ?? 'timestamp',
    id: flags.id ?? file.id ?? '',
    numericIds: flags.numericIds ?? file.numericIds ?? false,
    marks: flags.mark?.length ? flags.mark : (file.marks ?? []),
    counts,
    where,
    maps,
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
  // Each template has its own ledger entry: the same one twice would be counted twice there.
  const seen = new Set<string>();
  for (const m of spec.marks) {
    const { normalised } = compileTemplate(m, '--mark', true, spec.maps);
    if (seen.has(normalised)) throw new UsageError(`--mark ${JSON.stringify(m)} is given twice`);
    seen.add(normalised);
  }
  for (const [name, key] of Object.entries(spec.counts)) {
    try {
      assertEventName(name, 'counter name');
    } catch (e) {
      throw new UsageError(`--count ${name}=${key}: ${(e as Error).message}`);
    }
    compileTemplate(key, `--count ${name}`, false, spec.maps);
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
  /** The text with its placeholders written `{field}` or `{field|map}`: templates that read the same are one. */
  readonly normalised: string;
  /** Literal parts; `literals.length === fields.length + 1`. */
  readonly literals: readonly string[];
  readonly fields: readonly string[];
  readonly getters: readonly Getter[];
  /** Per field: the name of its value map, if any. */
  readonly mapNames: ReadonlyArray<string | undefined>;
  readonly maps: ReadonlyArray<ValueMap | undefined>;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * `launch:provider:{provider}` → literals ['launch:provider:', ''], fields ['provider']. An
 * event name template's literal parts are checked once here (with a stand-in for each field),
 * so a line can only fail on its values. `{origin|federation}` reads origin through the map
 * named federation, which `maps` must hold.
 */
export function compileTemplate(text: string, flag: string, eventName = true, maps: Readonly<Record<string, ValueMap>> = {}): Template {
  const literals: string[] = [];
  const fields: string[] = [];
  const mapNames: Array<string | undefined> = [];
  let last = 0;
  let normalised = '';
  for (const m of text.matchAll(PLACEHOLDER)) {
    const [rawField, rawMap, ...more] = m[1]!.split('|');
    const field = rawField!.trim();
    const mapName = rawMap?.trim();
    if (!field) throw new UsageError(`${flag} ${JSON.stringify(text)}: empty {} (expected {field} or {field|map})`);
    if (mapName !== undefined && (!mapName || more.length)) {
      throw new UsageError(`${flag} ${JSON.stringify(text)}: {${m[1]}} should be {field|map}, one map a field`);
    }
    if (mapName !== undefined && !Object.hasOwn(maps, mapName)) {
      throw new UsageError(`${flag} ${JSON.stringify(text)}: no value map named ${mapName} (give --map ${mapName}=FILE.json)`);
    }
    literals.push(text.slice(last, m.index));
    fields.push(field);
    mapNames.push(mapName);
    normalised += `${text.slice(last, m.index)}{${field}${mapName === undefined ? '' : `|${mapName}`}}`;
    last = m.index + m[0].length;
  }
  normalised += text.slice(last);
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
  return {
    text,
    normalised,
    literals,
    fields,
    getters: fields.map(fieldGetter),
    mapNames,
    maps: mapNames.map((n) => (n === undefined ? undefined : maps[n])),
  };
}

/** A value fit for a name or key: strings, numbers and booleans as text; anything else is not. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
