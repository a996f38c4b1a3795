// Time analytics over answered counts: rolling averages, cohort tables (bitmapist get_dates_data), funnels.

/** Mean of the last `window` values at each point; null until `window` values exist. */
export function rollingAverages(values: readonly number[], window: number | null | undefined): Array<number | null> {
  if (!window) return values.map(() => null);
  let sum = 0;
  return values.map((v, i) => {
    sum += v;
    if (i >= window) sum -= values[i - window]!;
    return i + 1 >= window ? sum / window : null;
  });
}

export interface CohortRowData {
  size: number;
  cells: Array<number | null>;
}

export interface CohortTableData {
  rows: CohortRowData[];
  /** Per column, the mean of its non-null cells (null when it has none). */
  average: Array<number | null>;
}

/**
 * bitmapist get_dates_data: cell (p, k) = |cohort(p) ∧ activity(p+k)|, as a count or a percent of
 * |cohort(p)|; null (bitmapist's '') where the cohort is empty or period p+k has no activity
 * data at all, 0 where data exists but does not overlap.
 */
export function cohortTable(
  sizes: readonly number[],
  overlaps: ReadonlyArray<readonly number[]>,
  activityExists: ReadonlyArray<readonly boolean[]>,
  asPercent: boolean,
): CohortTableData {
  const rows = sizes.map((size, r) => ({
    size,
    cells: overlaps[r]!.map((n, k) => {
      if (size === 0 || !activityExists[r]![k]) return null;
      return asPercent ? (n / size) * 100 : n;
    }),
  }));
  const columns = overlaps[0]?.length ?? 0;
  const average = Array.from({ length: columns }, (_, k) => {
    const present = rows.map((r) => r.cells[k]).filter((c): c is number => c !== null);
    return present.length ? present.reduce((a, b) => a + b, 0) / present.length : null;
  });
  return { rows, average };
}

/** The table as CSV, like bitmapist's export: period, size, then one column per offset. */
export function cohortCsv(labels: readonly string[], table: CohortTableData): string {
  const columns = table.average.length;
  const fmt = (v: number | null): string => (v === null ? '' : String(Math.round(v * 100) / 100));
  const lines = [['period', 'size', ...Array.from({ length: columns }, (_, k) => String(k))].join(',')];
  table.rows.forEach((row, i) => lines.push([labels[i]!, String(row.size), ...row.cells.map(fmt)].join(',')));
  lines.push(['average', '', ...table.average.map(fmt)].join(','));
  return `${lines.join('\n')}\n`;
}

export interface FunnelStepData {
  count: number;
  fromPrevious: number | null;
  fromFirst: number | null;
}

/** Step k counts users in steps 1..k; ratios are fractions (0..1), null where the base is empty. */
export function funnelSteps(counts: readonly number[]): FunnelStepData[] {
  const ratio = (n: number, base: number | undefined): number | null => (base ? n / base : null);
  return counts.map((count, k) => ({
    count,
    fromPrevious: k === 0 ? null : ratio(count, counts[k - 1]),
    fromFirst: ratio(count, counts[0]),
  }));
}
