import { DEFAULTS } from '../constants.js';
import { LeaseGuardConfigError } from '../errors.js';
import { createEngine } from '../guard/engine.js';
import { ExecutionModel } from '../guard/execution.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions, type ResolvedLeaseGuardOptions } from '../guard/options.js';
import type { Lease, LeaseSkipped } from '../guard/types.js';

export interface WithLeaseOptions extends LeaseGuardOptions {
  /** How often to renew while `fn` runs; at most half of the trusted window (lease less margin). @default a third of the lease */
  readonly renewEveryMs?: number;
  /** The event to derive a tick from (with `tick: 'auto'` or a function). @default undefined: lease-only */
  readonly event?: unknown;
}

/** What `fn` receives: the lease, and a signal that fires when the lease can no longer be trusted. */
export interface RunningLease extends Lease {
  readonly signal: AbortSignal;
}

export type WithLeaseResult<T> =
  | {
      readonly status: 'ran';
      readonly result: T;
      readonly lease: Lease;
      /** The lease was lost while `fn` ran (refused renewal, force-release, or no renewal in time). */
      readonly lost: boolean;
    }
  | LeaseSkipped;

interface Timing {
  readonly leaseMs: number;
  readonly everyMs: number;
  readonly marginMs: number;
}

/**
 * withLease's timing, checked together: a lease is trusted for its length less a margin from
 * each statement's send time, and at least two renewals must fit in that window, so one lost
 * renewal never costs the lease.
 */
export function withLeaseTiming(options: ResolvedLeaseGuardOptions, renewEveryMs: unknown): Timing {
  const leaseMs = options.leaseMs ?? DEFAULTS.withLeaseMs;
  const marginMs = Math.min(options.leaseMarginMs, leaseMs / 4);
  const windowMs = leaseMs - marginMs;
  const everyMs = renewEveryMs ?? leaseMs / 3;
  if (typeof everyMs !== 'number' || !Number.isFinite(everyMs) || everyMs <= 0) {
    throw new LeaseGuardConfigError(
      `Invalid withLease options. renewEveryMs must be a positive, finite number of milliseconds, got ${String(everyMs)}. Leave it out to renew every third of the lease.`,
    );
  }
  if (everyMs > windowMs / 2) {
    throw new LeaseGuardConfigError(
      `Invalid withLease options. renewEveryMs (${everyMs}) must be at most half of the trusted window, leaseMs less the margin (${leaseMs} − ${marginMs} = ${windowMs} ms), so a lost renewal is retried before the lease can lapse. Renew at most every ${Math.floor(windowMs / 2)} ms, or lengthen leaseMs.`,
    );
  }
  return { leaseMs, everyMs, marginMs };
}

/**
 * Runs `fn` under the job's lease in a plain Node process (a container cron, a script). The lease
 * is renewed while `fn` runs; if a renewal is refused (another holder, a force-release) or the
 * lease's window passes without a confirmed one, `signal` aborts with a LeaseLostError so `fn`
 * can stop before another holder takes over. `fn`'s error is rethrown unchanged, after the release.
 *
 * Resolves with `{ status: 'ran', result, lease, lost }` when `fn` ran (`lost`: its lease was
 * lost while it ran, so another holder may have run beside its end: check `lease.fence` in every
 * write), or with the skip (`{ status: 'skipped', reason, ... }`) when another holder has the job.
 */
export async function withLease<T>(
  options: WithLeaseOptions,
  fn: (lease: RunningLease) => Promise<T> | T,
): Promise<WithLeaseResult<T>> {
  const { renewEveryMs, event, ...guardOptions } = options;
  const resolved = parseLeaseGuardOptions(guardOptions);
  const timing = withLeaseTiming(resolved, renewEveryMs);
  const engine = createEngine(resolved, {
    model: ExecutionModel.PROCESS,
    leaseMs: timing.leaseMs,
    renewal: { everyMs: timing.everyMs, marginMs: timing.marginMs },
  });
  const begun = await engine.begin({ event });
  if ('skipped' in begun) return begun.skipped;

  const { run } = begun;
  const { lease, signal } = run;
  let result: T;
  try {
    result = await fn(
      Object.freeze({
        job: lease.job,
        fence: lease.fence,
        holder: lease.holder,
        tick: lease.tick,
        expiresAt: lease.expiresAt,
        signal,
      }),
    );
  } catch (error) {
    await run.settle({ ok: false, error });
    throw error;
  }
  await run.settle({ ok: true });
  return { status: 'ran', result, lease, lost: signal.aborted };
}
