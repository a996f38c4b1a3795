// Checking and timing competitors: identical answers first, then interleaved timed rounds.

import { performance } from 'node:perf_hooks';
import type { Answer, Competitor } from './competitors.ts';

export interface RoundOptions {
  /** Untimed rounds first (JIT, connections, Redis allocator). */
  readonly warmup: number;
  /** Timed rounds; the report quotes the median. */
  readonly rounds: number;
}

export interface Samples {
  readonly name: string;
  readonly description: string;
  /** Milliseconds per batch, one per timed round. */
  readonly ms: number[];
}

export class MismatchError extends Error {}

/**
 * Runs every competitor once and compares its answers with `expected` (the JS reference; null
 * must be null). Throws, listing the first differences, when any competitor disagrees.
 * `label(i)` names answer i in the message (default `#i`).
 */
export async function verify(
  scenario: string,
  competitors: readonly Competitor[],
  expected: readonly Answer[],
  label: (i: number) => string = (i) => `#${i}`,
): Promise<void> {
  const problems: string[] = [];
  for (const c of competitors) {
    const got = await c.run();
    if (got.length !== expected.length) {
      problems.push(`${c.name}: ${got.length} answers, expected ${expected.length}`);
      continue;
    }
    const wrong = expected.flatMap((want, i) => (got[i] === want ? [] : [`${label(i)}: got ${got[i]}, expected ${want}`]));
    if (wrong.length) problems.push(`${c.name}: ${wrong.length} wrong answers (${wrong.slice(0, 5).join('; ')})`);
  }
  if (problems.length) {
    throw new MismatchError(`scenario ${scenario}: competitors disagree with the reference counts:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Times every competitor over the same rounds. Each round runs each competitor once, one after
 * the other, starting with a different one each round, so slow phases of a noisy machine hit
 * all of them alike.
 */
export async function measure(competitors: readonly Competitor[], options: RoundOptions): Promise<Samples[]> {
  const ms = competitors.map(() => [] as number[]);
  const n = competitors.length;
  for (let round = 0; round < options.warmup + options.rounds; round++) {
    for (let k = 0; k < n; k++) {
      const i = (round + k) % n;
      const c = competitors[i]!;
      const start = performance.now();
      await c.run();
      const took = performance.now() - start;
      if (round >= options.warmup) ms[i]!.push(took);
    }
  }
  return competitors.map((c, i) => ({ name: c.name, description: c.description, ms: ms[i]! }));
}

/**
 * Runs a benchmark's main(), then cleanup() however it ends: an error (exit code 1), or
 * SIGINT/SIGTERM (what it started is stopped, exit code 130).
 */
export async function runBenchmark(main: () => Promise<void>, cleanup: () => Promise<void>, log: (line: string) => void = (l) => console.error(l)): Promise<void> {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      log(`\n${signal}: stopping what the benchmark started…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (e) {
    if (!interrupted) log(`\nbenchmark FAILED: ${(e as Error)?.stack ?? String(e)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

/** What a benchmark started, stopped last-in first-out once: a failure is logged and the rest still run. */
export class Cleanups {
  private readonly stack: Array<{ what: string; run: () => unknown }> = [];
  private running: Promise<void> | null = null;
  constructor(private readonly log: (line: string) => void = (l) => console.error(l)) {}
  push(what: string, run: () => unknown): void {
    this.stack.push({ what, run });
  }
  /** Forgets the last action pushed, without running it (what it stops was stopped already). */
  pop(): void {
    this.stack.pop();
  }
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.stack.length) {
        const c = this.stack.pop()!;
        try {
          await c.run();
        } catch (e) {
          this.log(`cleanup (${c.what}) failed: ${(e as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

/** A whole number from the environment (`fallback` when unset or empty), refused below `min`. */
export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be a whole number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}
