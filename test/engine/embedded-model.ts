// What an embedded engine holds, read through its public interface, and a plain-Set model of what it should hold.

import type { BitWrite, Engine } from '../../src/bitmap/engines/engine.ts';

export type State = Record<string, number[]>;

/** Every key and its members, from the engine's public interface. */
export async function contents(engine: Engine): Promise<State> {
  const keys: string[] = [];
  for await (const batch of engine.scan('')) keys.push(...batch);
  keys.sort();
  const out: State = {};
  for (const key of keys) {
    const [page] = await engine.run({ registers: 0, instructions: [{ op: 'scan', src: { key }, after: -1, limit: 1e9 }] });
    out[key] = (page as { ids: number[] }).ids;
  }
  return out;
}

/** The bits acknowledged writes leave, as plain Sets. */
export class Model {
  readonly sets = new Map<string, Set<number>>();
  apply(writes: readonly BitWrite[]): void {
    for (const w of writes) {
      let s = this.sets.get(w.key);
      if (!s) this.sets.set(w.key, (s = new Set()));
      if (w.bit) s.add(w.offset);
      else s.delete(w.offset);
      if (!s.size) this.sets.delete(w.key);
    }
  }
  state(): State {
    const out: State = {};
    for (const key of [...this.sets.keys()].sort()) out[key] = [...this.sets.get(key)!].sort((a, b) => a - b);
    return out;
  }
}
