// CSV and PNG export of a panel: the CSV holds exactly the numbers the panel drew (a header row,
// periods by their labels, numbers at full precision, empty for none); the PNG is the panel's
// title over its chart canvas (uPlot draws axes and lines on one canvas), or over a table drawn
// onto a canvas for the cohort and counter panels. Both are saved through a Blob download link.

import { h } from './dom.ts';
import type { SeriesData } from './series.ts';

export type CsvCell = string | number | null;

/** RFC 4180 text: fields with a comma, quote or line break quoted, lines ended by CRLF. */
export function csvText(rows: ReadonlyArray<ReadonlyArray<CsvCell>>): string {
  const field = (c: CsvCell): string => {
    const s = c === null ? '' : String(c);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** A file name from the panel's name and what it shows: lower case, [a-z0-9.-] only. */
export function fileName(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Saves a Blob as a file through a download link (the URL is freed once the download has begun). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** What a panel exports; each returns null while the panel has nothing drawn. */
export interface PanelExport {
  /** The file name without extension. */
  name(): string | null;
  csv(): ReadonlyArray<ReadonlyArray<CsvCell>> | null;
  png(): HTMLCanvasElement | null;
}

/** The CSV and PNG buttons of a panel's header. */
export function exportButtons(panel: string, what: PanelExport): HTMLElement {
  const csv = h('button', { type: 'button', class: 'export', 'data-export': 'csv', title: 'Download the numbers drawn as CSV' }, 'CSV');
  const png = h('button', { type: 'button', class: 'export', 'data-export': 'png', title: 'Download the chart as PNG' }, 'PNG');
  csv.addEventListener('click', () => {
    const rows = what.csv();
    const name = what.name();
    if (rows && name) saveBlob(new Blob([csvText(rows)], { type: 'text/csv;charset=utf-8' }), `${name}.csv`);
  });
  png.addEventListener('click', () => {
    const canvas = what.png();
    const name = what.name();
    if (canvas && name) canvas.toBlob((blob) => blob && saveBlob(blob, `${name}.png`), 'image/png');
  });
  return h('span', { class: 'exports', 'data-panel': panel }, csv, png);
}

// ---- drawing ------------------------------------------------------------------------------------

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const PAD = 16;
const TITLE_H = 28;
const LEGEND_H = 22;

function blank(width: number, height: number): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D } {
  const canvas = h('canvas', { width: Math.ceil(width), height: Math.ceil(height) });
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return { canvas, ctx };
}

function title(ctx: CanvasRenderingContext2D, text: string): void {
  ctx.fillStyle = '#1f2937';
  ctx.font = `600 15px ${FONT}`;
  ctx.textBaseline = 'top';
  ctx.fillText(text, PAD, PAD);
}

/** A chart's canvas under its title, with a legend of colour swatches when given. */
export function chartPng(text: string, chart: HTMLCanvasElement, legend: ReadonlyArray<{ label: string; color: string }> = []): HTMLCanvasElement {
  const legendRows = legend.length ? 1 : 0;
  const { canvas, ctx } = blank(chart.width + 2 * PAD, chart.height + 2 * PAD + TITLE_H + legendRows * LEGEND_H);
  title(ctx, text);
  let x = PAD;
  const y = PAD + TITLE_H;
  ctx.font = `12px ${FONT}`;
  ctx.textBaseline = 'middle';
  for (const l of legend) {
    ctx.fillStyle = l.color;
    ctx.fillRect(x, y + 4, 12, 10);
    ctx.fillStyle = '#374151';
    ctx.fillText(l.label, x + 16, y + 9);
    x += 16 + ctx.measureText(l.label).width + 14;
  }
  ctx.drawImage(chart, PAD, PAD + TITLE_H + legendRows * LEGEND_H);
  return canvas;
}

/** A table cell for tablePng: its text, optional background and text colour, and an optional bar (0..1) behind it. */
export interface PngCell {
  readonly text: string;
  readonly background?: string;
  readonly color?: string;
  readonly bold?: boolean;
  readonly align?: 'left' | 'right';
  readonly bar?: number;
}

/** A table drawn onto a canvas under its title: the cohort heatmap and the counter bars as shown. */
export function tablePng(text: string, rows: ReadonlyArray<ReadonlyArray<PngCell>>, minWidths: readonly number[] = []): HTMLCanvasElement {
  const measure = blank(1, 1).ctx;
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => {
    let w = minWidths[c] ?? 40;
    for (const r of rows) {
      const cell = r[c];
      if (!cell) continue;
      measure.font = `${cell.bold ? '600 ' : ''}12.5px ${FONT}`;
      w = Math.max(w, measure.measureText(cell.text).width + 14);
    }
    return Math.ceil(w);
  });
  const rowH = 26;
  const gap = 2;
  const tableW = widths.reduce((a, b) => a + b + gap, 0);
  measure.font = `600 15px ${FONT}`;
  const { canvas, ctx } = blank(Math.max(tableW, measure.measureText(text).width) + 2 * PAD, rows.length * (rowH + gap) + 2 * PAD + TITLE_H);
  title(ctx, text);
  ctx.textBaseline = 'middle';
  rows.forEach((r, i) => {
    const y = PAD + TITLE_H + i * (rowH + gap);
    let x = PAD;
    r.forEach((cell, c) => {
      const w = widths[c]!;
      if (cell.background) {
        ctx.fillStyle = cell.background;
        ctx.fillRect(x, y, w, rowH);
      }
      if (cell.bar !== undefined) {
        ctx.fillStyle = '#f1f3f6';
        ctx.fillRect(x, y + 6, w, rowH - 12);
        ctx.fillStyle = '#2563eb';
        ctx.fillRect(x, y + 6, w * Math.min(1, Math.max(0, cell.bar)), rowH - 12);
      }
      ctx.fillStyle = cell.color ?? '#1f2937';
      ctx.font = `${cell.bold ? '600 ' : ''}12.5px ${FONT}`;
      const align = cell.align ?? 'right';
      ctx.textAlign = align;
      ctx.fillText(cell.text, align === 'right' ? x + w - 7 : x + 7, y + rowH / 2);
      x += w + gap;
    });
  });
  ctx.textAlign = 'left';
  return canvas;
}

// ---- the series panel ---------------------------------------------------------------------------

/** The series panel's CSV rows: period, count, its rolling average, and whether the period is partial (not over: no average). */
export function seriesCsv(data: SeriesData): CsvCell[][] {
  return [['period', 'count', `mean ${data.window}`, 'partial'], ...data.points.map((p) => [p.label, p.count, p.average, p.partial ? 'yes' : ''])];
}

/** The series chart under its title, with the colours of its two lines. */
export function seriesPng(text: string, body: HTMLElement, data: SeriesData): HTMLCanvasElement | null {
  const chart = body.querySelector<HTMLCanvasElement>('.chart canvas');
  if (!chart) return null;
  return chartPng(text, chart, [
    { label: 'count', color: '#2563eb' },
    { label: `${data.window}-period mean`, color: '#ea580c' },
  ]);
}
