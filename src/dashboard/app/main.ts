// The dashboard page: four panels over the GraphQL API (series, breakdown, cohort, top counts), state in the URL query string.
// window.dashboard holds the numbers each panel drew; <body data-state> is loading, ready or error.
// With Live on, each drawn panel subscribes to its own query and is drawn again as writes arrive.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { DashboardMetaDocument } from '../generated/graphql.ts';
import { RequestError, apiKey, request } from './api.ts';
import type { GraphQLErrorItem } from './api.ts';
import { breakdownCsv, breakdownPng, followBreakdown, loadBreakdown, prefixesOf, renderBreakdown, suggestPrefix } from './breakdown.ts';
import type { BreakdownData, BreakdownDrawn } from './breakdown.ts';
import { cohortCsv, cohortPng, followCohort, loadCohort, renderCohort } from './cohort.ts';
import type { CohortData } from './cohort.ts';
import { countersCsv, countersPng, followCounters, loadCounters, renderCounters } from './counters.ts';
import { exportButtons, fileName, seriesCsv, seriesPng } from './export.ts';
import type { PanelExport } from './export.ts';
import type { CountersData } from './counters.ts';
import { h } from './dom.ts';
import { nearestNames } from './nearest.ts';
import { followSeries, loadSeries, renderSeries } from './series.ts';
import type { SeriesData } from './series.ts';
import { GRANULARITIES, LIMITS, entityName, readState, stateQuery } from './state.ts';
import type { DashboardState } from './state.ts';

export interface DashboardData {
  /** The state the panels were drawn for, defaults filled in. */
  state: DashboardState | null;
  series: SeriesData | null;
  /** The breakdown panel's series, and what its chart drew (lines, or the stacked running sums). */
  breakdown: (BreakdownData & { drawn: BreakdownDrawn }) | null;
  cohort: CohortData | null;
  counters: CountersData | null;
  /** Every error shown, by panel ('meta': the pickers' query). */
  errors: Array<{ panel: string; errors: readonly GraphQLErrorItem[] }>;
  /** With Live on: answers received from the subscriptions so far, and their errors, by panel. */
  live: { updates: number; errors: Array<{ panel: string; errors: readonly GraphQLErrorItem[] }> } | null;
}

declare global {
  interface Window {
    dashboard: DashboardData;
  }
}

const keysConfigured = document.documentElement.dataset.apiKeys === 'true';
/** What the ids are, plural (DASHBOARD_ENTITY, announced on <html data-entity>); a link's &entity= wins. */
const gatewayEntity = entityName(document.documentElement.dataset.entity) ?? 'users';
const ADJECTIVE = { DAY: 'Daily', WEEK: 'Weekly', MONTH: 'Monthly' } as const;

// ---- layout -------------------------------------------------------------------------------------

function select(name: string, label: string, options: readonly string[] = []): { wrap: HTMLLabelElement; el: HTMLSelectElement } {
  const el = h('select', { name, id: `f-${name}` }, ...options.map((o) => h('option', { value: o }, o.charAt(0) + o.slice(1).toLowerCase())));
  return { wrap: h('label', { class: 'field', for: `f-${name}` }, h('span', {}, label), el), el };
}

function input(name: string, label: string, attrs: Record<string, string | number>): { wrap: HTMLLabelElement; el: HTMLInputElement } {
  const el = h('input', { name, id: `f-${name}`, ...attrs });
  return { wrap: h('label', { class: 'field', for: `f-${name}` }, h('span', {}, label), el), el };
}

