// The page's state lives in the URL query string, so a link shows exactly the same numbers:
// ?event=launch&end=2026-10-31&days=42&cohort=WEEK&rows=6&counter=launches&counterPeriod=MONTH (&live=on)

import type { Granularity } from '../generated/graphql.ts';

export type PanelGranularity = Extract<Granularity, 'DAY' | 'WEEK' | 'MONTH'>;
export const GRANULARITIES: readonly PanelGranularity[] = ['DAY', 'WEEK', 'MONTH'];

export interface DashboardState {
  /** null: the first event the gateway lists. */
  readonly event: string | null;
  /** Last day of the range, YYYY-MM-DD (default: today). */
  readonly end: string;
  readonly days: number;
  readonly cohort: PanelGranularity;
  readonly rows: number;
  /** null: the first counter the gateway lists. */
  readonly counter: string | null;
  readonly counterPeriod: PanelGranularity;
  /** The panels follow writes as they arrive (subscriptions); off by default. */
  readonly live: boolean;
}

export const LIMITS = { days: { min: 1, max: 365 }, rows: { min: 1, max: 52 } } as const;
export const DEFAULTS = { days: 30, cohort: 'WEEK', rows: 8, counterPeriod: 'MONTH' } as const;

/** Today in the browser's time zone, YYYY-MM-DD. */
export function today(now = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

const isDate = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

function int(text: string | null, fallback: number, limits: { min: number; max: number }): number {
  const n = text === null || text.trim() === '' ? NaN : Number(text);
  return Number.isInteger(n) ? Math.min(limits.max, Math.max(limits.min, n)) : fallback;
}

function granularity(text: string | null, fallback: PanelGranularity): PanelGranularity {
  const g = text?.toUpperCase();
  return GRANULARITIES.find((x) => x === g) ?? fallback;
}

/** The state a query string asks for; anything missing or invalid takes its default. */
export function readState(search: string, todayIso = today()): DashboardState {
  const q = new URLSearchParams(search);
  const text = (name: string): string | null => {
    const v = q.get(name)?.trim();
    return v ? v : null;
  };
  const end = text('end');
  return {
    event: text('event'),
    end: end !== null && isDate(end) ? end : todayIso,
    days: int(q.get('days'), DEFAULTS.days, LIMITS.days),
    cohort: granularity(q.get('cohort'), DEFAULTS.cohort),
    rows: int(q.get('rows'), DEFAULTS.rows, LIMITS.rows),
    counter: text('counter'),
    counterPeriod: granularity(q.get('counterPeriod'), DEFAULTS.counterPeriod),
    live: ['on', 'true', '1'].includes(q.get('live')?.trim().toLowerCase() ?? ''),
  };
}

/** The query string of a state (every field, in a fixed order). */
export function stateQuery(s: DashboardState): string {
  const q = new URLSearchParams();
  if (s.event !== null) q.set('event', s.event);
  q.set('end', s.end);
  q.set('days', String(s.days));
  q.set('cohort', s.cohort);
  q.set('rows', String(s.rows));
  if (s.counter !== null) q.set('counter', s.counter);
  q.set('counterPeriod', s.counterPeriod);
  if (s.live) q.set('live', 'on'); // off is the default: a link made before the toggle stays as it was
  return `?${q.toString()}`;
}
