// The instrumented engine: every argument reaches the engine, and every storage call is timed and counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedEngine, openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { Engine } from '../../src/bitmap/engines/engine.ts';
import { plan } from '../../src/bitmap/plan.ts';
import { Observability } from '../../src/observability/index.ts';

/** The value of one sample line of the registry's text, e.g. 'bitmapql_bit_writes_total{engine="embedded",mode="local"}'. */
async function value(o: Observability, sample: string): Promise<number | undefined> {
  const line = (await o.registry.metrics()).split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}
const trips = (method: string, outcome = 'ok'): string =>
  `bitmapql_engine_round_trips_total{engine="embedded",mode="local",method="${method}",outcome="${outcome}"}`;
const timings = (method: string): string => `bitmapql_engine_round_trip_duration_seconds_count{engine="embedded",mode="local",method="${method}"}`;

/** A counter's value for one field over `keys`, read through `engine`. */
async function counter(engine: Engine, keys: string[], field: string): Promise<unknown> {
  const p = plan([{ kind: 'counter', keys, field }]);
  return p.answer(await engine.run(p.program))[0];
}

describe('instrumented engine', () => {
  let dir: string;
  let raw: EmbeddedEngine;
  let o: Observability;
  let engine: Engine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitmapql-instrument-'));
    raw = await openEmbeddedEngine({ dir, fsync: 'os' });
    o = new Observability({ engine: raw, processMetrics: false });
    engine = o.instrument(raw);
  });
  afterEach(async () => {
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('write passes on its counter increments with its bits, in one timed round trip', async () => {
    const keys = ['ins:c:2026-03-04', 'ins:c:2026-03'];
    const writes = [10, 11, 12].map((offset) => ({ key: 'ins_a_2026-03-04', offset, bit: 1 as const }));
    await engine.write(writes, [
      { key: keys[0]!, field: 'x', by: 2 },
      { key: keys[1]!, field: 'x', by: 5 },
    ]);
    expect(await counter(raw, [keys[0]!], 'x')).toBe(2);
    expect(await counter(raw, keys, 'x')).toBe(7);
    expect(await value(o, trips('write'))).toBe(1);
    expect(await value(o, timings('write'))).toBe(1);
    expect(await value(o, 'bitmapql_bit_writes_total{engine="embedded",mode="local"}')).toBe(3);

    // increments alone are a round trip too, with no bits written
    await engine.write([], [{ key: keys[0]!, field: 'y', by: 1 }]);
    expect(await counter(raw, [keys[0]!], 'y')).toBe(1);
    expect(await value(o, trips('write'))).toBe(2);
    expect(await value(o, 'bitmapql_bit_writes_total{engine="embedded",mode="local"}')).toBe(3);
    // nothing to do: no round trip
    await engine.write([]);
    expect(await value(o, trips('write'))).toBe(2);
  });

  it('times and counts string id calls, with their arguments passed on', async () => {
    const externals = ['alice', 'bob', 'carol'];
    const ids = await engine.resolveIds(externals, true);
    expect(ids).toEqual([0, 1, 2]); // `assign` reached the engine: new ids, not nulls
    expect(await engine.resolveIds(['alice', 'dave'], false)).toEqual([0, null]);
    expect(await engine.externalIds([2, 0, 7])).toEqual(['carol', 'alice', null]);
    const pairs: Array<[string, number]> = [];
    for await (const batch of engine.idPairs()) pairs.push(...batch);
    expect(new Map(pairs)).toEqual(new Map(externals.map((e, i) => [e, i])));
    await engine.restoreIds([['erin', 9]]);
    expect(await raw.externalIds([9])).toEqual(['erin']);

    expect(await value(o, trips('resolveIds'))).toBe(2);
    expect(await value(o, timings('resolveIds'))).toBe(2);
    expect(await value(o, trips('externalIds'))).toBe(1);
    expect(await value(o, trips('restoreIds'))).toBe(1);
    expect(await value(o, trips('idPairs'))).toBeGreaterThanOrEqual(1);
  });

  it('counts a refused call as an error and lets the error through', async () => {
    await expect(engine.write([{ key: 42 as unknown as string, offset: 1, bit: 1 }])).rejects.toThrow(/key must be a string/);
    expect(await value(o, trips('write', 'error'))).toBe(1);
    expect(await value(o, trips('write'))).toBeUndefined();
    expect(await value(o, 'bitmapql_bit_writes_total{engine="embedded",mode="local"}')).toBeUndefined();
  });

  it('times the other calls, and leaves the engine itself in view', async () => {
    await engine.write([{ key: 'ins_a_2026-03-04', offset: 3, bit: 1 }]);
    expect(await engine.dump('ins_a_2026-03-04')).toEqual(Buffer.from([0x10]));
    await engine.restore('ins_b_2026-03-04', Buffer.from([0x80]));
    const keys: string[] = [];
    for await (const batch of engine.scan('ins_')) keys.push(...batch);
    expect(keys.sort()).toEqual(['ins_a_2026-03-04', 'ins_b_2026-03-04']);
    expect(await engine.delete(['ins_b_2026-03-04', 'ins_nope'])).toBe(1);
    expect(await engine.acceptsWrites?.()).toBe(true);
    expect(await engine.ready()).toBe(true);
    for (const method of ['dump', 'restore', 'scan', 'delete', 'acceptsWrites', 'ready']) expect(await value(o, trips(method)), method).toBeGreaterThanOrEqual(1);

    expect(engine).toBeInstanceOf(EmbeddedEngine);
    expect(engine.kind).toBe('embedded');
    expect(engine.describe()).toEqual(raw.describe());
    expect((engine as unknown as EmbeddedEngine).recovery).toBe(raw.recovery);
  });
});
