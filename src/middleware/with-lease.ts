import { DEFAULTS } from '../constants.js';
import { LeaseGuardConfigError } from '../errors.js';
import { createGuard } from '../guard/engine.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions, type ResolvedLeaseGuardOptions } from '../guard/options.js';
import { startRenewal } from '../guard/renewal.js';
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

export type WithLeaseResult<T> = { readonly status: 'ran'; readonly result: T; readonly lease: Lease } | LeaseSkipped;

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
 * is renewed while `fn` runs; if a renewal is refused or the lease's window passes without a
 * confirmed one, `signal` aborts with a LeaseLostError so `fn` can stop before another holder
 * takes over. `fn`'s error is rethrown unchanged, after the release.
 */
export async function withLease<T>(
  options: WithLeaseOptions,
  fn: (lease: RunningLease) => Promise<T> | T,
): Promise<WithLeaseResult<T>> {
  const { renewEveryMs, event, ...guardOptions } = options;
  const resolved = parseLeaseGuardOptions(guardOptions);
  const timing = withLeaseTiming(resolved, renewEveryMs);
  const guard = createGuard(resolved);
  const decision = await guard.claim({ event }, timing.leaseMs);
  if ('skipped' in decision) return decision.skipped;

  const held = decision.won;
  const { lease } = held;
  const renewal = startRenewal({ store: guard.store, lease, ...timing, sentAt: held.sentAt });
  let result: T;
  try {
    result = await fn({ ...lease, signal: renewal.signal });
  } catch (error) {
    await renewal.stop();
    await guard.finish(held, { ok: false, error });
    throw error;
  }
  await renewal.stop();
  await guard.finish(held, { ok: true });
  return { status: 'ran', result, lease };
}