const f = {
  event: select('event', 'Event'),
  from: input('from', 'From', { type: 'date', required: 'required' }),
  to: input('to', 'To', { type: 'date', required: 'required' }),
  granularity: select('granularity', 'By', GRANULARITIES),
  cohort: select('cohort', 'Cohort', GRANULARITIES),
  rows: input('rows', 'Rows', { type: 'number', min: LIMITS.rows.min, max: LIMITS.rows.max, step: 1, required: 'required' }),
  counter: select('counter', 'Counter'),
  counterPeriod: select('counterPeriod', 'Period', GRANULARITIES),
  live: ((): { wrap: HTMLLabelElement; el: HTMLInputElement } => {
    const el = h('input', { type: 'checkbox', name: 'live', id: 'f-live', value: 'on' });
    return { wrap: h('label', { class: 'field live', for: 'f-live', title: 'Draw the panels again as writes arrive' }, h('span', {}, 'Live'), el), el };
  })(),
};
/** Controls drawn in a panel's header, part of the form all the same (form="controls"). */
function radios(name: string, label: string, choices: ReadonlyArray<readonly [value: string, text: string]>): { wrap: HTMLElement; els: HTMLInputElement[] } {
  const els = choices.map(([value]) => h('input', { type: 'radio', name, value, form: 'controls', id: `f-${name}-${value}` }));
  const wrap = h(
    'span',
    { class: 'switch', role: 'radiogroup', 'aria-label': label },
    ...choices.map(([value, text], i) => h('label', { for: `f-${name}-${value}` }, els[i]!, h('span', {}, text))),
  );
  return { wrap, els };
}
const pf = {
  prefix: ((): { wrap: HTMLLabelElement; el: HTMLInputElement; list: HTMLDataListElement } => {
    const list = h('datalist', { id: 'prefixes' });
    const el = h('input', { name: 'prefix', id: 'f-prefix', form: 'controls', list: 'prefixes', placeholder: 'launch:provider:', spellcheck: 'false', autocomplete: 'off' });
    return { wrap: h('label', { class: 'inline', for: 'f-prefix' }, h('span', {}, 'Prefix'), el, list), el, list };
  })(),
  stacked: radios('stacked', 'Breakdown view', [
    ['off', 'Lines'],
    ['on', 'Stacked'],
  ]),
  cohortEvent: ((): { wrap: HTMLLabelElement; el: HTMLSelectElement } => {
    const el = h('select', { name: 'cohortEvent', id: 'f-cohortEvent', form: 'controls' });
    return { wrap: h('label', { class: 'inline', for: 'f-cohortEvent' }, h('span', {}, 'Did'), el), el };
  })(),
  activity: ((): { wrap: HTMLLabelElement; el: HTMLSelectElement } => {
    const el = h('select', { name: 'activity', id: 'f-activity', form: 'controls' });
    return { wrap: h('label', { class: 'inline', for: 'f-activity' }, h('span', {}, 'then'), el), el };
  })(),
  cells: radios('cells', 'Cohort cells', [
    ['percent', '%'],
    ['counts', 'Counts'],
  ]),
};

/** What Live is doing: streaming, or why it stopped. */
const liveStatus = h('span', { class: 'live-status', id: 'live-status', role: 'status' });

const form = h(
  'form',
  { class: 'controls', method: 'get', action: '/', id: 'controls' },
  f.event.wrap,
  f.from.wrap,
  f.to.wrap,
  f.granularity.wrap,
  f.cohort.wrap,
  f.rows.wrap,
  f.counter.wrap,
  f.counterPeriod.wrap,
  f.live.wrap,
  h('button', { type: 'submit', class: 'apply' }, 'Apply'),
  liveStatus,
);

const keyInput = h('input', { type: 'password', id: 'api-key', placeholder: 'API key', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'API key' });
const keyForm = h('form', { class: 'key', id: 'key-form', hidden: !keysConfigured }, keyInput, h('button', { type: 'submit' }, 'Use key'));

function panel(id: string, title: string): { root: HTMLElement; title: HTMLElement; stats: HTMLElement; tools: HTMLElement; body: HTMLElement } {
  const t = h('h2', {}, title);
  const stats = h('div', { class: 'stats' });
  const tools = h('div', { class: 'tools' });
  const body = h('div', { class: 'panel-body' });
  const root = h('section', { class: 'panel', id, 'data-state': 'loading' }, h('header', {}, t, tools, stats), body);
  return { root, title: t, stats, tools, body };
}

const panels = {
  series: panel('series', 'Daily users'),
  breakdown: panel('breakdown', 'Breakdown'),
  cohort: panel('cohort', 'Retention'),
  counters: panel('counters', 'Top counts'),
};

document.body.append(
  h(
    'header',
    { class: 'top' },
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), h('h1', {}, 'bitmapql'), h('span', { class: 'sub' }, 'dashboard')),
    keyForm,
    h('nav', {}, h('a', { href: '/graphql' }, 'GraphiQL')),
  ),
  h('div', { class: 'toolbar' }, form),
  h('main', { class: 'grid' }, panels.series.root, panels.breakdown.root, panels.cohort.root, panels.counters.root),
);

