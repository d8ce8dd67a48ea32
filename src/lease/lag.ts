/**
 * How far behind a job is: the time since its last completed tick, on the database clock. Pure, no
 * I/O; the CDK watchdog publishes it as a metric and `lease-guard status` shows it.
 *
 *   completionLag(state, { periodMs: 5 * 60_000, periods: 3 })
 *   // { lagMs: 1_020_000, overdue: true } — the last completed tick was 17 minutes ago
 *
 * `tick_done` is the tick (scheduled time) of the newest completed run, whichever region ran it,
 * so a healthy job's lag stays below one period plus its run time. A job that never completed has
 * no lag (`null`); with `createdAt` (its row's creation, at its first claim) it is still overdue
 * once that is more than `periods` periods ago.
 */

/** The parts of a job's inspected state (`LeaseStore.inspect`/`list`) the lag needs. */
export interface LagInput {
  /** The newest completed tick, or null if none completed. */
  readonly tickDone: Date | null;
  /** The database's now, read with the row. */
  readonly dbNow: Date;
  /** When the row was created (the job's first claim); makes a never-completed job overdue. */
  readonly createdAt?: Date;
}

export interface LagOptions {
  /** The expected time between ticks, in milliseconds. Without it nothing is overdue. */
  readonly periodMs?: number;
  /** How many periods without a completion make the job overdue. @default 1 */
  readonly periods?: number;
}

export interface CompletionLag {
  /** Milliseconds from the last completed tick to the database's now; null if none completed. */
  readonly lagMs: number | null;
  /** More than `periods × periodMs` since the last completion (or since the row was created). */
  readonly overdue: boolean;
}

export function completionLag(state: LagInput, options: LagOptions = {}): CompletionLag {
  const { periodMs, periods = 1 } = options;
  if (periodMs !== undefined && !(Number.isFinite(periodMs) && periodMs > 0)) {
    throw new RangeError(`periodMs must be a positive number of milliseconds, got ${periodMs}.`);
  }
  if (!(Number.isFinite(periods) && periods > 0)) {
    throw new RangeError(`periods must be a positive number, got ${periods}.`);
  }
  const now = state.dbNow.getTime();
  // A tick ahead of the database clock (allowed up to maxTickAhead) is no lag, not a negative one.
  const lagMs = state.tickDone ? Math.max(0, now - state.tickDone.getTime()) : null;
  if (periodMs === undefined) return { lagMs, overdue: false };
  const since = lagMs ?? (state.createdAt ? now - state.createdAt.getTime() : null);
  return { lagMs, overdue: since !== null && since > periods * periodMs };
}
