// The names nearest to a misspelt one, for "No data for lanch: did you mean launch?". Distance is
// the optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1; case counts (event names are case-sensitive).

/** Edit distance between a and b (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const n = b.length;
  let before = new Array<number>(n + 1).fill(0); // row i - 2
  let prev = Array.from({ length: n + 1 }, (_, j) => j); // row i - 1
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(n + 1);
    row[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    before = prev;
    prev = row;
  }
  return prev[n]!;
}

/** Up to `k` of `names` nearest to `name`, nearest first, ties by name; `name` itself is never one. */
export function nearestNames(name: string, names: readonly string[], k = 3): string[] {
  const short = name.slice(0, 200); // a pasted essay costs no more than a long name
  return names
    .filter((n) => n !== name)
    .map((n) => ({ n, d: editDistance(short, n.slice(0, 200)) }))
    .sort((x, y) => x.d - y.d || (x.n < y.n ? -1 : x.n > y.n ? 1 : 0))
    .slice(0, k)
    .map((x) => x.n);
}
