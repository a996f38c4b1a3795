// Panel 1: an event's counts per day, week or month over the range and their rolling average,
// drawn by uPlot. The period not over yet (today, this week, this month) is drawn dashed from the
// last complete point and left out of the averages (partial.ts); periods not begun are not drawn.

import uPlot from 'uplot';
import { EventSeriesDocument, LiveEventSeriesDocument } from '../generated/graphql.ts';
import type { EventSeriesQuery } from '../generated/graphql.ts';
import { request, subscribe } from './api.ts';
import type { RequestError } from './api.ts';
import { append, fmtDec, fmtInt, h } from './dom.ts';
import { PARTIAL_DASH, UNIT, WINDOWS, completeMean, hasBegun, isPartial, periodX, splitPartial } from './partial.ts';
import type { PanelGranularity } from './state.ts';

const HEIGHT = 280;

export interface SeriesRange {
  readonly event: string;
  /** First and last day of the range, YYYY-MM-DD. */
  readonly from: string;
  readonly to: string;
  readonly granularity: PanelGranularity;
}

export interface SeriesPoint {
  /** The period's label (2026-10-31, 2026-W44, 2026-10). */
  readonly label: string;
  /** Its first instant, as the gateway writes it. */
  readonly start: string;
  readonly count: number;
  /** Mean of the last `window` periods ending here; null for a partial period (left out). */
  readonly average: number | null;
  /** Not over yet: drawn dashed, left out of the averages. */
  readonly partial: boolean;
}

export interface SeriesData extends SeriesRange {
  readonly window: number;
  /** One point per period that has begun, oldest first. */
  readonly points: readonly SeriesPoint[];
  /** The mean of the complete periods' counts (the stats line); null when none is complete. */
  readonly mean: number | null;
}

const variables = (r: SeriesRange) => ({ event: r.event, granularity: r.granularity, from: r.from, to: r.to, window: WINDOWS[r.granularity] });

function seriesData(r: SeriesRange, series: EventSeriesQuery['series'], now = Date.now()): SeriesData {
  const points = series
    .filter((p) => hasBegun(p.period, now))
    .map((p) => {
      const partial = isPartial(p.period, now);
      return { label: p.period.label, start: p.period.start, count: p.count, average: partial ? null : p.average, partial };
    });
  const mean = completeMean(
    points.map((p) => p.count),
    points.map((p) => p.partial),
  );
  return { ...r, window: WINDOWS[r.granularity], points, mean };
}

export async function loadSeries(r: SeriesRange): Promise<SeriesData> {
  const { series } = await request(EventSeriesDocument, variables(r));
  return seriesData(r, series);
}

/** The same series, sent again as writes change it (the Live toggle); returns the function that stops it. */
export function followSeries(r: SeriesRange, next: (d: SeriesData) => void, error: (e: RequestError) => void): () => void {
  return subscribe(LiveEventSeriesDocument, variables(r), { next: ({ series }) => next(seriesData(r, series)), error });
}

let plot: uPlot | undefined;
let observer: ResizeObserver | undefined;

/** `noun`: what the counts are of, plural ("users", "repositories"). */
export function renderSeries(body: HTMLElement, stats: HTMLElement, data: SeriesData, noun: string): void {
  plot?.destroy();
  observer?.disconnect();
  body.replaceChildren();
  stats.replaceChildren();
  const counts = data.points.map((p) => p.count);
  const partial = data.points.map((p) => p.partial);
  const unit = UNIT[data.granularity];
  const averageName = `${data.window}-${unit} avg`;
  // The hovered period (the last one while the cursor is elsewhere).
  const readout = h('span', { class: 'readout' });
  const show = (i: number | null | undefined): void => {
    const p = data.points[i ?? data.points.length - 1];
    readout.replaceChildren();
    if (!p) return;
    append(readout, p.label, ` · ${noun} `, h('b', {}, fmtInt(p.count)));
    if (p.partial) append(readout, h('span', { class: 'partial-tag' }, ` so far: this ${unit} is not over`));
    else append(readout, ` · ${averageName} `, h('b', {}, p.average === null ? '–' : fmtDec(p.average)));
  };
  show(null);
  const completeCounts = counts.filter((_, i) => !partial[i]);
  append(
    stats,
    h('span', {}, 'peak ', h('b', {}, fmtInt(Math.max(0, ...completeCounts)))),
    h('span', { class: 'mean' }, `mean per ${unit} `, h('b', {}, data.mean === null ? '–' : fmtDec(data.mean))),
    readout,
  );
  const last = data.points.at(-1);
  const chart = h('div', { class: 'chart', 'data-points': data.points.length, 'data-partial': last?.partial ? last.label : '' });
  body.append(chart);
  if (counts.every((c) => c === 0)) {
    body.prepend(h('p', { class: 'no-data', role: 'status', 'data-name': data.event }, 'No data for ', h('b', {}, data.event), ` from ${data.from} to ${data.to}.`));
  }
  if (last?.partial) {
    body.append(
      h('p', { class: 'partial-note' }, h('span', { class: 'dash', 'aria-hidden': 'true' }), `${last.label} is not over: drawn dashed, left out of the mean and the ${data.window}-${unit} average.`),
    );
  }
  const width = (): number => Math.max(280, chart.clientWidth);
  const { solid, dashed } = splitPartial(counts, partial);
  // The dashed series (and its legend entry, "users so far") only when a period is not over.
  const anyPartial = partial.some((x) => x);
  const countSeries: uPlot.Series = {
    label: noun,
    stroke: '#2563eb',
    width: 1.5,
    fill: 'rgba(37, 99, 235, 0.10)',
    points: { show: data.points.length <= 45, size: 4 },
  };
  const partialSeries: uPlot.Series = {
    label: `${noun} so far`,
    stroke: '#2563eb',
    width: 1.5,
    dash: [...PARTIAL_DASH],
    // A hollow dot on each partial point only (not on the complete point the dash starts from).
    points: { show: true, size: 7, width: 1.5, fill: '#fff', filter: () => partial.flatMap((x, i) => (x ? [i] : [])) },
  };
  const averageSeries: uPlot.Series = { label: `${data.window}-${unit} average`, stroke: '#ea580c', width: 2.25, points: { show: false } };
  const options: uPlot.Options = {
    width: width(),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
    series: anyPartial ? [{}, countSeries, partialSeries, averageSeries] : [{}, countSeries, averageSeries],
    axes: [
      { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } },
      { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 }, size: 56 },
    ],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    hooks: { setCursor: [(u) => show(u.cursor.idx)] },
  };
  const xs = data.points.map((p) => periodX(p));
  const averages = data.points.map((p) => p.average);
  plot = new uPlot(options, (anyPartial ? [xs, solid, dashed, averages] : [xs, solid, averages]) as uPlot.AlignedData, chart);
  const p = plot;
  observer = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - p.width) > 1) p.setSize({ width: w, height: HEIGHT });
  });
  observer.observe(chart);
}
