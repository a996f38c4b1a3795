// Writes the demo archive: `<out>/<YYYY-MM-DD>.jsonl.gz`, one gzip file a day. Lines are packed
// into buffers as they are generated, and a day is compressed on a thread of the zlib pool
// while the next one is generated.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { streamDemo } from './generate.ts';
import type { DemoOptions } from './generate.ts';

const gzip = promisify(zlib.gzip);
const CHUNK = 1 << 20;

export interface DemoWriteResult {
  readonly files: string[];
  readonly lines: number;
  /** Compressed bytes written. */
  readonly bytes: number;
}

export async function writeDemoArchive(
  o: DemoOptions & { readonly out: string },
  onDay: (date: string, lines: number) => void = () => {},
): Promise<DemoWriteResult> {
  await mkdir(o.out, { recursive: true });
  const files: string[] = [];
  let lines = 0;
  let bytes = 0;
  let date = '';
  let dayLines = 0;
  let chunks: Buffer[] = [];
  let buf = Buffer.allocUnsafe(CHUNK);
  let at = 0;
  const days = streamDemo(
    o,
    (d) => {
      date = d;
      dayLines = 0;
    },
    (line) => {
      // A generated line is ASCII, well below a chunk.
      if (at + line.length * 3 + 1 > buf.length) {
        chunks.push(buf.subarray(0, at));
        buf = Buffer.allocUnsafe(Math.max(CHUNK, line.length * 3 + 1));
        at = 0;
      }
      at += buf.write(line, at, 'utf8');
      buf[at++] = 0x0a;
      dayLines++;
    },
  );
  let pending: Promise<void> = Promise.resolve();
  for (const _ of days) {
    chunks.push(buf.subarray(0, at));
    const text = Buffer.concat(chunks);
    chunks = [];
    buf = Buffer.allocUnsafe(CHUNK);
    at = 0;
    const file = join(o.out, `${date}.jsonl.gz`);
    // gzip output is deterministic (no time stamp in the header): the same seed gives the same bytes.
    const compressed = gzip(text, { level: 6 });
    await pending; // at most one day compressing and writing while the next is generated
    pending = compressed.then(async (gz) => {
      await writeFile(file, gz);
      bytes += gz.length;
    });
    pending.catch(() => {}); // a failure surfaces at the next await, not as an unhandled rejection
    files.push(file);
    lines += dayLines;
    onDay(date, dayLines);
  }
  await pending;
  return { files, lines, bytes };
}
