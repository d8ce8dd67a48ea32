/** Durations and times as the CLI prints and parses them. */
import { InvalidArgumentError } from 'commander';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "5m", "1h", "1d" in milliseconds; a Commander argument parser. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = match ? Number(match[1]) * (UNITS[match[2] as string] as number) : Number.NaN;
  if (!(ms > 0)) throw new InvalidArgumentError('expected a duration like 90s, 5m, 1h or 1d.');
  return ms;
}

/** "42s", "2m", "3h": a duration, rounded to the unit that reads best. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  return abs < 1_000
    ? `${Math.round(abs)}ms`
    : abs < 120_000
      ? `${Math.round(abs / 1_000)}s`
      : abs < 7_200_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)}h`
          : `${Math.round(abs / 86_400_000)}d`;
}

/** "in 42s", "2m ago": a time relative to the database's now. */
export function relative(ms: number): string {
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(ms)} ago`;
}

/** "2m ago" for a time read with the row, against the database's now read in the same statement. */
export function since(time: Date, dbNow: Date): string {
  return relative(time.getTime() - dbNow.getTime());
}
