import { LeaseLostError } from '../errors.js';
import type { LeaseStore } from '../lease/lease-store.js';
import type { Lease } from './types.js';

export interface RenewalOptions {
  readonly store: LeaseStore;
  readonly lease: Lease;
  readonly leaseMs: number;
  readonly everyMs: number;
  /** Trust ends this long before the lease would, counted from a statement's send time. */
  readonly marginMs: number;
  /** `performance.now()` when the winning claim was sent. */
  readonly sentAt: number;
}

export interface Renewal {
  /** Aborts with a LeaseLostError when the lease can no longer be trusted. */
  readonly signal: AbortSignal;
  /** Stops renewing; resolves once no renewal is in flight, so none outlives the run. */
  stop(): Promise<void>;
}

/**
 * Keeps a lease while a plain Node process works under it. Every window counts from when its
 * statement was sent (the claim, then each confirmed renewal), never from when the answer came:
 * the database started the lease no earlier than that. When a renewal is refused, or the window
 * ends without a confirmed one, `signal` aborts.
 */
export function startRenewal(options: RenewalOptions): Renewal {
  const { store, lease, leaseMs, everyMs, marginMs } = options;
  const controller = new AbortController();
  let stopped = false;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();

  const lose = (why: string): void => {
    if (!controller.signal.aborted) controller.abort(new LeaseLostError(`the lease on ${lease.job} ${why}`));
  };
  const trustUntil = (sentAt: number): void => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => lose('was not renewed in time'),
      Math.max(0, sentAt + leaseMs - marginMs - performance.now()),
    );
  };

  const renewOnce = async (): Promise<void> => {
    const sentAt = performance.now();
    try {
      const renewed = await store.renew(
        { job: lease.job, holder: lease.holder, fence: lease.fence, leaseMs },
        { signal: AbortSignal.timeout(Math.max(1, Math.round(everyMs))) },
      );
      if (stopped) return;
      if (renewed) trustUntil(sentAt);
      else lose('was taken over or force-released');
    } catch {
      // A failed renewal is retried at the next interval; the window's deadline guards the gap.
    }
  };
  const schedule = (): void => {
    renewTimer = setTimeout(() => {
      pending = renewOnce().then(() => {
        if (!stopped && !controller.signal.aborted) schedule();
      });
    }, everyMs);
  };

  trustUntil(options.sentAt);
  schedule();
  return {
    signal: controller.signal,
    async stop() {
      stopped = true;
      clearTimeout(renewTimer);
      clearTimeout(deadlineTimer);
      await pending;
    },
  };
}
