// The breakdown panel: every event under a name prefix (launch:provider: → one value per provider),
// one series each over the page's range with its rolling mean, from one seriesBreakdown request.
// Drawn as lines (each value's counts, thin, and its mean, thick) or as a stacked area (each
// value's counts stacked, highest total at the bottom, and the stacked means as lines: the top
// one is the mean of the total). As in the series panel (partial.ts), the period not over yet is
// drawn dashed from the last complete point, without fill, and has no mean; periods not begun are
// not drawn.

import uPlot from 'uplot';
import { EventBreakdownDocument, LiveEventBreakdownDocument } from '../generated/graphql.ts';
import type { BreakdownPanelSeriesFragment } from '../generated/graphql.ts';
import { request, subscribe } from './api.ts';
import type { RequestError } from './api.ts';
import { fmtDec, fmtInt, h } from './dom.ts';
import { chartPng } from './export.ts';
import type { CsvCell } from './export.ts';
import { PARTIAL_DASH, UNIT, WINDOWS, hasBegun, isPartial, periodX, splitPartial } from './partial.ts';
import type { PeriodSpan } from './partial.ts';
import type { PanelGranularity } from './state.ts';

const HEIGHT = 300;

export interface BreakdownValue {
  /** The part of the name after the prefix. */
  readonly value: string;
  /** Sum of the counts shown. */
  readonly total: number;
  readonly counts: readonly number[];
  /** The rolling mean of `window` periods ending with each point; null at a partial period (left out). */
  readonly averages: ReadonlyArray<number | null>;
}

export interface BreakdownData {
  readonly prefix: string;
  readonly granularity: PanelGranularity;
  readonly window: number;
  /** The points' periods (labels), oldest first: those that have begun. */
  readonly labels: readonly string[];
  /** The points' periods as the gateway sends them (first instant, next period's first instant). */
  readonly periods: readonly PeriodSpan[];
  /** Per point: the period is not over yet (drawn dashed, no mean). */
  readonly partial: readonly boolean[];
  /** Highest total first, then by value. */
  readonly values: readonly BreakdownValue[];
  /** Per point, the sum of the values' counts and of their means: the top of the stacked view. */
  readonly totals: readonly number[];
  readonly totalAverages: ReadonlyArray<number | null>;
}

/** The prefix a name list suggests: the `…:` prefix with the most names right under it (`launch:provider:` for `launch:provider:gh`). */
export function suggestPrefix(names: readonly string[]): string | null {
  const under = new Map<string, number>();
  for (const n of names) {
    const cut = n.lastIndexOf(':');
    if (cut > 0 && cut < n.length - 1) under.set(n.slice(0, cut + 1), (under.get(n.slice(0, cut + 1)) ?? 0) + 1);
  }
  let best: string | null = null;
  for (const [p, count] of under) if (best === null || count > under.get(best)! || (count === under.get(best)! && p < best)) best = p;
  return best;
}

/** Every `…:` prefix of the names, for the prefix field's suggestions. */
export function prefixesOf(names: readonly string[]): string[] {
  const all = new Set<string>();
  for (const n of names) for (let i = n.indexOf(':'); i > 0 && i < n.length - 1; i = n.indexOf(':', i + 1)) all.add(n.slice(0, i + 1));
  return [...all].sort();
}

function breakdownData(prefix: string, granularity: PanelGranularity, rows: readonly BreakdownPanelSeriesFragment[], now = Date.now()): BreakdownData {
  const window = WINDOWS[granularity];
  // Every value has the same periods; those not begun are left out, as in the series panel.
  const shown = (rows[0]?.points ?? []).map((p) => hasBegun(p.period, now));
  const periods = (rows[0]?.points ?? []).filter((_, i) => shown[i]).map((p) => ({ start: p.period.start, end: p.period.end }));
  const labels = (rows[0]?.points ?? []).filter((_, i) => shown[i]).map((p) => p.period.label);
  const partial = periods.map((p) => isPartial(p, now));
  const values = rows.map((r) => {
    const points = r.points.filter((_, i) => shown[i]);
    const counts = points.map((p) => p.count);
    return { value: r.value, total: counts.reduce((a, b) => a + b, 0), counts, averages: points.map((p, i) => (partial[i] ? null : p.average)) };
  });
  const totals = labels.map((_, i) => values.reduce((a, v) => a + v.counts[i]!, 0));
  const totalAverages = labels.map((_, i) => (values.some((v) => v.averages[i] === null) ? null : values.reduce((a, v) => a + v.averages[i]!, 0)));
  return { prefix, granularity, window, labels, periods, partial, values, totals, totalAverages };
}