/** Each panel's CSV (the numbers drawn) and PNG (the chart, or the table drawn onto a canvas), from what it shows now. */
const exports: Record<keyof typeof panels, PanelExport> = {
  series: {
    name: () => {
      const s = window.dashboard.state;
      return window.dashboard.series && s ? fileName('series', window.dashboard.series.event, s.from, s.to, s.granularity) : null;
    },
    csv: () => (window.dashboard.series ? seriesCsv(window.dashboard.series) : null),
    png: () => (window.dashboard.series ? seriesPng(panels.series.title.textContent ?? '', panels.series.body, window.dashboard.series) : null),
  },
  breakdown: {
    name: () => {
      const d = window.dashboard.breakdown;
      const s = window.dashboard.state;
      return d && s ? fileName('breakdown', d.prefix, s.from, s.to, d.granularity, d.drawn.stacked ? 'stacked' : 'lines') : null;
    },
    csv: () => (window.dashboard.breakdown ? breakdownCsv(window.dashboard.breakdown, window.dashboard.breakdown.drawn.stacked) : null),
    png: () => (window.dashboard.breakdown ? breakdownPng(panels.breakdown.title.textContent ?? '', panels.breakdown.body, window.dashboard.breakdown) : null),
  },
  cohort: {
    name: () => {
      const d = window.dashboard.cohort;
      return d && window.dashboard.state ? fileName('cohort', d.event, d.activity, d.granularity, window.dashboard.state.to, d.percent ? 'percent' : 'counts') : null;
    },
    csv: () => (window.dashboard.cohort ? cohortCsv(window.dashboard.cohort) : null),
    png: () => (window.dashboard.cohort ? cohortPng(panels.cohort.title.textContent ?? '', window.dashboard.cohort, window.dashboard.state?.entity ?? gatewayEntity) : null),
  },
  counters: {
    name: () => (window.dashboard.counters ? fileName('counters', window.dashboard.counters.name, window.dashboard.counters.period) : null),
    csv: () => (window.dashboard.counters ? countersCsv(window.dashboard.counters) : null),
    png: () => (window.dashboard.counters ? countersPng(panels.counters.title.textContent ?? '', window.dashboard.counters) : null),
  },
};
panels.breakdown.tools.append(pf.prefix.wrap, pf.stacked.wrap);
panels.cohort.tools.append(pf.cohortEvent.wrap, pf.activity.wrap, pf.cells.wrap);
for (const [name, p] of Object.entries(panels)) p.tools.append(exportButtons(name, exports[name as keyof typeof panels]));

// ---- rendering ----------------------------------------------------------------------------------

window.dashboard = { state: null, series: null, breakdown: null, cohort: null, counters: null, errors: [], live: null };

function showError(body: HTMLElement, err: unknown): readonly GraphQLErrorItem[] {
  const errors: readonly GraphQLErrorItem[] = err instanceof RequestError ? err.errors : [{ message: (err as Error)?.message ?? String(err) }];
  const list = h(
    'ul',
    {},
    ...errors.map((e) => h('li', {}, h('span', { class: 'message' }, e.message), e.extensions?.code ? h('code', { class: 'code' }, e.extensions.code) : null)),
  );
  const hint = err instanceof RequestError && err.needsKey ? h('p', { class: 'hint' }, 'This gateway needs an API key with the read scope: enter it above.') : null;
  body.replaceChildren(h('div', { class: 'error', role: 'alert' }, list, hint));
  if (err instanceof RequestError && err.needsKey) keyForm.hidden = false;
  return errors;
}

function note(body: HTMLElement, text: string): void {
  body.replaceChildren(h('p', { class: 'note' }, text));
}

