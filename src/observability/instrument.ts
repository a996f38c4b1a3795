// The engine as the gateway uses it: every storage call passed on with all its arguments, timed and counted.

import type { BitWrite, CounterIncrement, Engine } from '../bitmap/engines/engine.ts';
import { readKeys } from '../bitmap/program.ts';
import type { Program } from '../bitmap/program.ts';
import type { Metrics } from './metrics.ts';
import type { StorageFullWatch } from './storage-full.ts';

/**
 * How each member of Engine is passed on: a `call` is timed as one round trip, a `stream` one
 * batch at a time, and `own` members (no storage behind them) as they are. The type lists every
 * member, so one added to Engine cannot go by untimed.
 */
const MEMBERS: Record<keyof Engine, 'call' | 'stream' | 'own'> = {
  kind: 'own',
  describe: 'own',
  run: 'call',
  write: 'call',
  increment: 'call',
  resolveIds: 'call',
  externalIds: 'call',
  idPairs: 'stream',
  restoreIds: 'call',
  scan: 'stream',
  delete: 'call',
  dump: 'call',
  restore: 'call',
  dumpSlices: 'stream',
  restoreSlices: 'call',
  ready: 'call',
  acceptsWrites: 'call',
  watch: 'own',
  close: 'call',
};

/**
 * What a call records besides its time and outcome, from its arguments; null for a call with
 * nothing to do (an empty program or batch), which makes no round trip and is not counted.
 */
function measure(metrics: Metrics, labels: { engine: string; mode: string }, method: string, args: readonly unknown[]): { done?: () => void } | null {
  switch (method) {
    case 'run': {
      const program = args[0] as Program;
      if (program.instructions.length === 0) return null;
      metrics.programInstructions.observe(program.instructions.length);
      metrics.programKeys.observe(keysRead(program));
      return {};
    }
    case 'write': {
      const [writes, increments] = args as [readonly BitWrite[], readonly CounterIncrement[] | undefined];
      if (writes.length === 0 && !increments?.length) return null;
      return {
        done: () => {
          if (writes.length) metrics.bitWrites.inc(labels, writes.length);
        },
      };
    }
    case 'increment':
      return (args[0] as readonly CounterIncrement[]).length === 0 ? null : {};
    default:
      return {};
  }
}

/** Distinct keys of each program measured, by program: a batch planned before (planOnce) runs the same program object again. */
const keysOfProgram = new WeakMap<Program, number>();

function keysRead(program: Program): number {
  let n = keysOfProgram.get(program);
  if (n === undefined) {
    const keys = new Set<string>();
    for (const i of program.instructions) for (const k of readKeys(i)) keys.add(k);
    keysOfProgram.set(program, (n = keys.size));
  }
  return n;
}

/** `engine` with every storage call timed and counted (a proxy: anything else, instanceof too, is the engine's own). */
export function instrument(engine: Engine, metrics: Metrics, storage: StorageFullWatch): Engine {
  const { kind, mode } = engine.describe();
  const labels = { engine: kind, mode };
  const timed = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    const end = metrics.engineDuration.startTimer({ ...labels, method });
    try {
      const out = await fn();
      metrics.engineCalls.inc({ ...labels, method, outcome: 'ok' });
      storage.settled(method);
      return out;
    } catch (e) {
      metrics.engineCalls.inc({ ...labels, method, outcome: 'error' });
      storage.settled(method, e);
      throw e;
    } finally {
      end();
    }
  };
  // The engine's member is looked up at each call, not once: whoever replaces it later (a test
  // counting runs, say) is still behind the timing.
  const member = <T>(method: string) => (...args: unknown[]): T => (Reflect.get(engine, method, engine) as (...a: unknown[]) => T).apply(engine, args);
  const call =
    (method: string) =>
    (...args: unknown[]): Promise<unknown> => {
      const fn = member<Promise<unknown>>(method);
      const m = measure(metrics, labels, method, args);
      if (!m) return fn(...args);
      return timed(method, () => fn(...args)).then((out) => {
        m.done?.();
        return out;
      });
    };
  const stream = (method: string) =>
    async function* (...args: unknown[]): AsyncIterable<unknown> {
      const iterator = member<AsyncIterable<unknown>>(method)(...args)[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await timed(method, () => iterator.next());
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await iterator.return?.();
      }
    };
  const wrapped = new Map<PropertyKey, unknown>();
  for (const [method, how] of Object.entries(MEMBERS)) {
    const fn: unknown = Reflect.get(engine, method, engine);
    if (typeof fn !== 'function' || how === 'own') continue; // absent optional members stay absent
    wrapped.set(method, how === 'call' ? call(method) : stream(method));
  }
  return new Proxy(engine, {
    get(target, prop) {
      if (wrapped.has(prop)) return wrapped.get(prop);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
