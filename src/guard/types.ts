import type { Context } from 'aws-lambda';
import type { SkipReason } from '../lease/lease-store.js';

/** What the job body sees on `context.lease` when its invocation holds the lease. */
export interface Lease {
  readonly job: string;
  /** The fencing token: strictly increasing per job. Make writes check it to refuse a stale holder. */
  readonly fence: number;
  /** This invocation attempt's identity in the lease row. */
  readonly holder: string;
  /** The schedule tick this run is for; null in lease-only mode. */
  readonly tick: Date | null;
  /** A local estimate of when the lease ends (the claim's send time plus the lease length). */
  readonly expiresAt: Date;
}

export type LeaseGuardContext = Context & { lease: Lease };

/** Why an invocation skipped: the store's reasons plus those decided before any claim. */
export const GuardSkipReason = {
  /** The event's tick field is present but malformed; it never reaches the database. */
  INVALID_EVENT: 'invalid-event',
  /** An EventBridge archive replay: ticks from the past do not run again. */
  REPLAY: 'replay',
  /** The lease's state could not be known and `onUnavailable` is `'skip'`. */
  UNAVAILABLE: 'unavailable',
  /** `requireTick` is set and the event carries no tick (or a wrapped or misspelled one). */
  NO_TICK: 'no-tick',
  /** A warmup ping (`@middy/warmup`'s event): never claims, whatever the middleware order. */
  WARMUP: 'warmup',
} as const;

export type LeaseSkipReason = SkipReason | (typeof GuardSkipReason)[keyof typeof GuardSkipReason];

/** The response of an invocation that did not run the body. A skip is an outcome, not an error. */
export interface LeaseSkipped {
  readonly status: 'skipped';
  readonly reason: LeaseSkipReason;
  readonly job: string;
  /** The tick the event was for (ISO), or null. */
  readonly tick: string | null;
  /** This invocation attempt's own id (a loser's claim learns only why it lost, not who holds the lease). */
  readonly holder: string;
  readonly detail?: string;
}