/** "No data for lanch": the event has none; the nearest names that have some, each a link to the page with it. */
function noData(p: { body: HTMLElement; stats: HTMLElement }, name: string, names: readonly string[], link: (name: string) => string): void {
  const nearest = nearestNames(name, names);
  p.stats.replaceChildren();
  p.body.replaceChildren(
    h(
      'div',
      { class: 'no-data', role: 'status', 'data-name': name, 'data-nearest': nearest.join('\n') },
      h('p', {}, 'No data for ', h('b', {}, name), '.'),
      nearest.length
        ? h('p', {}, nearest.length > 1 ? 'Nearest names: ' : 'Nearest name: ', ...nearest.flatMap((n, i) => [i ? ', ' : '', h('a', { href: link(n) }, n)]))
        : h('p', {}, 'No event has data yet: record some with the markEvent mutation.'),
    ),
  );
}

/** A cohort picker: first "the same" (value "", which follows the other field), then the events. */
function fillPair(el: HTMLSelectElement, names: readonly string[], selected: string | null, same: string): void {
  const all = selected !== null && !names.includes(selected) ? [selected, ...names] : names;
  el.replaceChildren(h('option', { value: '' }, same), ...all.map((n) => h('option', { value: n }, n)));
  el.value = selected ?? '';
}

function fillSelect(el: HTMLSelectElement, names: readonly string[], selected: string | null): void {
  const all = selected !== null && !names.includes(selected) ? [selected, ...names] : names;
  el.replaceChildren(...all.map((n) => h('option', { value: n }, n)));
  el.disabled = all.length === 0;
  if (selected !== null) el.value = selected;
}

let generation = 0;
/** Closes the subscriptions of the panels drawn last. */
let stopLive: () => void = () => {};