/** The range of the page: from, to and granularity (the mean's window follows it: WINDOWS). */
export interface BreakdownRange {
  readonly from: string;
  readonly to: string;
  readonly granularity: PanelGranularity;
}

const variables = (prefix: string, r: BreakdownRange) => ({ prefix, from: r.from, to: r.to, granularity: r.granularity, window: WINDOWS[r.granularity] });

export async function loadBreakdown(prefix: string, range: BreakdownRange): Promise<BreakdownData> {
  const { seriesBreakdown } = await request(EventBreakdownDocument, variables(prefix, range));
  return breakdownData(prefix, range.granularity, seriesBreakdown);
}

/**
 * The same breakdown, sent again as writes change it (the Live toggle): a point of a value, or a
 * new event under the prefix (a new value). Each answer is read against the clock again, so a
 * period that ends while the page is open is drawn complete. Returns the function that stops it.
 */
export function followBreakdown(prefix: string, range: BreakdownRange, next: (d: BreakdownData) => void, error: (e: RequestError) => void): () => void {
  return subscribe(LiveEventBreakdownDocument, variables(prefix, range), { next: ({ seriesBreakdown }) => next(breakdownData(prefix, range.granularity, seriesBreakdown)), error });
}

// ---- drawing ------------------------------------------------------------------------------------

