// Panel 2: bitmapist's cohort table for a pair of events: row p = users with the cohort event in
// period p, cell k = those of them with the activity event k periods later (the same event:
// retention), as a percent of the row or as counts; cells shaded by that share.

import { EventCohortDocument, LiveEventCohortDocument } from '../generated/graphql.ts';
import type { EventCohortQuery } from '../generated/graphql.ts';
import { request, subscribe } from './api.ts';
import type { RequestError } from './api.ts';
import { fmtInt, fmtPct, h } from './dom.ts';
import { tablePng } from './export.ts';
import type { CsvCell, PngCell } from './export.ts';
import type { PanelGranularity } from './state.ts';

export interface CohortData {
  /** The cohort event: who is in row p. */
  readonly event: string;
  /** The activity event: what cell k counts k periods later. */
  readonly activity: string;
  readonly granularity: PanelGranularity;
  /** Cells in percent of the row's size (true) or as counts of users (false). */
  readonly percent: boolean;
  /** Oldest first; cells in percent of size or counts, null where there is nothing to show (empty cohort, or no data in that period). */
  readonly rows: ReadonlyArray<{ readonly label: string; readonly size: number; readonly cells: ReadonlyArray<number | null> }>;
  readonly average: ReadonlyArray<number | null>;
}

/** Which cohort: the two events, the period, the last row's day, how many rows, percent or counts. */
export interface CohortQuery {
  readonly event: string;
  readonly activity: string;
  readonly granularity: PanelGranularity;
  readonly to: string;
  readonly rows: number;
  readonly percent: boolean;
}

const variables = (q: CohortQuery) => ({ event: q.event, activity: q.activity, granularity: q.granularity, to: q.to, rows: q.rows, asPercent: q.percent });

function cohortData(q: CohortQuery, cohort: EventCohortQuery['cohort']): CohortData {
  return {
    event: q.event,
    activity: q.activity,
    granularity: q.granularity,
    percent: q.percent,
    rows: cohort.rows.map((r) => ({ label: r.period.label, size: r.size, cells: r.cells })),
    average: cohort.average,
  };
}

export async function loadCohort(q: CohortQuery): Promise<CohortData> {
  const { cohort } = await request(EventCohortDocument, variables(q));
  return cohortData(q, cohort);
}

/** The same table, sent again as writes change it (the Live toggle); returns the function that stops it. */
export function followCohort(q: CohortQuery, next: (d: CohortData) => void, error: (e: RequestError) => void): () => void {
  return subscribe(LiveEventCohortDocument, variables(q), { next: ({ cohort }) => next(cohortData(q, cohort)), error });
}

const UNIT: Record<PanelGranularity, string> = { DAY: 'days', WEEK: 'weeks', MONTH: 'months' };

/** Background and text colour of a cell: the higher the percent, the deeper the blue. */
function shade(pct: number): { background: string; color: string } {
  const t = Math.min(1, Math.max(0, pct / 100));
  const lightness = 97 - 55 * Math.sqrt(t); // 97% (none) .. 42% (all)
  return { background: `hsl(217 85% ${lightness.toFixed(1)}%)`, color: lightness < 58 ? '#fff' : '#1e293b' };
}

/** The share (0..100) a cell is shaded by: its percent, or its count over the row's size. */
const shareOf = (value: number, size: number, percent: boolean): number => (percent ? value : size > 0 ? (value / size) * 100 : 0);

const cellText = (value: number, percent: boolean): string => (percent ? fmtPct(value) : fmtInt(value));

/** The average row's counts are shaded against the mean size of the rows that have cells. */
function meanSize(data: CohortData): number {
  const sized = data.rows.filter((r) => r.size > 0);
  return sized.length ? sized.reduce((a, r) => a + r.size, 0) / sized.length : 0;
}

function cell(value: number | null, kind: 'cell' | 'average', size: number, percent: boolean): HTMLTableCellElement {
  const td = h('td', { class: value === null ? `${kind} empty` : kind, 'data-value': value === null ? '' : String(value) });
  if (value !== null) {
    td.textContent = cellText(value, percent);
    const { background, color } = shade(shareOf(value, size, percent));
    td.style.background = background;
    td.style.color = color;
  }
  return td;
}

/** `noun`: what the ids are, plural ("users", "repositories"): the size column's heading. */
export function renderCohort(body: HTMLElement, data: CohortData, noun = 'users'): void {
  const columns = data.average.length;
  const offsets = Array.from({ length: columns }, (_, k) => h('th', { class: 'offset', scope: 'col' }, String(k)));
  const table = h(
    'table',
    { class: 'cohort', 'data-granularity': data.granularity, 'data-cells': data.percent ? 'percent' : 'counts' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', { rowspan: 2, scope: 'col', class: 'label' }, 'Cohort'), h('th', { rowspan: 2, scope: 'col', class: 'size' }, noun.charAt(0).toUpperCase() + noun.slice(1)), h('th', { colspan: columns, class: 'unit' }, `${UNIT[data.granularity]} later`)),
      h('tr', {}, ...offsets),
    ),
    h(
      'tbody',
      {},
      ...data.rows.map((r) =>
        h(
          'tr',
          { 'data-period': r.label, 'data-size': r.size },
          h('th', { scope: 'row', class: 'label' }, r.label),
          h('td', { class: 'size' }, fmtInt(r.size)),
          ...r.cells.map((c) => cell(c, 'cell', r.size, data.percent)),
        ),
      ),
    ),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', class: 'label' }, 'Average'), h('td', { class: 'size' }), ...data.average.map((a) => cell(a, 'average', meanSize(data), data.percent)))),
  );
  body.replaceChildren(h('div', { class: 'table-scroll' }, table));
}

// ---- export -------------------------------------------------------------------------------------

/** The CSV rows: cohort, size (the ids in it), one column per offset (percent or counts, as shown), then the average row. */
export function cohortCsv(data: CohortData): CsvCell[][] {
  const offsets = data.average.map((_, k) => `+${k}`);
  return [
    ['cohort', 'size', ...offsets],
    ...data.rows.map((r) => [r.label, r.size, ...r.cells]),
    ['average', null, ...data.average],
  ];
}

/** The table as shown (cells shaded alike) drawn onto a canvas: a PNG of a table needs one of its own. `noun`: the size column's heading. */
export function cohortPng(title: string, data: CohortData, noun = 'users'): HTMLCanvasElement {
  const head: PngCell[] = [
    { text: 'Cohort', align: 'left', color: '#6b7280', bold: true },
    { text: noun.charAt(0).toUpperCase() + noun.slice(1), color: '#6b7280', bold: true },
    ...data.average.map((_, k) => ({ text: `+${k}`, color: '#6b7280', bold: true })),
  ];
  const valueCell = (v: number | null, size: number): PngCell => {
    if (v === null) return { text: '', background: '#fafafa' };
    const { background, color } = shade(shareOf(v, size, data.percent));
    return { text: cellText(v, data.percent), background, color };
  };
  const rows: PngCell[][] = [
    head,
    ...data.rows.map((r) => [{ text: r.label, align: 'left' as const, bold: true }, { text: fmtInt(r.size), color: '#6b7280' }, ...r.cells.map((c) => valueCell(c, r.size))]),
    [{ text: 'Average', align: 'left', bold: true }, { text: '' }, ...data.average.map((a) => ({ ...valueCell(a, meanSize(data)), bold: true }))],
  ];
  return tablePng(title, rows, [80, 56, ...data.average.map(() => 52)]);
}
