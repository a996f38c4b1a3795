// Idempotent counter increments on one Redis and the embedded engine (the cluster's: test/cluster/writes.test.ts), and an embedded key surviving a restart.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { BitmapError } from '../../src/bitmap/errors.ts';
import type { EngineKind, TestGateway } from '../helpers.ts';
import { testGateway } from '../helpers.ts';
import { describeIdempotency } from './idempotency-checks.ts';

for (const engine of ['redis', 'embedded'] as EngineKind[]) {
  let t: TestGateway | undefined;
  beforeAll(async () => {
    t = await testGateway({ engine });
  });
  afterAll(async () => t?.close());
  describeIdempotency(engine, () => t!);
}

describe('embedded idempotency keys across a restart', () => {
  it('remembers a key from the log after reopening the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-idem-'));
    try {
      const inc = [{ key: 'ctr:a', field: 'x', by: 3 }];
      let engine = await openEmbeddedEngine({ dir, fsync: 'always' });
      expect(await engine.increment(inc, { key: 'k', digest: 'd1' })).toEqual({ replayed: false });
      await engine.close();
      engine = await openEmbeddedEngine({ dir, fsync: 'always' });
      expect(await engine.increment(inc, { key: 'k', digest: 'd1' })).toEqual({ replayed: true });
      const conflict = await engine.increment(inc, { key: 'k', digest: 'd2' }).catch((e: unknown) => e);
      expect((conflict as BitmapError).code).toBe('IDEMPOTENCY_CONFLICT');
      const [value] = await engine.run({ instructions: [{ op: 'hget', key: 'ctr:a', field: 'x' }], registers: 0 } as never);
      expect(value).toBe(3);
      await engine.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('remembers a key written before a compaction: the snapshot holds it once the log that had it is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-idem-'));
    try {
      const inc = [{ key: 'ctr:a', field: 'x', by: 5 }];
      // Every write is past the threshold: the first one's log is compacted into a snapshot.
      let engine = await openEmbeddedEngine({ dir, fsync: 'always', compactAfterBytes: 1 });
      expect(await engine.increment(inc, { key: 'k', digest: 'd1' })).toEqual({ replayed: false });
      await engine.write([{ key: 'ev_x', offset: 1, bit: 1 }]); // a second record, after the compaction started
      await engine.idle();
      await engine.close();
      const files = readdirSync(dir).filter((f) => /^(log|snapshot)-/.test(f));
      expect(files.some((f) => f.startsWith('snapshot-'))).toBe(true);
      engine = await openEmbeddedEngine({ dir, fsync: 'always' });
      expect(await engine.increment(inc, { key: 'k', digest: 'd1' })).toEqual({ replayed: true });
      const conflict = await engine.increment(inc, { key: 'k', digest: 'd2' }).catch((e: unknown) => e);
      expect((conflict as BitmapError).code).toBe('IDEMPOTENCY_CONFLICT');
      const [value] = await engine.run({ instructions: [{ op: 'hget', key: 'ctr:a', field: 'x' }], registers: 0 } as never);
      expect(value).toBe(5);
      await engine.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
