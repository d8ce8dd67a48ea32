import { LeaseLostError } from '../errors.js';
import type { HolderRef, LeaseStore } from '../lease/lease-store.js';

export interface KeeperOptions {
  readonly store: LeaseStore;
  readonly ref: HolderRef;
  readonly leaseMs: number;
  /** How often to renew while renewals are needed. */
  readonly everyMs: number;
  /** Trust ends this long before the lease would, counted from a statement's send time. */
  readonly marginMs: number;
  /** `performance.now()` when the winning claim was sent. */
  readonly sentAt: number;
  /**
   * `performance.now()` until which the lease must be trusted: renewals are sent only while the
   * trusted window ends before it. Infinity: for as long as the keeper runs.
   */
  readonly neededUntil: number;
  /** Called once, when the lease can no longer be trusted (refused, or not renewed in time). */
  readonly onLost: (error: LeaseLostError) => void;
}

export interface Keeper {
  /** `performance.now()` until which the lease is trusted (the last confirmed statement's send time plus the lease, less the margin). */
  readonly trustedUntil: number;
  /** Renew for as long as the keeper runs, whatever `neededUntil` said (the body outlived it). */
  keepForever(): void;
  /** Stops renewing; resolves once no renewal is in flight, so none outlives the run. */
  stop(): Promise<void>;
}

/**
 * Keeps a lease while its body runs. Every window counts from when its statement was sent (the
 * claim, then each confirmed renewal), never from when the answer came: the database started the
 * lease no earlier than that. A lease that already covers `neededUntil` costs no round trip.
 */
export function startKeeper(options: KeeperOptions): Keeper {
  const { store, ref, leaseMs, everyMs, marginMs } = options;
  let neededUntil = options.neededUntil;
  let trustedUntil = options.sentAt + leaseMs - marginMs;
  let stopped = false;
  let lost = false;
  let lostTimer: NodeJS.Timeout | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();

  const lose = (why: string): void => {
    if (lost || stopped) return;
    lost = true;
    clearTimeout(renewTimer);
    options.onLost(new LeaseLostError(`the lease on ${ref.job} ${why}`));
  };
  const trustFrom = (sentAt: number): void => {
    trustedUntil = sentAt + leaseMs - marginMs;
    clearTimeout(lostTimer);
    lostTimer = setTimeout(() => lose('was not renewed in time'), Math.max(0, trustedUntil - performance.now()));
  };

  const renewOnce = async (): Promise<void> => {
    const sentAt = performance.now();
    try {
      const renewed = await store.renew(
        { job: ref.job, holder: ref.holder, fence: ref.fence, leaseMs },
        // A slow renewal still extends the lease from its send time: wait for it as long as the
        // lease is trusted, not just one interval (a loaded machine is not a lost lease).
        { signal: AbortSignal.timeout(Math.max(1, Math.round(trustedUntil - performance.now()))) },
      );
      if (stopped || lost) return;
      if (renewed) trustFrom(sentAt);
      else lose('was taken over or force-released');
    } catch {
      // A failed renewal is retried at the next interval; the window's deadline guards the gap.
    }
  };
  // At most one timer or renewal at a time: `renewTimer` is set only while none is in flight.
  let renewing = false;
  const renewNow = (): void => {
    renewTimer = undefined;
    renewing = true;
    pending = renewOnce().then(() => {
      renewing = false;
      schedule();
    });
  };
  const schedule = (): void => {
    if (stopped || lost || renewing || renewTimer !== undefined || trustedUntil >= neededUntil) return;
    renewTimer = setTimeout(renewNow, everyMs);
  };

  trustFrom(options.sentAt);
  schedule();
  return {
    get trustedUntil() {
      return trustedUntil;
    },
    keepForever() {
      neededUntil = Number.POSITIVE_INFINITY;
      if (stopped || lost || renewing) return;
      // Renewals may have stopped at the old bound, with the trusted window about to end: renew now.
      clearTimeout(renewTimer);
      renewNow();
    },
    async stop() {
      stopped = true;
      clearTimeout(renewTimer);
      clearTimeout(lostTimer);
      await pending;
    },
  };
}
