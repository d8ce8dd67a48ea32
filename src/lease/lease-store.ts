/**
 * The lease protocol's seam: what a claim asks, what it answers, and the store interface that the
 * SQL store (over any executor) and the in-memory store implement. One contract suite tests both.
 */
import type { ExecuteOptions } from '../sql/executor.js';

/** Why a claim did not win. A skip is an outcome, not an error. */
export const SkipReason = {
  /** Another invocation holds the lease (or held it a moment ago). */
  HELD: 'held',
  /** This tick, or a later one, has already completed successfully. */
  TICK_DONE: 'tick-done',
  /** The tick is older than `maxTickAge` on the database clock: a late retry or a replay. */
  STALE_TICK: 'stale-tick',
  /** The tick is further ahead than `maxTickAhead` on the database clock: forged or skewed. */
  FUTURE_TICK: 'future-tick',
  /** Affinity mode: another owner keeps the job and has claimed within `failoverAfter`. */
  STANDBY: 'standby',
  /**
   * Another attempt of the caller's own invocation (same request id: a Lambda retry) holds the
   * live lease: its claim committed but its answer was lost. Not a skip: the guard fails again, so
   * the platform retries after that lease ends (or dead-letters the event), never answering a skip
   * while nobody runs the tick.
   */
  SAME_INVOCATION: 'same-invocation',
  /**
   * Global database: the row was reached through another cluster than the one that last claimed
   * it, so the old primary may have granted leases and completed ticks this one never saw. Claims
   * wait until the longest such lease has ended on the database clock (`failoverQuarantineMs`).
   */
  FAILOVER_QUARANTINE: 'failover-quarantine',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export interface ClaimRequest {
  readonly job: string;
  /** Unique per invocation attempt. Re-issuing a claim with the same holder is idempotent. */
  readonly holder: string;
  /**
   * The invocation this attempt belongs to, the same for all its attempts (e.g. function and
   * request id); `holder` must end with `/` and it. A live lease held by another attempt of it is
   * refused with `same-invocation` instead of `held`. Absent or null: no such check.
   */
  readonly invocation?: string | null;
  /** How long the lease lasts from the database's now. */
  readonly leaseMs: number;
  /** The schedule tick this run is for; absent or null in lease-only mode. */
  readonly tick?: Date | null;
  readonly maxTickAgeMs?: number;
  readonly maxTickAheadMs?: number;
  /** Affinity mode: who asks to keep the job (e.g. the region). Absent or null: no affinity. */
  readonly owner?: string | null;
  readonly failoverAfterMs?: number;
  /**
   * Global database: when this claim is the first to reach the row through another cluster than
   * the one that last claimed it (a failover), claims are refused this long on the database clock
   * (`failover-quarantine`). It must cover the longest lease a claimant takes. @default leaseMs
   */
  readonly failoverQuarantineMs?: number;
}

export type ClaimResult =
  | { readonly acquired: true; readonly fence: number }
  | { readonly acquired: false; readonly reason: SkipReason };

export interface HolderRef {
  readonly job: string;
  readonly holder: string;
  readonly fence: number;
}

export type ReleaseRequest = HolderRef &
  (
    | {
        readonly outcome: 'success';
        /** Keep others out until this long after the claim (absorbs duplicates of a fast run). */
        readonly minHoldMs?: number;
        /**
         * The tick the run completed. When the lease is no longer this holder's (force-released,
         * or expired and claimed again), the tick still counts as done: the mark moves forward to
         * it, never back, and nothing else changes.
         */
        readonly tick?: Date | null;
      }
    | {
        readonly outcome: 'failure';
        readonly error?: string;
        /**
         * The body may still be running (it was abandoned at a timeout, not stopped): record the
         * failure and leave the tick open, but let the lease run out instead of freeing it now.
         */
        readonly keepLease?: boolean;
        /** With `keepLease`: keep the lease at least this long from the database's now (to cover the body's last possible moment). @default 0 */
        readonly keepForMs?: number;
      }
  );

/** A claim whose answer never came: the holder it was sent with (its fence was never learnt). */
export interface WithdrawRequest {
  readonly job: string;
  readonly holder: string;
}

/**
 * A force release keyed on what an operator was shown: it frees the lease only if the row still has
 * this holder (null: none, a free lease or one kept by `minHold`) and this fence.
 */
export interface ForceReleaseRequest {
  readonly job: string;
  readonly holder: string | null;
  readonly fence: number;
}

export interface RenewRequest extends HolderRef {
  readonly leaseMs: number;
}

/** A job's row as the CLI and tests see it, with the database's now read in the same statement. */
export interface LeaseState {
  readonly job: string;
  readonly holder: string | null;
  readonly fence: number;
  readonly leaseUntil: Date;
  readonly claimedAt: Date | null;
  readonly tick: Date | null;
  readonly tickDone: Date | null;
  readonly owner: string | null;
  readonly ownerSeen: Date | null;
  readonly runs: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly lastErrorAt: Date | null;
  readonly releasedAt: Date | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly dbNow: Date;
  /** Claims are refused: the lease has not ended on the database clock (a holder runs, or `minHold` lasts). */
  readonly held: boolean;
}

export interface LeaseStore {
  /** One UPDATE, winner or loser; one more read where the driver does not report LAST_INSERT_ID. */
  claim(request: ClaimRequest, options?: ExecuteOptions): Promise<ClaimResult>;
  /**
   * Conditional on holder and fence: true when this holder's release is in the row (now, or by an
   * earlier attempt whose answer was lost: re-issuing is idempotent). A stale holder's release
   * frees nothing and returns false; a stale success still records its `tick` as done.
   */
  release(request: ReleaseRequest, options?: ExecuteOptions): Promise<boolean>;
  /** Extends a live lease held by this holder and fence; false if it was lost or had ended. */
  renew(request: RenewRequest, options?: ExecuteOptions): Promise<boolean>;
  /**
   * Withdraws a claim whose answer never came and whose body never ran: frees the lease if this
   * holder has it (true), else changes nothing (false). Idempotent.
   */
  withdraw(request: WithdrawRequest, options?: ExecuteOptions): Promise<boolean>;
  inspect(job: string, options?: ExecuteOptions): Promise<LeaseState | undefined>;
  list(options?: ExecuteOptions): Promise<LeaseState[]>;
  /**
   * Frees the lease and bumps the fence, so the old holder is fenced out. Given a job name, whoever
   * holds it; given the holder and fence an operator was shown, only if the row still has both
   * (false when either changed meanwhile, and nothing is changed).
   */
  forceRelease(job: string | ForceReleaseRequest, options?: ExecuteOptions): Promise<boolean>;
}
