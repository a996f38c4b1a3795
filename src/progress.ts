// Progress for long work: a redrawn line on a terminal, a plain line every few seconds otherwise.

export interface Progress {
  update(done: number, detail?: string): void;
  /** Prints a line of its own (e.g. a note about one file) without garbling the bar. */
  note(text: string): void;
  finish(summary: string): void;
}

export interface ProgressOptions {
  /** How amounts (done, total, rate) are shown; default: whole numbers with separators. */
  readonly format?: (n: number) => string;
  /** What the amounts are, after the rate (e.g. `/s` for lines); default `/s`. */
  readonly rateSuffix?: string;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Bytes as MiB (or KiB below one MiB), for progress over files. */
export const formatBytes = (n: number): string =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(n >= 10240 ? 0 : 1)} KiB`;

export function progress(
  label: string,
  total: number | undefined,
  out: NodeJS.WriteStream = process.stderr,
  options: ProgressOptions = {},
): Progress {
  const started = Date.now();
  const tty = out.isTTY === true;
  const format = options.format ?? count;
  const rateSuffix = options.rateSuffix ?? '/s';
  let lastPrint = 0;
  let drawn = false;
  const line = (done: number, detail: string): string => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts = [`${label}: ${format(done)}${total ? ` / ${format(total)}` : ''}`];
    if (total) {
      const frac = Math.min(1, done / total);
      const width = 24;
      parts.unshift(`[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%`);
      if (rate > 0 && done < total) parts.push(`ETA ${Math.ceil((total - done) / rate)}s`);
    }
    parts.push(`${format(rate)}${rateSuffix}`);
    if (detail) parts.push(detail);
    return parts.join('  ');
  };
  return {
    update(done, detail = '') {
      const now = Date.now();
      if (tty) {
        if (now - lastPrint < 100) return;
        out.write(`\r\x1b[2K${line(done, detail)}`);
        drawn = true;
      } else {
        if (now - lastPrint < 2000) return;
        out.write(`${line(done, detail)}\n`);
      }
      lastPrint = now;
    },
    note(text) {
      if (tty && drawn) out.write('\r\x1b[2K');
      out.write(`${text}\n`);
      if (tty && drawn) lastPrint = 0; // redraw the bar at the next update
      drawn = false;
    },
    finish(summary) {
      if (tty) out.write('\r\x1b[2K');
      out.write(`${label}: ${summary} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    },
  };
}
