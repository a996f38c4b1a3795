// A period that is not over yet (today, this week, this month) holds only part of its events: drawn
// as a plain point it looks like a drop, and averaged it drags the mean down. These helpers, shared
// by the series and breakdown panels, mark such a period as partial, draw it with a dashed segment
// from the last complete point, and leave it out of every mean.

import type { PanelGranularity } from './state.ts';

/** A period as the gateway sends it: its first instant and the first instant of the next one. */
export interface PeriodSpan {
  readonly start: string;
  readonly end: string;
}

/** Rolling-average window by granularity: a week of days, four weeks, a quarter of months. */
export const WINDOWS: Readonly<Record<PanelGranularity, number>> = { DAY: 7, WEEK: 4, MONTH: 3 };

/** The unit of a granularity, singular: "7-day average", "4-week average". */
export const UNIT: Readonly<Record<PanelGranularity, string>> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };

/** The stroke pattern of a partial period's segment, for uPlot's `dash`. */
export const PARTIAL_DASH: readonly number[] = [6, 4];

/** True when `now` (ms since the epoch) falls in the period: it has begun and is not over. */
export function isPartial(p: PeriodSpan, now = Date.now()): boolean {
  return Date.parse(p.start) <= now && now < Date.parse(p.end);
}

/** True when the period has begun (a range may reach past today: periods not begun are not drawn). */
export function hasBegun(p: PeriodSpan, now = Date.now()): boolean {
  return Date.parse(p.start) <= now;
}

/**
 * One line as two uPlot series: `solid` holds the complete periods' values (null at partial ones),
 * `dashed` the partial periods' values joined to the complete point just before each of them, so
 * the line goes on dashed instead of dropping.
 */
export function splitPartial(
  values: ReadonlyArray<number | null>,
  partial: readonly boolean[],
): { solid: Array<number | null>; dashed: Array<number | null> } {
  const solid = values.map((v, i) => (partial[i] ? null : v));
  const dashed = values.map((v, i) => (partial[i] || partial[i + 1] ? v : null));
  return { solid, dashed };
}

/** The mean of the complete periods' values (null when there is none). */
export function completeMean(values: readonly number[], partial: readonly boolean[]): number | null {
  let sum = 0;
  let n = 0;
  values.forEach((v, i) => {
    if (!partial[i]) {
      sum += v;
      n++;
    }
  });
  return n ? sum / n : null;
}

/**
 * The x position of a period for uPlot's time axis drawn in UTC: the UTC midnight of the period's
 * first day as the gateway's time zone writes it, so the axis shows the period's own dates.
 */
export function periodX(p: Pick<PeriodSpan, 'start'>): number {
  return Date.parse(`${p.start.slice(0, 10)}T00:00:00Z`) / 1000;
}