const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
/** The colour of the value at `i` (highest total first). */
export const colourOf = (i: number): string => PALETTE[i % PALETTE.length]!;
/** A light opaque tone of a colour: the stacked area's fill (opaque, so the areas paint over each other in order). */
function tint(hex: string, amount = 0.62): string {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c: number): number => Math.round(c + (255 - c) * amount);
  return `rgb(${mix((n >> 16) & 255)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

/** What the panel drew: the series on the chart, in uPlot's order, for the page's state and its tests. */
export interface BreakdownDrawn {
  readonly stacked: boolean;
  readonly series: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<number | null> }>;
}

let plot: uPlot | undefined;
let observer: ResizeObserver | undefined;

/** Draws the panel; returns what was put on the chart. */
export function renderBreakdown(body: HTMLElement, stats: HTMLElement, data: BreakdownData, stacked: boolean): BreakdownDrawn {
  plot?.destroy();
  plot = undefined;
  observer?.disconnect();
  stats.replaceChildren();
  if (data.values.length === 0) {
    body.replaceChildren(h('p', { class: 'note' }, `No events under ${data.prefix}.`));
    return { stacked, series: [] };
  }
  const grand = data.totals.reduce((a, b) => a + b, 0);
  stats.append(h('span', {}, h('b', {}, fmtInt(data.values.length)), ' values'), h('span', {}, 'total ', h('b', {}, fmtInt(grand))));
  const readout = h('span', { class: 'readout' });
  const show = (i: number | null | undefined): void => {
    const k = i ?? data.labels.length - 1;
    const label = data.labels[k];
    if (label === undefined) return readout.replaceChildren();
    const avg = data.totalAverages[k];
    readout.replaceChildren(
      label,
      ' · total ',
      h('b', {}, fmtInt(data.totals[k]!)),
      ...(data.partial[k]
        ? [h('span', { class: 'partial-tag' }, ` (so far: this ${UNIT[data.granularity]} is not over)`)]
        : [` · ${data.window}-${UNIT[data.granularity]} mean `, h('b', {}, avg == null ? '–' : fmtDec(avg))]),
    );
  };
  show(null);
  stats.append(readout);

  const legend = h(
    'ul',
    { class: 'legend' },
    ...data.values.map((v, i) => {
      const sw = h('span', { class: 'swatch' });
      sw.style.background = colourOf(i);
      return h('li', { 'data-value': v.value, 'data-total': v.total }, sw, h('span', { class: 'name', title: `${data.prefix}${v.value}` }, v.value), h('span', { class: 'total' }, fmtInt(v.total)));
    }),
  );
  const last = data.labels.length - 1;
  const chart = h('div', { class: 'chart', 'data-points': data.labels.length, 'data-view': stacked ? 'stacked' : 'lines', 'data-partial': data.partial[last] ? data.labels[last]! : '' });
  body.replaceChildren(legend, chart);
  if (data.partial[last]) {
    const unit = UNIT[data.granularity];
    body.append(h('p', { class: 'partial-note' }, h('span', { class: 'dash', 'aria-hidden': 'true' }), `${data.labels[last]} is not over: drawn dashed, without a ${data.window}-${unit} mean.`));
  }

  const drawn: Array<{ label: string; values: ReadonlyArray<number | null>; opts: uPlot.Series }> = [];
  const thin = data.labels.length <= 45;
  const anyPartial = data.partial.some((x) => x);
  /** A line whose partial periods go on dashed (a second series, only when there are any). */
  const line = (label: string, values: ReadonlyArray<number | null>, opts: uPlot.Series): void => {
    if (!anyPartial) {
      drawn.push({ label, values, opts });
      return;
    }
    const { solid, dashed } = splitPartial(values, data.partial);
    drawn.push({ label, values: solid, opts });
    drawn.push({ label: `${label} so far`, values: dashed, opts: { stroke: opts.stroke, width: opts.width, dash: [...PARTIAL_DASH], points: { show: false } } });
  };
  if (stacked) {
    // Running sums, bottom (highest total) first; painted top first so each lower area covers the one above.
    const sums: number[][] = [];
    const means: Array<Array<number | null>> = [];
    data.values.forEach((v, i) => {
      sums.push(v.counts.map((c, k) => c + (i ? sums[i - 1]![k]! : 0)));
      means.push(v.averages.map((a, k) => (a === null || (i && means[i - 1]![k] === null) ? null : a + (i ? means[i - 1]![k]! : 0))));
    });
    for (let i = data.values.length - 1; i >= 0; i--) {
      line(`${data.values[i]!.value} (stacked)`, sums[i]!, { stroke: colourOf(i), width: 1, fill: tint(colourOf(i)), points: { show: false } });
    }
    data.values.forEach((v, i) => {
      drawn.push({ label: `${v.value} mean (stacked)`, values: means[i]!, opts: { stroke: colourOf(i), width: 2.25, points: { show: false } } });
    });
  } else {
    data.values.forEach((v, i) => {
      line(v.value, v.counts, { stroke: tint(colourOf(i), 0.35), width: 1, points: { show: thin, size: 3 } });
    });
    data.values.forEach((v, i) => {
      drawn.push({ label: `${v.value} mean`, values: v.averages, opts: { stroke: colourOf(i), width: 2.25, points: { show: false } } });
    });
  }

  const width = (): number => Math.max(320, chart.clientWidth);
  const options: uPlot.Options = {
    width: width(),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
    series: [{}, ...drawn.map((d) => ({ label: d.label, ...d.opts }))],
    axes: [
      { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } },
      { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 }, size: 56 },
    ],
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    hooks: { setCursor: [(u) => show(u.cursor.idx)] },
  };
  plot = new uPlot(options, [data.periods.map(periodX), ...drawn.map((d) => [...d.values])] as uPlot.AlignedData, chart);
  const p = plot;
  observer = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - p.width) > 1) p.setSize({ width: w, height: HEIGHT });
  });
  observer.observe(chart);
  return { stacked, series: drawn.map((d) => ({ label: d.label, values: d.values })) };
}

// ---- export -------------------------------------------------------------------------------------

/** The CSV rows: a period column, each value's count and mean, then (stacked) the total and its mean, and whether the period is partial. */
export function breakdownCsv(data: BreakdownData, stacked: boolean): CsvCell[][] {
  const mean = `mean ${data.window}`;
  const header: CsvCell[] = ['period', ...data.values.flatMap((v) => [v.value, `${v.value} ${mean}`])];
  if (stacked) header.push('total', `total ${mean}`);
  header.push('partial');
  return [
    header,
    ...data.labels.map((label, k) => {
      const row: CsvCell[] = [label, ...data.values.flatMap((v) => [v.counts[k]!, v.averages[k] ?? null])];
      if (stacked) row.push(data.totals[k]!, data.totalAverages[k] ?? null);
      row.push(data.partial[k] ? 'yes' : '');
      return row;
    }),
  ];
}

/** The chart as drawn, under the panel's title, with the values' colours. */
export function breakdownPng(title: string, body: HTMLElement, data: BreakdownData): HTMLCanvasElement | null {
  const canvas = body.querySelector<HTMLCanvasElement>('.chart canvas');
  if (!canvas) return null;
  return chartPng(title, canvas, data.values.map((v, i) => ({ label: v.value, color: colourOf(i) })));
}
