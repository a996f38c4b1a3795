// Reading input files: plain or gzip (told by the magic bytes, whatever the name), as batches
// of lines, counting the file bytes read for progress; and a file's sha256 in one pass.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';

const READ_CHUNK = 1 << 20;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export interface LineBatch {
  readonly lines: string[];
  /** Line number (1-based) of lines[0]. */
  readonly firstLine: number;
  /** No line follows this batch in the file. */
  readonly last: boolean;
}

export class LineReader {
  /** File bytes read so far (compressed bytes for gzip). */
  bytesRead = 0;
  /** Lines handed out (or skipped) so far. */
  linesRead = 0;
  private buffer = '';
  private at = 0;
  private ended = false;
  private readonly chunks: AsyncIterator<string>;
  private readonly destroy: () => void;

  private constructor(path: string, gzip: boolean) {
    const raw = createReadStream(path, { highWaterMark: READ_CHUNK });
    if (gzip) {
      const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
      raw.on('data', (b) => (this.bytesRead += b.length));
      raw.on('error', (e) => gunzip.destroy(e));
      raw.pipe(gunzip);
      gunzip.setEncoding('utf8');
      this.chunks = (gunzip as AsyncIterable<string>)[Symbol.asyncIterator]();
      this.destroy = () => {
        raw.destroy();
        gunzip.destroy();
      };
    } else {
      const decoder = new StringDecoder('utf8');
      const count = (n: number): void => {
        this.bytesRead += n;
      };
      this.chunks = (async function* () {
        for await (const b of raw as AsyncIterable<Buffer>) {
          count(b.length);
          yield decoder.write(b);
        }
        const tail = decoder.end();
        if (tail) yield tail;
      })();
      this.destroy = () => raw.destroy();
    }
  }

  static async open(path: string): Promise<LineReader> {
    return new LineReader(path, await isGzip(path));
  }

  /** True when one more line is buffered, reading on when needed; false at the end of the file. */
  private async fill(): Promise<boolean> {
    for (;;) {
      if (this.buffer.indexOf('\n', this.at) >= 0) return true;
      if (this.ended) return this.at < this.buffer.length; // a last line without a newline
      const next = await this.chunks.next();
      if (next.done) this.ended = true;
      else this.buffer = this.at < this.buffer.length ? this.buffer.slice(this.at) + next.value : next.value;
      if (!next.done) this.at = 0;
    }
  }

  /** The next line (without its newline, and without a trailing \r), or null at the end. */
  private async line(): Promise<string | null> {
    if (!(await this.fill())) return null;
    const nl = this.buffer.indexOf('\n', this.at);
    const stop = nl < 0 ? this.buffer.length : nl;
    const end = stop > this.at && this.buffer.charCodeAt(stop - 1) === 13 ? stop - 1 : stop;
    const line = this.buffer.slice(this.at, end);
    this.at = nl < 0 ? this.buffer.length : nl + 1;
    this.linesRead++;
    return line;
  }

  /** Skips `n` lines; resolves to how many there were. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n && (await this.line()) !== null) skipped++;
    return skipped;
  }

  /** Up to `size` lines, and whether they are the file's last. */
  async batch(size: number): Promise<LineBatch> {
    const firstLine = this.linesRead + 1;
    const lines: string[] = [];
    while (lines.length < size) {
      // Fast path: lines already in the buffer.
      const nl = this.buffer.indexOf('\n', this.at);
      if (nl >= 0) {
        const end = nl > this.at && this.buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        lines.push(this.buffer.slice(this.at, end));
        this.at = nl + 1;
        this.linesRead++;
        continue;
      }
      const line = await this.line();
      if (line === null) break;
      lines.push(line);
    }
    const last = lines.length < size || !(await this.fill());
    return { lines, firstLine, last };
  }

  close(): void {
    this.destroy();
  }
}