async function render(requested: DashboardState): Promise<void> {
  const mine = ++generation;
  const current = (): boolean => mine === generation;
  stopLive();
  stopLive = () => {};
  liveStatus.textContent = '';
  document.body.dataset.state = 'loading';
  for (const p of Object.values(panels)) p.root.dataset.state = 'loading';
  f.from.el.value = requested.from;
  f.to.el.value = requested.to;
  f.granularity.el.value = requested.granularity;
  f.cohort.el.value = requested.cohort;
  f.rows.el.value = String(requested.rows);
  f.counterPeriod.el.value = requested.counterPeriod;
  f.live.el.checked = requested.live;
  pf.prefix.el.value = requested.prefix ?? '';
  for (const el of pf.stacked.els) el.checked = el.value === (requested.stacked ? 'on' : 'off');
  for (const el of pf.cells.els) el.checked = el.value === requested.cells;
  const data: DashboardData = { state: null, series: null, breakdown: null, cohort: null, counters: null, errors: [], live: null };

  let meta;
  try {
    meta = await request(DashboardMetaDocument);
  } catch (e) {
    if (!current()) return;
    for (const p of Object.values(panels)) {
      showError(p.body, e);
      p.stats.replaceChildren();
      p.root.dataset.state = 'error';
    }
    data.errors.push({ panel: 'meta', errors: e instanceof RequestError ? e.errors : [{ message: String(e) }] });
    window.dashboard = data;
    document.body.dataset.state = 'error';
    return;
  }
  if (!current()) return;
  const events = meta.events.map((e) => e.name);
  const state: DashboardState = {
    ...requested,
    event: requested.event ?? events[0] ?? null,
    counter: requested.counter ?? meta.counterNames[0] ?? null,
    prefix: requested.prefix ?? suggestPrefix(events),
  };
  data.state = state;
  history.replaceState(history.state, '', stateQuery(state)); // the link shows what is drawn, defaults included
  fillSelect(f.event.el, events, state.event);
  fillSelect(f.counter.el, meta.counterNames, state.counter);
  pf.prefix.el.value = state.prefix ?? '';
  pf.prefix.list.replaceChildren(...prefixesOf(events).map((p) => h('option', { value: p })));
  fillPair(pf.cohortEvent.el, events, state.cohortEvent, `= ${state.event ?? 'event'}`);
  fillPair(pf.activity.el, events, state.activity, '= the same');

  const { event, from, to, granularity, rows, cohort, counter, counterPeriod } = state;
  const end = to;
  const noun = state.entity ?? gatewayEntity;
  const seriesTitle = `${ADJECTIVE[granularity]} active ${noun}`;
  panels.series.title.textContent = event ? `${seriesTitle} · ${event}` : seriesTitle;
  // A name without data (misspelt, or from an old link) is not asked for: it would draw flat zeros.
  const missing = event !== null && !events.includes(event);
  const cohortEvent = state.cohortEvent ?? event;
  const activity = state.activity ?? cohortEvent;
  // The cohort's first name without data (the field it came from: Event when the pair follows it), like the series.
  const cohortMissing: { name: string; field: 'event' | 'cohortEvent' | 'activity' } | null =
    cohortEvent !== null && !events.includes(cohortEvent)
      ? { name: cohortEvent, field: state.cohortEvent === null ? 'event' : 'cohortEvent' }
      : activity !== null && !events.includes(activity)
        ? { name: activity, field: 'activity' }
        : null;
  const pair = cohortEvent === activity ? cohortEvent : `${cohortEvent} → ${activity}`;
  panels.cohort.title.textContent = event ? `Retention · ${pair} by ${cohort.toLowerCase()}` : 'Retention';
  panels.breakdown.title.textContent = state.prefix ? `Breakdown · ${state.prefix}` : 'Breakdown';
  panels.counters.title.textContent = counter ? `Top ${counter}` : 'Top counts';

  const tasks: Array<Promise<void>> = [
    run('series', panels.series, event === null || missing ? null : () => loadSeries({ event, from, to, granularity }), 'No events yet: record some with the markEvent mutation.', (d) => {
      data.series = d;
      renderSeries(panels.series.body, panels.series.stats, d, noun);
    }),
    run('breakdown', panels.breakdown, state.prefix === null ? null : loadBreakdownFor(state, state.prefix), 'No event names with a prefix yet (such as launch:provider:gh): type one above.', (d) => {
      data.breakdown = { ...d, drawn: renderBreakdown(panels.breakdown.body, panels.breakdown.stats, d, state.stacked) };
    }),
    run('cohort', panels.cohort, cohortEvent === null || activity === null || cohortMissing ? null : () => loadCohort({ event: cohortEvent, activity, granularity: cohort, to: end, rows, percent: state.cells === 'percent' }), 'No events yet.', (d) => {
      data.cohort = d;
      panels.cohort.stats.replaceChildren(h('span', {}, cohortStats(d, noun)));
      renderCohort(panels.cohort.body, d, noun);
    }),
    run('counters', panels.counters, counter === null ? null : () => loadCounters(counter, counterPeriod, end), 'No counters yet: record some with the incrementCounters mutation.', (d) => {
      data.counters = d;
      panels.counters.stats.replaceChildren(h('span', {}, `${d.granularity.toLowerCase()} ${d.period}`));
      renderCounters(panels.counters.body, d);
    }),
  ];

  async function run<T>(
    name: string,
    p: (typeof panels)[keyof typeof panels],
    load: (() => Promise<T>) | null,
    empty: string,
    draw: (d: T) => void,
  ): Promise<void> {
    if (load === null) {
      p.stats.replaceChildren();
      note(p.body, empty);
      p.root.dataset.state = 'ready';
      return;
    }
    try {
      const d = await load();
      if (!current()) return;
      draw(d);
      p.root.dataset.state = 'ready';
    } catch (e) {
      if (!current()) return;
      p.stats.replaceChildren();
      data.errors.push({ panel: name, errors: showError(p.body, e) });
      p.root.dataset.state = 'error';
    }
  }

  if (missing) noData(panels.series, event, events, (name) => stateQuery({ ...state, event: name }));
  if (cohortMissing) noData(panels.cohort, cohortMissing.name, events, (name) => stateQuery({ ...state, [cohortMissing.field]: name }));
  await Promise.all(tasks);
  if (!current()) return;
  window.dashboard = data;
  document.body.dataset.state = data.errors.length ? 'error' : 'ready';
  if (state.live) stopLive = follow(state, data);
}

/** The breakdown panel's request for the page's range (one seriesBreakdown). */
function loadBreakdownFor(state: DashboardState, prefix: string): () => Promise<BreakdownData> {
  return () => loadBreakdown(prefix, { from: state.from, to: state.to, granularity: state.granularity });
}

/** The cohort panel's line above its table: what the rows and cells are (`noun`: what the ids are, plural). */
function cohortStats(d: CohortData, noun: string): string {
  const cells = d.percent ? '% of the cohort' : `${noun} of the cohort`;
  return d.event === d.activity ? `${d.rows.length} cohorts · cells: ${cells} with ${d.event} again` : `${d.rows.length} cohorts of ${d.event} · cells: ${cells} with ${d.activity} later`;
}

