import { LeaseLostError } from '../errors.js';
import { createGuard } from './guard.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from './options.js';
import type { Lease, LeaseSkipped } from './types.js';

export interface WithLeaseOptions extends LeaseGuardOptions {
  /** How often to renew while `fn` runs. @default a third of the lease */
  readonly renewEveryMs?: number;
  /** The event to derive a tick from (with `tick: 'auto'` or a function). @default undefined: lease-only */
  readonly event?: unknown;
}

/** What `fn` receives: the lease, and a signal that fires when the lease can no longer be trusted. */
export interface RunningLease extends Lease {
  readonly signal: AbortSignal;
}

export type WithLeaseResult<T> = { readonly status: 'ran'; readonly result: T; readonly lease: Lease } | LeaseSkipped;

const DEFAULT_LEASE_MS = 60_000;

/**
 * Runs `fn` under the job's lease in a plain Node process (a container cron, a script). The lease
 * is renewed while `fn` runs; if a renewal fails or the lease's local deadline passes first,
 * `signal` aborts with a LeaseLostError so `fn` can stop before another holder takes over.
 * `fn`'s error is rethrown unchanged, after the release.
 */
export async function withLease<T>(
  options: WithLeaseOptions,
  fn: (lease: RunningLease) => Promise<T> | T,
): Promise<WithLeaseResult<T>> {
  const { renewEveryMs, event, ...guardOptions } = options;
  const guard = createGuard(parseLeaseGuardOptions(guardOptions));
  const leaseMs = guard.options.leaseMs ?? DEFAULT_LEASE_MS;
  const decision = await guard.claim({ event }, leaseMs);
  if ('skipped' in decision) return decision.skipped;

  const held = decision.won;
  const { lease } = held;
  const controller = new AbortController();
  // Trust the lease until the last confirmed renewal's send time plus the lease, less a margin.
  const margin = Math.min(guard.options.leaseMarginMs, leaseMs / 4);
  let deadlineTimer: NodeJS.Timeout | undefined;
  const trustUntil = (sentAt: number): void => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => controller.abort(new LeaseLostError(`the lease on ${lease.job} was not renewed in time`)),
      Math.max(0, sentAt + leaseMs - margin - performance.now()),
    );
  };
  trustUntil(held.claimedAt);

  let stopped = false;
  let pending: Promise<void> = Promise.resolve();
  let renewTimer: NodeJS.Timeout | undefined;
  const every = renewEveryMs ?? leaseMs / 3;
  const scheduleRenewal = (): void => {
    renewTimer = setTimeout(() => {
      pending = renewOnce().then(() => {
        if (!stopped && !controller.signal.aborted) scheduleRenewal();
      });
    }, every);
  };
  const renewOnce = async (): Promise<void> => {
    const sentAt = performance.now();
    try {
      const renewed = await guard.store.renew(
        { job: lease.job, holder: lease.holder, fence: lease.fence, leaseMs },
        { signal: AbortSignal.timeout(Math.max(1, Math.round(every))) },
      );
      if (stopped) return;
      if (renewed) trustUntil(sentAt);
      else controller.abort(new LeaseLostError(`the lease on ${lease.job} was taken over or force-released`));
    } catch {
      // A failed renewal is retried at the next interval; the local deadline guards the gap.
    }
  };
  scheduleRenewal();

  const stop = async (): Promise<void> => {
    stopped = true;
    clearTimeout(renewTimer);
    clearTimeout(deadlineTimer);
    await pending;
  };
  let result: T;
  try {
    result = await fn({ ...lease, signal: controller.signal });
  } catch (error) {
    await stop();
    await guard.finish(held, { ok: false, error });
    throw error;
  }
  await stop();
  await guard.finish(held, { ok: true });
  return { status: 'ran', result, lease };
}
