/**
 * The shortest time between two ticks of a Scheduler expression, in minutes: exact for `rate()`,
 * and for `cron()` the shortest gap between the times of day its minute and hour fields allow
 * (day fields only lengthen gaps, so this is a lower bound that is reached on any day with two
 * ticks). `undefined` for `at()` (one tick) and for fields it does not read (`L`, `W`, `#`, names).
 */
export function shortestTickGapMinutes(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate?.[1] && rate[2]) {
    const unit = rate[2].startsWith('minute') ? 1 : rate[2].startsWith('hour') ? 60 : 1440;
    return Number(rate[1]) * unit;
  }
  const cron = /^cron\((\S+) (\S+) \S+ \S+ \S+ \S+\)$/.exec(expression);
  if (!cron?.[1] || !cron[2]) return undefined;
  const minutes = cronField(cron[1], 0, 59);
  const hours = cronField(cron[2], 0, 23);
  if (!minutes || !hours) return undefined;
  const times = hours.flatMap((hour) => minutes.map((minute) => hour * 60 + minute)).sort((a, b) => a - b);
  const first = times[0] as number;
  // The day wraps: the last tick of a day to the first of the next (at least a day later when ticks skip days).
  let gap = first + 1440 - (times[times.length - 1] as number);
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, (times[i] as number) - (times[i - 1] as number));
  return gap;
}

/** The values of one cron field: `*`, numbers, `a-b`, `a/n`, `*\/n`, `a-b/n`, and lists of them. */
function cronField(field: string, min: number, max: number): number[] | undefined {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) return undefined;
    const start = match[1] === '*' ? min : Number(match[2]);
    const end = match[1] === '*' ? max : match[3] !== undefined ? Number(match[3]) : match[4] ? max : start;
    const step = match[4] ? Number(match[4]) : 1;
    if (start < min || end > max || start > end || step < 1) return undefined;
    for (let value = start; value <= end; value += step) values.add(value);
  }
  return [...values];
}
