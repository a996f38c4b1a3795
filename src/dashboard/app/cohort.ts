// Panel 2: bitmapist's cohort table for an event: row p = users with the event in period p,
// cell k = the share of them with the event again k periods later; cells shaded by that share.

import { EventCohortDocument, LiveEventCohortDocument } from '../generated/graphql.ts';
import type { EventCohortQuery } from '../generated/graphql.ts';
import { request, subscribe } from './api.ts';
import type { RequestError } from './api.ts';
import { fmtInt, fmtPct, h } from './dom.ts';
import type { PanelGranularity } from './state.ts';

export interface CohortData {
  readonly event: string;
  readonly granularity: PanelGranularity;
  /** Oldest first; cells in percent of size, null where there is nothing to show (empty cohort, or no data in that period). */
  readonly rows: ReadonlyArray<{ readonly label: string; readonly size: number; readonly cells: ReadonlyArray<number | null> }>;
  readonly average: ReadonlyArray<number | null>;
}

function cohortData(event: string, granularity: PanelGranularity, cohort: EventCohortQuery['cohort']): CohortData {
  return {
    event,
    granularity,
    rows: cohort.rows.map((r) => ({ label: r.period.label, size: r.size, cells: r.cells })),
    average: cohort.average,
  };
}

export async function loadCohort(event: string, granularity: PanelGranularity, end: string, rows: number): Promise<CohortData> {
  const { cohort } = await request(EventCohortDocument, { event, granularity, to: end, rows });
  return cohortData(event, granularity, cohort);
}

/** The same table, sent again as writes change it (the Live toggle); returns the function that stops it. */
export function followCohort(
  event: string,
  granularity: PanelGranularity,
  end: string,
  rows: number,
  next: (d: CohortData) => void,
  error: (e: RequestError) => void,
): () => void {
  return subscribe(LiveEventCohortDocument, { event, granularity, to: end, rows }, { next: ({ cohort }) => next(cohortData(event, granularity, cohort)), error });
}

const UNIT: Record<PanelGranularity, string> = { DAY: 'days', WEEK: 'weeks', MONTH: 'months' };

/** Background and text colour of a cell: the higher the percent, the deeper the blue. */
function shade(pct: number): { background: string; color: string } {
  const t = Math.min(1, Math.max(0, pct / 100));
  const lightness = 97 - 55 * Math.sqrt(t); // 97% (none) .. 42% (all)
  return { background: `hsl(217 85% ${lightness.toFixed(1)}%)`, color: lightness < 58 ? '#fff' : '#1e293b' };
}

function cell(value: number | null, kind: 'cell' | 'average'): HTMLTableCellElement {
  const td = h('td', { class: value === null ? `${kind} empty` : kind, 'data-value': value === null ? '' : String(value) });
  if (value !== null) {
    td.textContent = fmtPct(value);
    const { background, color } = shade(value);
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
    { class: 'cohort', 'data-granularity': data.granularity },
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
          ...r.cells.map((c) => cell(c, 'cell')),
        ),
      ),
    ),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', class: 'label' }, 'Average'), h('td', { class: 'size' }), ...data.average.map((a) => cell(a, 'average')))),
  );
  body.replaceChildren(h('div', { class: 'table-scroll' }, table));
}
