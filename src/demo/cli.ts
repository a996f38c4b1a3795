// `bitmapql demo-data`: writes the synthetic launch archive (see generate.ts).

import { z } from 'zod';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { DEMO_DEFAULTS, dateOfDay, dayOfDate } from './generate.ts';
import { writeDemoArchive } from './write.ts';

export interface DemoFlags {
  out: string;
  days?: string;
  end?: string;
  linesPerDay?: string;
  seed?: string;
  badLines?: string;
}

const whole = (flag: string, min: number, max: number) =>
  z.coerce
    .number({ message: `${flag} must be a number` })
    .int(`${flag} must be a whole number`)
    .min(min, `${flag} must be at least ${min}`)
    .max(max, `${flag} must be at most ${max}`);

const flagsSchema = z.object({
  out: z.string().min(1, '--out must not be empty'),
  days: whole('--days', 1, 36_600).default(DEMO_DEFAULTS.days),
  end: z
    .string()
    .refine((d) => dayOfDate(d) !== null, '--end must be a date YYYY-MM-DD')
    .optional(),
  linesPerDay: whole('--lines-per-day', 0, 100_000_000).default(DEMO_DEFAULTS.linesPerDay),
  seed: whole('--seed', -(2 ** 31), 2 ** 32 - 1).default(DEMO_DEFAULTS.seed),
  badLines: z.coerce
    .number({ message: '--bad-lines must be a number' })
    .min(0, '--bad-lines must be between 0 and 1')
    .max(1, '--bad-lines must be between 0 and 1')
    .default(DEMO_DEFAULTS.badLines),
});

/** Yesterday (UTC), the default last day. */
export const yesterdayUtc = (now = Date.now()): string => dateOfDay(Math.floor(now / 86_400_000) - 1);

export async function runDemoData(flags: DemoFlags, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const o = { ...parsed.data, end: parsed.data.end ?? yesterdayUtc() };
  const started = Date.now();
  let first = '';
  let last = '';
  const result = await writeDemoArchive(o, (date) => {
    first ||= date;
    last = date;
  });
  out.write(
    `demo-data: ${result.files.length} files (${first} … ${last}), ${result.lines.toLocaleString('en-US')} lines, ${formatBytes(result.bytes)} in ${o.out} (seed ${o.seed}, ${((Date.now() - started) / 1000).toFixed(1)}s)\n`,
  );
}
