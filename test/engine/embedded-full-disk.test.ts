// Embedded engine on a full disk (a 2 MiB tmpfs): writes fail with STORAGE_FULL and leave no trace,
// reads go on, writes resume by themselves once space is freed, nothing acknowledged is lost.
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BitWrite } from '../../src/bitmap/engines/engine.ts';
import { openEmbeddedEngine } from '../../src/bitmap/engines/embedded/index.ts';
import type { EmbeddedOptions } from '../../src/bitmap/engines/embedded/index.ts';
import { BitmapError } from '../../src/bitmap/errors.ts';
import { fillDisk, mountSmallTmpfs } from '../full-disk.ts';
import { rng } from '../rng.ts';
import { Model, contents } from './embedded-model.ts';

/** About 15 KiB of log record: more than the free part of the log's last page, so it needs fresh space. */
function bigBatch(random: () => number, key: string): BitWrite[] {
  return Array.from({ length: 3000 }, (): BitWrite => ({ key, offset: Math.floor(random() * 2 ** 32), bit: 1 }));
}

const codeOf = (r: PromiseSettledResult<unknown>): string | undefined =>
  r.status === 'rejected' ? (r.reason instanceof BitmapError ? r.reason.code : String(r.reason)) : undefined;

describe('embedded engine on a full disk', () => {
  for (const fsync of ['always', 'interval', 'os'] as const) {
    it(`fsync ${fsync}: refuses writes with STORAGE_FULL, keeps reading, resumes when space returns, loses nothing acknowledged`, async (ctx) => {
      const disk = mountSmallTmpfs();
      if (!disk) return ctx.skip('mounting a tmpfs is not allowed here');
      const dir = join(disk.dir, 'data');
      mkdirSync(dir);
      const options: EmbeddedOptions = { dir, fsync, fsyncIntervalMs: 5 };
      const random = rng(fsync.length * 7919);
      const model = new Model();
      let engine = await openEmbeddedEngine(options);
      try {
        for (let i = 0; i < 4; i++) {
          const b = bigBatch(random, `before${i % 2}`);
          await engine.write(b);
          model.apply(b);
        }
        const [x] = await engine.resolveIds(['kept'], true);
        const filler = fillDisk(disk.dir);
        const logBytes = (): number => readdirSync(dir).filter((f) => f.endsWith('.wal')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
        const before = logBytes();

        // Refused, concurrently and one after another: the writer is not stopped by the first.
        const refused = await Promise.allSettled([0, 1, 2, 3].map((i) => engine.write(bigBatch(random, `during${i}`))));
        expect(refused.map(codeOf)).toEqual(['STORAGE_FULL', 'STORAGE_FULL', 'STORAGE_FULL', 'STORAGE_FULL']);
        const again = await Promise.allSettled([engine.write(bigBatch(random, 'during9'))]);
        expect(codeOf(again[0]!)).toBe('STORAGE_FULL');
        const message = (again[0] as PromiseRejectedResult).reason.message as string;
        expect(message).toMatch(/no space left/);
        expect(message).toMatch(/resume/);
        // ids handed out for a record that was not stored are taken back
        const many = Array.from({ length: 2000 }, (_, i) => `external-id-number-${i}`);
        expect(codeOf((await Promise.allSettled([engine.resolveIds(many, true)]))[0]!)).toBe('STORAGE_FULL');
        expect(await engine.resolveIds(many.slice(0, 3), false)).toEqual([null, null, null]);
        expect(await engine.externalIds([x! + 1, x! + 2])).toEqual([null, null]);

        // Nothing of the refused batches reached memory or stayed in the log; reads work.
        expect(await contents(engine)).toEqual(model.state());
        expect(logBytes()).toBe(before);
        expect(await engine.ready()).toBe(true);
        expect(await engine.acceptsWrites()).toBe(false);

        unlinkSync(filler);
        expect(await engine.acceptsWrites()).toBe(true);
        for (let i = 0; i < 3; i++) {
          const b = bigBatch(random, `after${i}`);
          await engine.write(b);
          model.apply(b);
        }
        const [y] = await engine.resolveIds(['later'], true);
        expect(await contents(engine)).toEqual(model.state());
        await engine.close();

        engine = await openEmbeddedEngine(options);
        expect(await contents(engine)).toEqual(model.state());
        expect(await engine.resolveIds(['kept', 'later', many[0]!], false)).toEqual([x, y, null]);
      } finally {
        await engine.close();
        disk.unmount();
      }
    });
  }
});
