// Panel 3: a counter's top keys in the period (day, week or month) that holds the range's end.

import { LiveTopCountersDocument, TopCountersDocument } from '../generated/graphql.ts';
import { request, subscribe } from './api.ts';
import type { RequestError } from './api.ts';
import { fmtInt, h } from './dom.ts';
import { tablePng } from './export.ts';
import type { CsvCell, PngCell } from './export.ts';
import type { PanelGranularity } from './state.ts';

export const TOP = 10;

export interface CountersData {
  readonly name: string;
  readonly granularity: PanelGranularity;
  /** The period's label, e.g. 2026-10, 2026-W44, 2026-10-31. */
  readonly period: string;
  /** Highest first. */
  readonly top: ReadonlyArray<{ readonly key: string; readonly value: number }>;
}

export async function loadCounters(name: string, granularity: PanelGranularity, end: string): Promise<CountersData> {
  const { period, counters } = await request(TopCountersDocument, { name, granularity, at: end, top: TOP });
  return { name, granularity, period: period.label, top: counters.map((c) => ({ key: c.key, value: c.value })) };
}

/** The same top keys, sent again as increments change them (the Live toggle); `shown` gives the period's label. */
export function followCounters(shown: CountersData, end: string, next: (d: CountersData) => void, error: (e: RequestError) => void): () => void {
  const { name, granularity } = shown;
  return subscribe(
    LiveTopCountersDocument,
    { name, granularity, at: end, top: TOP },
    { next: ({ counters }) => next({ ...shown, top: counters.map((c) => ({ key: c.key, value: c.value })) }), error },
  );
}

export function renderCounters(body: HTMLElement, data: CountersData): void {
  if (data.top.length === 0) {
    body.replaceChildren(h('p', { class: 'note' }, `No counts of ${data.name} in ${data.period}.`));
    return;
  }
  const max = Math.max(...data.top.map((c) => c.value));
  const list = h(
    'ol',
    { class: 'bars', 'data-period': data.period },
    ...data.top.map((c) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${max > 0 ? (c.value / max) * 100 : 0}%`;
      return h(
        'li',
        { 'data-key': c.key, 'data-value': c.value },
        h('span', { class: 'key', title: c.key }, c.key),
        h('span', { class: 'track' }, bar),
        h('span', { class: 'value' }, fmtInt(c.value)),
      );
    }),
  );
  body.replaceChildren(list);
}

// ---- export -------------------------------------------------------------------------------------

/** The CSV rows: key and value, highest first, as drawn. */
export function countersCsv(data: CountersData): CsvCell[][] {
  return [['key', 'value'], ...data.top.map((c) => [c.key, c.value])];
}

/** The bars as shown, drawn onto a canvas (the panel is HTML, not a chart). */
export function countersPng(title: string, data: CountersData): HTMLCanvasElement {
  const max = Math.max(0, ...data.top.map((c) => c.value));
  const rows: PngCell[][] = data.top.map((c) => [{ text: c.key, align: 'left' }, { text: '', bar: max > 0 ? c.value / max : 0 }, { text: fmtInt(c.value), bold: true }]);
  return tablePng(`${title} · ${data.period}`, rows.length ? rows : [[{ text: `No counts of ${data.name} in ${data.period}.`, align: 'left' }]], [80, 240, 56]);
}
