// The demo-data and import commands as a user runs them (node bin/bitmapql.js), and demo-data's determinism.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.ts';
import { generateDemo } from '../../src/demo/generate.ts';
import { writeDemoArchive } from '../../src/demo/write.ts';
import { redisUrl } from '../helpers.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bitmapql-import-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the CLI with default settings (none taken from this environment). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const s of Object.values(SETTINGS)) delete env[s.env];
  delete env.CONFIG_FILE;
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/bitmapql.js', ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('demo-data', () => {
  it('is deterministic: the same seed gives the same bytes, another seed other bytes', async () => {
    const o = { days: 3, end: '2026-03-02', linesPerDay: 150, badLines: 0.01 };
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    await writeDemoArchive({ ...o, seed: 11, out: a });
    await writeDemoArchive({ ...o, seed: 11, out: b });
    await writeDemoArchive({ ...o, seed: 12, out: c });
    const names = readdirSync(a).sort();
    expect(names).toEqual(['2026-02-28.jsonl.gz', '2026-03-01.jsonl.gz', '2026-03-02.jsonl.gz']);
    for (const n of names) {
      expect(readFileSync(join(b, n)).equals(readFileSync(join(a, n))), n).toBe(true);
      expect(readFileSync(join(c, n)).equals(readFileSync(join(a, n))), n).toBe(false);
    }
  });

  it('looks like the mybinder.org archive: skewed providers, repeat launches, lines in time order, weekday rhythm', () => {
    const days = [...generateDemo({ days: 28, end: '2026-10-31', linesPerDay: 1000, seed: 1, badLines: 0 })];
    const events = days.flatMap((d) => d.lines.map((l) => JSON.parse(l) as Record<string, string | number>));
    expect(Object.keys(events[0]!)).toEqual(['timestamp', 'schema', 'version', 'provider', 'spec', 'status', 'origin']);
    expect(events[0]).toMatchObject({ schema: 'binderhub.jupyter.org/launch', version: 3 });
    for (const d of days) {
      const stamps = d.lines.map((l) => (JSON.parse(l) as { timestamp: string }).timestamp);
      expect(stamps.every((s) => s.startsWith(`${d.date}T`) && s.endsWith('Z'))).toBe(true);
      expect([...stamps].sort()).toEqual(stamps);
    }
    const share = (p: string): number => events.filter((e) => e.provider === p).length / events.length;
    expect(share('GitHub')).toBeGreaterThan(0.8);
    expect(share('GitHub')).toBeLessThan(0.9);
    for (const p of ['GitLab', 'Gist', 'Zenodo', 'Git', 'Figshare']) expect(share(p), p).toBeGreaterThan(0);
    const bySpec = new Map<string, number>();
    for (const e of events) bySpec.set(e.spec as string, (bySpec.get(e.spec as string) ?? 0) + 1);
    const top = Math.max(...bySpec.values());
    expect(top).toBeGreaterThan(100); // a popular repository launches every day
    expect(bySpec.size).toBeGreaterThan(2000); // and there is a long tail
    const failures = events.filter((e) => e.status === 'failure').length / events.length;
    expect(failures).toBeGreaterThan(0.01);
    expect(failures).toBeLessThan(0.1);
    // Weekends (2026-10-10/11 are Sat/Sun) are quieter than weekdays.
    const count = (date: string): number => days.find((d) => d.date === date)!.lines.length;
    expect(count('2026-10-10') + count('2026-10-11')).toBeLessThan(count('2026-10-08') + count('2026-10-09'));
    // New repositories appear over time.
    const seenBefore = new Set(days.slice(0, 27).flatMap((d) => d.lines.map((l) => (JSON.parse(l) as { spec: string }).spec)));
    const newOnLastDay = new Set(days[27]!.lines.map((l) => (JSON.parse(l) as { spec: string }).spec).filter((spec) => !seenBefore.has(spec)));
    expect(newOnLastDay.size).toBeGreaterThan(20);
  });
});

