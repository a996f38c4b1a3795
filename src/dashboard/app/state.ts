// The page's state lives in the URL query string, so a link shows exactly the same numbers:
// ?event=launch&from=2026-09-20&to=2026-10-31&granularity=DAY&cohort=WEEK&rows=6&counter=launches&counterPeriod=MONTH (&live=on)
// A link from before the range (end=2026-10-31&days=42) still opens the same days: to = end,
// from = end - days + 1. The breakdown panel adds &prefix=launch:provider: (&stacked=on), the
// cohort (&cohortEvent=…&activity=…) when its events differ from `event`, and &cells=counts.

import type { Granularity } from '../generated/graphql.ts';

export type PanelGranularity = Extract<Granularity, 'DAY' | 'WEEK' | 'MONTH'>;
export const GRANULARITIES: readonly PanelGranularity[] = ['DAY', 'WEEK', 'MONTH'];
export type CohortCells = 'percent' | 'counts';

export interface DashboardState {
  /** null: the first event the gateway lists. */
  readonly event: string | null;
  /** First day of the range, YYYY-MM-DD (default: 30 days up to `to`); never after `to`. */
  readonly from: string;
  /** Last day of the range, YYYY-MM-DD (default: today); the cohort and counter panels end here too. */
  readonly to: string;
  /** One point per day, week or month of the range (the series panel and the breakdown panel). */
  readonly granularity: PanelGranularity;
  /** The breakdown panel's name prefix (launch:provider:); null: the prefix most event names share. */
  readonly prefix: string | null;
  /** The breakdown panel as a stacked area rather than lines. */
  readonly stacked: boolean;
  readonly cohort: PanelGranularity;
  readonly rows: number;
  /** The cohort event (who is in a row); null: `event`. */
  readonly cohortEvent: string | null;
  /** The cohort's activity event (what a cell counts later); null: the cohort event (retention). */
  readonly activity: string | null;
  /** Cohort cells in percent of the row, or as counts. */
  readonly cells: CohortCells;
  /** null: the first counter the gateway lists. */
  readonly counter: string | null;
  readonly counterPeriod: PanelGranularity;
  /** The panels follow writes as they arrive (subscriptions); off by default. */
  readonly live: boolean;
  /** What the ids are, plural ("repositories"): &entity=; null: the gateway's DASHBOARD_ENTITY. */
  readonly entity: string | null;
}

/** days: the range's length (an old link's `days`, and the longest range: ten years). */
export const LIMITS = { days: { min: 1, max: 3653 }, rows: { min: 1, max: 52 } } as const;
export const DEFAULTS = { days: 30, granularity: 'DAY', cohort: 'WEEK', rows: 8, cells: 'percent', counterPeriod: 'MONTH' } as const;

/** Today in the browser's time zone, YYYY-MM-DD. */
export function today(now = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

const DAY_MS = 86_400_000;
const isDate = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
/** The day `n` days after a YYYY-MM-DD day (calendar arithmetic, no time zone). */
export const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
/** Days from `from` to `to`, both counted (1 when they are the same day). */
export const rangeDays = (from: string, to: string): number => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;

function int(text: string | null, fallback: number, limits: { min: number; max: number }): number {
  const n = text === null || text.trim() === '' ? NaN : Number(text);
  return Number.isInteger(n) ? Math.min(limits.max, Math.max(limits.min, n)) : fallback;
}

function granularity(text: string | null, fallback: PanelGranularity): PanelGranularity {
  const g = text?.toUpperCase();
  return GRANULARITIES.find((x) => x === g) ?? fallback;
}

const on = (text: string | null): boolean => ['on', 'true', '1'].includes(text?.trim().toLowerCase() ?? '');

/** An entity noun as given (spaces collapsed, at most 40 characters), or null when empty. */
export function entityName(text: string | null | undefined): string | null {
  const v = text?.trim().replace(/\s+/g, ' ').slice(0, 40).trim();
  return v ? v : null;
}

/** The state a query string asks for; anything missing or invalid takes its default. */
export function readState(search: string, todayIso = today()): DashboardState {
  const q = new URLSearchParams(search);
  const text = (name: string): string | null => {
    const v = q.get(name)?.trim();
    return v ? v : null;
  };
  const date = (name: string): string | null => {
    const v = text(name);
    return v !== null && isDate(v) ? v : null;
  };
  // `to`, else an old link's `end`; `from`, else `days` (or 30) days up to `to`.
  const to = date('to') ?? date('end') ?? todayIso;
  let from = date('from') ?? addDays(to, 1 - int(q.get('days'), DEFAULTS.days, LIMITS.days));
  if (from > to) from = to;
  if (rangeDays(from, to) > LIMITS.days.max) from = addDays(to, 1 - LIMITS.days.max);
  return {
    event: text('event'),
    from,
    to,
    granularity: granularity(q.get('granularity'), DEFAULTS.granularity),
    prefix: text('prefix'),
    stacked: on(q.get('stacked')),
    cohort: granularity(q.get('cohort'), DEFAULTS.cohort),
    rows: int(q.get('rows'), DEFAULTS.rows, LIMITS.rows),
    cohortEvent: text('cohortEvent'),
    activity: text('activity'),
    cells: q.get('cells')?.trim().toLowerCase() === 'counts' ? 'counts' : DEFAULTS.cells,
    counter: text('counter'),
    counterPeriod: granularity(q.get('counterPeriod'), DEFAULTS.counterPeriod),
    live: on(q.get('live')),
    entity: entityName(q.get('entity')),
  };
}

/** The query string of a state (every field, in a fixed order). */
export function stateQuery(s: DashboardState): string {
  const q = new URLSearchParams();
  if (s.event !== null) q.set('event', s.event);
  q.set('from', s.from);
  q.set('to', s.to);
  q.set('granularity', s.granularity);
  if (s.prefix !== null) q.set('prefix', s.prefix);
  if (s.stacked) q.set('stacked', 'on');
  q.set('cohort', s.cohort);
  q.set('rows', String(s.rows));
  // Absent unless chosen, as before the pair: a link names them only when they differ from `event`.
  if (s.cohortEvent !== null) q.set('cohortEvent', s.cohortEvent);
  if (s.activity !== null) q.set('activity', s.activity);
  if (s.cells !== DEFAULTS.cells) q.set('cells', s.cells);
  if (s.counter !== null) q.set('counter', s.counter);
  q.set('counterPeriod', s.counterPeriod);
  if (s.live) q.set('live', 'on'); // off is the default: a link made before the toggle stays as it was
  if (s.entity !== null) q.set('entity', s.entity);
  return `?${q.toString()}`;
}