/** Live: one subscription per drawn panel, each answer drawn into it (the first repeats what is shown). */
function follow(state: DashboardState, data: DashboardData): () => void {
  const live: NonNullable<DashboardData['live']> = { updates: 0, errors: [] };
  data.live = live;
  const stops: Array<() => void> = [];
  const stopAll = (): void => {
    for (const stop of stops.splice(0)) stop();
  };
  const updated = (): void => {
    live.updates++;
    liveStatus.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  };
  const failed = (panel: string) => (e: RequestError) => {
    live.errors.push({ panel, errors: e.errors });
    liveStatus.textContent = `not live: ${e.message}`;
    stopAll(); // the panels stay as last drawn
  };
  const { to: end, rows } = state;
  const noun = state.entity ?? gatewayEntity;
  const series = data.series;
  if (series) {
    stops.push(
      followSeries(series, (d) => {
        data.series = d;
        renderSeries(panels.series.body, panels.series.stats, d, noun);
        updated();
      }, failed('series')),
    );
  }
  const cohort = data.cohort;
  if (cohort) {
    stops.push(
      followCohort({ event: cohort.event, activity: cohort.activity, granularity: cohort.granularity, to: end, rows, percent: cohort.percent }, (d) => {
        data.cohort = d;
        renderCohort(panels.cohort.body, d, noun);
        updated();
      }, failed('cohort')),
    );
  }
  const counters = data.counters;
  if (counters) {
    stops.push(
      followCounters(counters, end, (d) => {
        data.counters = d;
        renderCounters(panels.counters.body, d);
        updated();
      }, failed('counters')),
    );
  }
  const breakdown = data.breakdown;
  if (breakdown) {
    // A new event under the prefix is a new value: the gateway watches the prefix too.
    stops.push(
      followBreakdown(breakdown.prefix, { from: state.from, to: state.to, granularity: breakdown.granularity }, (d) => {
        // Lines or Stacked as the switch is now (it redraws without a new request).
        const stacked = data.state?.stacked ?? state.stacked;
        data.breakdown = { ...d, drawn: renderBreakdown(panels.breakdown.body, panels.breakdown.stats, d, stacked) };
        updated();
      }, failed('breakdown')),
    );
  }
  liveStatus.textContent = stops.length ? 'live' : '';
  return stopAll;
}

// ---- events -------------------------------------------------------------------------------------

function formState(): DashboardState {
  const q = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (typeof value === 'string') q.set(name, value);
  return readState(q.toString());
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!form.reportValidity()) return;
  const state = formState();
  history.pushState(null, '', stateQuery(state));
  void render(state);
});
for (const el of [pf.prefix.el, pf.cohortEvent.el, pf.activity.el, ...pf.cells.els]) el.addEventListener('change', () => form.requestSubmit());
// Lines or stacked: the same numbers drawn again, without asking the gateway (unless the page is still loading).
for (const el of pf.stacked.els) {
  el.addEventListener('change', () => {
    const d = window.dashboard;
    if (document.body.dataset.state === 'loading' || d.state === null || d.breakdown === null) {
      form.requestSubmit();
      return;
    }
    const state: DashboardState = { ...d.state, stacked: el.value === 'on' };
    history.pushState(null, '', stateQuery(state));
    d.state = state;
    d.breakdown = { ...d.breakdown, drawn: renderBreakdown(panels.breakdown.body, panels.breakdown.stats, d.breakdown, state.stacked) };
  });
}
for (const el of [f.event.el, f.granularity.el, f.cohort.el, f.counter.el, f.counterPeriod.el, f.live.el]) el.addEventListener('change', () => form.requestSubmit());

keyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  apiKey.set(keyInput.value.trim());
  keyInput.value = '';
  keyInput.placeholder = apiKey.get() ? 'API key (saved)' : 'API key';
  void render(readState(location.search));
});
if (apiKey.get()) keyInput.placeholder = 'API key (saved)';

window.addEventListener('popstate', () => void render(readState(location.search)));

void render(readState(location.search));
