// Progress for long work: a redrawn line on a terminal, a plain line every few seconds otherwise.

export interface Progress {
  update(done: number, detail?: string): void;
  finish(summary: string): void;
}

export function progress(label: string, total: number | undefined, out: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const tty = out.isTTY === true;
  let lastPrint = 0;
  const line = (done: number, detail: string): string => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts = [`${label}: ${done.toLocaleString('en-US')}${total ? ` / ${total.toLocaleString('en-US')}` : ''}`];
    if (total) {
      const frac = Math.min(1, done / total);
      const width = 24;
      parts.unshift(`[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%`);
      if (rate > 0 && done < total) parts.push(`ETA ${Math.ceil((total - done) / rate)}s`);
    }
    parts.push(`${Math.round(rate).toLocaleString('en-US')}/s`);
    if (detail) parts.push(detail);
    return parts.join('  ');
  };
  return {
    update(done, detail = '') {
      const now = Date.now();
      if (tty) {
        if (now - lastPrint < 100) return;
        out.write(`\r\x1b[2K${line(done, detail)}`);
      } else {
        if (now - lastPrint < 2000) return;
        out.write(`${line(done, detail)}\n`);
      }
      lastPrint = now;
    },
    finish(summary) {
      if (tty) out.write('\r\x1b[2K');
      out.write(`${label}: ${summary} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    },
  };
}