describe('bitmapql demo-data and import', () => {
  it('writes an archive and imports it (exit 0, summary); a second run skips both files', async () => {
    const out = tempDir();
    const made = await cli(['demo-data', '--out', out, '--days', '2', '--end', '2026-10-05', '--lines-per-day', '300', '--seed', '3', '--bad-lines', '0.02']);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^demo-data: 2 files \(2026-10-04 … 2026-10-05\), [\d,]+ lines, [\d.]+ KiB in /);
    const files = readdirSync(out).sort().map((f) => join(out, f));
    expect(files.map((f) => f.slice(out.length + 1))).toEqual(['2026-10-04.jsonl.gz', '2026-10-05.jsonl.gz']);

    const prefix = `cli${randomBytes(3).toString('hex')}_`;
    const args = ['import', ...files, '--to', redisUrl(), '--prefix', prefix, '--id', 'spec', '--mark', 'launch', '--mark', 'launch:provider:{provider}', '--count', 'launches={provider}', '--batch', '100'];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^files: 2 files: 2 imported$/m);
    expect(first.stdout).toMatch(/^lines: [\d,]+ read, [\d,]+ imported, [\d,]+ skipped$/m);
    expect(first.stdout).toMatch(/^written: [\d,]+ marks \([\d,]+ bit writes\), [\d,]+ counter increments, [\d,]+ new ids, in \d+ batches$/m);
    expect(first.stdout).toMatch(/^skipped lines:\n {2}\S+/m);
    expect(first.stdout).toMatch(/^elapsed: [\d.]+s, [\d,]+ lines\/s$/m);

    const redis = new Redis(redisUrl());
    try {
      expect(await redis.exists(`${prefix}launch_2026-10-5`, `${prefix}launch_W2026-41`, `${prefix}launch_2026-10`)).toBe(3);
      const github = Number(await redis.hget(`${prefix.replace(/_$/, '')}:counter:launches:2026-10-5`, 'GitHub'));
      expect(github).toBeGreaterThan(100);

      const second = await cli(args);
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/^files: 2 files: 2 already imported \(skipped\)$/m);
      expect(second.stderr).toMatch(/already imported .* skipped; a --mark or --count not given before is imported on its own, --force writes the marks again/);
      expect(Number(await redis.hget(`${prefix.replace(/_$/, '')}:counter:launches:2026-10-5`, 'GitHub'))).toBe(github);
    } finally {
      const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`${prefix.replace(/_$/, '')}:*`))];
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('a misspelt template: exit 3, the summary names the field and the fix, nothing recorded; the corrected run imports, and a mark added with --map imports alone', async () => {
    const out = tempDir();
    const demo = { days: 2, end: '2026-10-05', linesPerDay: 200, seed: 5, badLines: 0 };
    await writeDemoArchive({ ...demo, out });
    const files = readdirSync(out).sort().map((f) => join(out, f));
    const lines = [...generateDemo(demo)].flatMap((d) => d.lines.map((l) => JSON.parse(l) as { timestamp: string; provider: string; origin: string; spec: string }));
    const prefix = `clt${randomBytes(3).toString('hex')}_`;
    const base = ['import', ...files, '--to', redisUrl(), '--prefix', prefix, '--id', 'spec', '--batch', '100'];

    const typo = await cli([...base, '--mark', 'launch:{provder}']);
    expect(typo.code, typo.stderr).toBe(3);
    expect(typo.stdout).toMatch(/^files: 2 files: 2 not imported \(every line was skipped\)$/m);
    expect(typo.stdout).toContain(`${files[0]}: every line was skipped: --mark launch:{provder}: field 'provder' is missing in all`);
    expect(typo.stdout).toMatch(/did you mean 'provider'\?$/m);

    const redis = new Redis(redisUrl());
    try {
      const meta = prefix.replace(/_$/, '');
      expect(await redis.keys(`${prefix}*`)).toEqual([]);
      expect(await redis.exists(`${meta}:imports`)).toBe(0);

      const good = [...base, '--mark', 'launch:{provider}', '--count', 'launches={provider}'];
      const fixed = await cli(good);
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(fixed.stdout).toMatch(/^files: 2 files: 2 imported$/m);
      const github = lines.filter((l) => l.provider === 'GitHub' && l.timestamp.startsWith('2026-10-05')).length;
      expect(Number(await redis.hget(`${meta}:counter:launches:2026-10-5`, 'GitHub'))).toBe(github);

      const map = join(out, '..', `${randomBytes(3).toString('hex')}-origins.json`);
      writeFileSync(map, JSON.stringify({ 'gke.mybinder.org': 'GKE', 'ovh.mybinder.org': 'OVH', 'gesis.mybinder.org': 'GESIS' }));
      dirs.push(map);
      const added = await cli([...good, '--mark', 'launch:federation:{origin|federation}', '--map', `federation=${map}`]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toMatch(/^files: 2 files: 2 with templates added$/m);
      expect(added.stdout).toMatch(/^written: [\d,]+ marks \([\d,]+ bit writes\), 0 counter increments, 0 new ids, /m);
      expect(added.stderr).toContain('already imported for --mark launch:{provider}, --count launches={provider}; importing --mark launch:federation:{origin|federation}');
      expect(Number(await redis.hget(`${meta}:counter:launches:2026-10-5`, 'GitHub'))).toBe(github);
      const gke = new Set(lines.filter((l) => l.origin === 'gke.mybinder.org' && l.timestamp.startsWith('2026-10-05')).map((l) => l.spec));
      const ids = (await redis.hmget(`${meta}:ids:forward`, ...[...gke])).map(Number);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0)).toBe(true);
      const bits = await Promise.all(ids.map((id) => redis.getbit(`${prefix}launch:federation:GKE_2026-10-5`, id)));
      expect(bits.every((b) => b === 1)).toBe(true);
      expect(await redis.bitcount(`${prefix}launch:federation:GKE_2026-10-5`)).toBe(gke.size);
    } finally {
      const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`${prefix.replace(/_$/, '')}:*`))];
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('exits 2 with a clear message on bad usage', async () => {
    const dir = tempDir();
    const results = await Promise.all([
      cli(['import', join(ROOT, 'package.json'), '--to', dir, '--mark', 'launch']),
      cli(['import', join(ROOT, 'package.json'), '--to', dir, '--id', 'spec', '--mark', 'launch', '--bogus']),
      cli(['import', join(dir, 'missing.jsonl'), '--to', dir, '--id', 'spec', '--mark', 'launch', '--batch', '0']),
      cli(['demo-data', '--out', dir, '--days', 'many']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results[0]!.stderr).toMatch(/the id field is required: --id <field>/);
    expect(results[1]!.stderr).toMatch(/unknown option '--bogus'/);
    expect(results[2]!.stderr).toMatch(/--batch must be a whole number/);
    expect(results[3]!.stderr).toMatch(/--days must be a number/);
    expect(readdirSync(dir)).toEqual([]); // nothing was opened or written
  });
});
