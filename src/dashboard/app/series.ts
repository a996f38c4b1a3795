// Panel 1: an event's daily counts over the range and their rolling average, drawn by uPlot.

import uPlot from 'uplot';
import { EventSeriesDocument, LiveEventSeriesDocument } from '../generated/graphql.ts';
import type { EventSeriesQuery } from '../generated/graphql.ts';
import { request, subscribe } from './api.ts';
import type { RequestError } from './api.ts';
import { append, fmtDec, fmtInt, h } from './dom.ts';

export const WINDOW = 7;
const HEIGHT = 280;

export interface SeriesData {
  readonly event: string;
  readonly window: number;
  /** One point per day, oldest first: the day (YYYY-MM-DD), users that day, and the mean of the last `window` days. */
  readonly points: ReadonlyArray<{ readonly label: string; readonly count: number; readonly average: number | null }>;
}

// window - 1 more days than shown, so every shown day has its average.
const variables = (event: string, end: string, days: number) => ({ event, to: end, last: days + WINDOW - 1, window: WINDOW });

function seriesData(event: string, days: number, series: EventSeriesQuery['series']): SeriesData {
  const points = series.slice(-days).map((p) => ({ label: p.period.label, count: p.count, average: p.average }));
  return { event, window: WINDOW, points };
}

export async function loadSeries(event: string, end: string, days: number): Promise<SeriesData> {
  const { series } = await request(EventSeriesDocument, variables(event, end, days));
  return seriesData(event, days, series);
}

/** The same series, sent again as writes change it (the Live toggle); returns the function that stops it. */
export function followSeries(event: string, end: string, days: number, next: (d: SeriesData) => void, error: (e: RequestError) => void): () => void {
  return subscribe(LiveEventSeriesDocument, variables(event, end, days), { next: ({ series }) => next(seriesData(event, days, series)), error });
}

/** Seconds since the epoch of a YYYY-MM-DD label, at UTC midnight (the axis is drawn in UTC, so it shows the labels' days). */
const dayStart = (label: string): number => Date.parse(`${label}T00:00:00Z`) / 1000;

let plot: uPlot | undefined;
let observer: ResizeObserver | undefined;

export function renderSeries(body: HTMLElement, stats: HTMLElement, data: SeriesData): void {
  plot?.destroy();
  observer?.disconnect();
  body.replaceChildren();
  stats.replaceChildren();
  const counts = data.points.map((p) => p.count);
  const total = counts.reduce((a, b) => a + b, 0);
  // The hovered day (the last one while the cursor is elsewhere).
  const readout = h('span', { class: 'readout' });
  const show = (i: number | null | undefined): void => {
    const p = data.points[i ?? data.points.length - 1];
    readout.replaceChildren(
      ...(p
        ? [p.label, ' · users ', h('b', {}, fmtInt(p.count)), ` · ${data.window}-day avg `, h('b', {}, p.average === null ? '–' : fmtDec(p.average))]
        : []),
    );
  };
  show(null);
  append(
    stats,
    h('span', {}, 'peak ', h('b', {}, fmtInt(Math.max(0, ...counts)))),
    h('span', {}, 'mean ', h('b', {}, fmtDec(counts.length ? total / counts.length : 0))),
    readout,
  );
  const chart = h('div', { class: 'chart', 'data-points': data.points.length });
  body.append(chart);
  const width = (): number => Math.max(320, chart.clientWidth);
  const options: uPlot.Options = {
    width: width(),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
    series: [
      {},
      {
        label: 'users',
        stroke: '#2563eb',
        width: 1.5,
        fill: 'rgba(37, 99, 235, 0.10)',
        points: { show: data.points.length <= 45, size: 4 },
      },
      {
        label: `${data.window}-day average`,
        stroke: '#ea580c',
        width: 2.25,
        points: { show: false },
      },
    ],
    axes: [
      { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } },
      { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 }, size: 56 },
    ],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    hooks: { setCursor: [(u) => show(u.cursor.idx)] },
  };
  plot = new uPlot(options, [data.points.map((p) => dayStart(p.label)), counts, data.points.map((p) => p.average)], chart);
  const p = plot;
  observer = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - p.width) > 1) p.setSize({ width: w, height: HEIGHT });
  });
  observer.observe(chart);
}
