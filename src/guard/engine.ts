import { DEFAULTS } from '../constants.js';
import { LeaseUnavailableError } from '../errors.js';
import { type ClaimOutcome, claimWithRetry } from '../lease/claim-with-retry.js';
import { type LeaseStore, type ReleaseRequest, SkipReason } from '../lease/lease-store.js';
import { type ReleaseOutcome, releaseWithRetry } from '../lease/release-with-retry.js';
import { makeHolder } from './holder.js';
import {
  createObserver,
  defaultLogger,
  defaultMetrics,
  type LeaseGuardLogger,
  type Observer,
  Outcome,
} from './observe.js';
import type { ResolvedLeaseGuardOptions } from './options.js';
import { resolveStore } from './resolve-store.js';
import { deriveTick } from './tick.js';
import { GuardSkipReason, type Lease, type LeaseSkipped, type LeaseSkipReason } from './types.js';

export interface InvocationInfo {
  readonly event: unknown;
  readonly functionName?: string | undefined;
  readonly awsRequestId?: string | undefined;
  /** Milliseconds until the invocation's deadline; undefined outside Lambda. */
  readonly remainingMs?: number | undefined;
}

/** A won claim, kept until the run ends. Times are `performance.now()` values. */
export interface HeldLease {
  readonly lease: Lease;
  readonly leaseMs: number;
  /** When the claim's answer arrived. */
  readonly claimedAt: number;
  /** When the deciding claim statement was sent: the lease runs from no earlier than this. */
  readonly sentAt: number;
  /** The invocation's deadline; undefined outside Lambda. */
  readonly deadline: number | undefined;
}

export type GuardDecision = { readonly won: HeldLease } | { readonly skipped: LeaseSkipped };

export type RunResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: unknown; readonly abandoned?: boolean };

export interface Guard {
  readonly options: ResolvedLeaseGuardOptions;
  readonly store: LeaseStore;
  readonly observer: Observer;
  /** How long before the invocation's deadline the release path must start to land in time. */
  readonly releaseReserveMs: number;
  /** Derives the tick, claims (with retries) and decides. Throws LeaseUnavailableError when failing closed. */
  claim(invocation: InvocationInfo, leaseMs?: number): Promise<GuardDecision>;
  /**
   * Records the run. Success: retried until the deadline (less a reserve) and settled; if it
   * cannot be recorded, the lease is kept to its end and the decision logged at ERROR. Failure:
   * the tick stays open; `abandoned` (the body may still run) keeps the lease to its end too.
   * Never throws, whatever `error` is.
   */
  finish(held: HeldLease, result: RunResult): Promise<void>;
}

/**
 * middy's early timeout answers for a body it could only signal to stop: JavaScript cannot be
 * pre-empted, so the body may still run. Freeing the lease then would let a second run overlap it.
 */
function middyTimeout(error: unknown): boolean {
  try {
    const e = error as { name?: unknown; cause?: { package?: unknown } } | undefined;
    return e?.name === 'TimeoutError' && e.cause?.package === '@middy/core';
  } catch {
    return false;
  }
}

/** Text for any thrown value, even one without a prototype or with throwing getters. */
export function errorMessage(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    try {
      return `a thrown ${Object.prototype.toString.call(error)} that cannot be turned into text`;
    } catch {
      return 'a thrown value that cannot be turned into text';
    }
  }
}

type ResolvedOptions = ResolvedLeaseGuardOptions;

/** The lease length: fixed, or the invocation's remaining time plus the margin, capped. */
export function leaseLength(options: ResolvedOptions, remainingMs: number | undefined, fixedMs?: number): number {
  if (fixedMs !== undefined) return fixedMs;
  if (options.leaseMs !== undefined) return options.leaseMs;
  if (remainingMs === undefined) return options.maxLeaseMs;
  return Math.min(options.maxLeaseMs, remainingMs + options.leaseMarginMs);
}

/** The claim's retry budget: the configured one, ending a reserve before the invocation's deadline. */
export function claimBudget(options: ResolvedOptions, remainingMs: number | undefined): number {
  if (remainingMs === undefined) return options.retry.budgetMs;
  return Math.max(0, Math.min(options.retry.budgetMs, remainingMs - options.retry.reserveMs));
}

/** The release's retry budget: until the deadline less the answer's reserve; the claim's budget outside Lambda. */
export function releaseBudget(options: ResolvedOptions, deadline: number | undefined, now: number): number {
  if (deadline === undefined) return options.retry.budgetMs;
  return Math.max(1, deadline - now - DEFAULTS.answerReserveMs);
}

/** What a decided claim means for the invocation. */
export type ClaimVerdict =
  | { readonly kind: 'won'; readonly fence: number }
  | { readonly kind: 'skip'; readonly reason: LeaseSkipReason }
  /** Fail closed: the state is unknown, or this invocation's own earlier attempt holds the lease. */
  | { readonly kind: 'fail'; readonly reason: string; readonly cause?: unknown };

export function claimVerdict(outcome: ClaimOutcome, onUnavailable: ResolvedOptions['onUnavailable']): ClaimVerdict {
  if (outcome.kind === 'unavailable') {
    return onUnavailable === 'skip'
      ? { kind: 'skip', reason: GuardSkipReason.UNAVAILABLE }
      : { kind: 'fail', reason: outcome.error.code, cause: outcome.error };
  }
  const { result } = outcome;
  if (result.acquired) return { kind: 'won', fence: result.fence };
  // Never a skip, even with onUnavailable 'skip': nobody else would run this tick.
  if (result.reason === SkipReason.SAME_INVOCATION) return { kind: 'fail', reason: result.reason };
  return { kind: 'skip', reason: result.reason };
}

/** The life cycle shared by the middy middleware and `withLease`, free of middy itself. */
export function createGuard(options: ResolvedLeaseGuardOptions): Guard {
  const store = resolveStore(options);
  const logger: LeaseGuardLogger | false = options.logger ?? defaultLogger();
  const observer = createObserver(logger, options.metrics ?? defaultMetrics());
  const region = process.env.AWS_REGION || 'local';
  const affinity: { owner?: string; failoverAfterMs: number } | undefined =
    options.affinity === true ? { failoverAfterMs: DEFAULTS.failoverAfterMs } : options.affinity || undefined;
  const owner = affinity ? (affinity.owner ?? region) : null;
  const { job } = options;
  const releaseReserveMs = options.releaseTimeoutMs + DEFAULTS.answerReserveMs;
  // The longest lease any claimant of the job takes, unless the user knows better.
  const failoverQuarantineMs = options.failoverQuarantineMs ?? options.leaseMs ?? options.maxLeaseMs;

  function skip(
    reason: LeaseSkipReason,
    holder: string,
    tick: string | null,
    detail?: string,
  ): { skipped: LeaseSkipped } {
    const skipped: { -readonly [K in keyof LeaseSkipped]: LeaseSkipped[K] } = {
      status: 'skipped',
      reason,
      job,
      tick,
      holder,
    };
    // The handler's answer: no `detail` key at all without one.
    if (detail !== undefined) skipped.detail = detail;
    return { skipped };
  }

  function warn(message: string, fields: Record<string, unknown>): void {
    try {
      if (logger) logger.warn(`lease-guard: ${message}`, fields);
    } catch {
      // Observability never changes a run.
    }
  }

  async function claim(invocation: InvocationInfo, fixedLeaseMs?: number): Promise<GuardDecision> {
    const { holder, invocation: invocationKey } = makeHolder(owner ?? region, invocation);
    const derived = deriveTick(options, invocation.event);
    if (derived.kind !== 'tick') {
      const reason = derived.kind === 'replay' ? GuardSkipReason.REPLAY : GuardSkipReason.INVALID_EVENT;
      observer.decision({ job, outcome: Outcome.SKIPPED, reason, holder, error: derived.detail });
      return skip(reason, holder, null, derived.detail);
    }
    const { tick } = derived;
    if (tick === null && options.requireTick) {
      const detail = derived.hint ?? 'the event carries no tick and requireTick is set';
      observer.decision({ job, outcome: Outcome.SKIPPED, reason: GuardSkipReason.NO_TICK, holder, error: detail });
      return skip(GuardSkipReason.NO_TICK, holder, null, detail);
    }
    if (derived.hint !== undefined) warn(derived.hint, { job, holder });

    const remaining = invocation.remainingMs;
    const startedAt = performance.now();
    const deadline = remaining === undefined ? undefined : startedAt + remaining;
    const leaseMs = leaseLength(options, remaining, fixedLeaseMs);
    const outcome = await claimWithRetry(
      store,
      {
        job,
        holder,
        invocation: invocationKey,
        leaseMs,
        tick,
        maxTickAgeMs: options.maxTickAgeMs,
        maxTickAheadMs: options.maxTickAheadMs,
        owner,
        ...(affinity ? { failoverAfterMs: affinity.failoverAfterMs } : {}),
        failoverQuarantineMs,
      },
      { ...options.retry, budgetMs: claimBudget(options, remaining) },
    );
    const tickText = tick?.toISOString() ?? null;
    const claimLatencyMs = Math.round(outcome.latencyMs * 10) / 10;
    const { attempts } = outcome;
    const verdict = claimVerdict(outcome, options.onUnavailable);
    if (verdict.kind === 'fail') {
      const detail =
        verdict.cause === undefined
          ? 'an earlier attempt of this invocation (same request id) holds the lease: its claim committed but the answer was lost. Failing so the platform retries after that lease ends, or dead-letters the event'
          : errorMessage(verdict.cause);
      observer.decision({
        job,
        holder,
        tick: tickText,
        claimLatencyMs,
        attempts,
        outcome: Outcome.UNAVAILABLE,
        reason: verdict.reason,
        error: detail,
      });
      throw new LeaseUnavailableError(
        `lease-guard could not claim job ${job} after ${outcome.attempts} attempt(s) in ${Math.round(outcome.latencyMs)} ms; the job did not run. ${detail}`,
        verdict.cause === undefined ? undefined : { cause: verdict.cause },
      );
    }
    if (verdict.kind === 'skip') {
      const detail = outcome.kind === 'unavailable' ? errorMessage(outcome.error) : undefined;
      // One literal per decision (a log line leaves out the fields that are undefined).
      observer.decision({
        job,
        holder,
        tick: tickText,
        claimLatencyMs,
        attempts,
        outcome: outcome.kind === 'unavailable' ? Outcome.UNAVAILABLE : Outcome.SKIPPED,
        reason: outcome.kind === 'unavailable' ? outcome.error.code : verdict.reason,
        error: detail,
      });
      return skip(verdict.reason, holder, tickText, detail);
    }
    // The lease runs from the database's now when the deciding statement ran: no earlier than its send.
    const sentAt = outcome.kind === 'decided' ? outcome.sentAt : startedAt;
    const lease: Lease = {
      job,
      fence: verdict.fence,
      holder,
      tick,
      expiresAt: new Date(Date.now() - (performance.now() - sentAt) + leaseMs),
    };
    observer.decision({
      job,
      holder,
      tick: tickText,
      claimLatencyMs,
      attempts,
      outcome: Outcome.WON,
      fence: lease.fence,
    });
    return { won: { lease, leaseMs, claimedAt: performance.now(), sentAt, deadline } };
  }

  function releaseRequest(held: HeldLease, result: RunResult): ReleaseRequest {
    const { holder, fence, tick } = held.lease;
    if (result.ok) return { job, holder, fence, outcome: 'success', minHoldMs: options.minHoldMs, tick };
    return {
      job,
      holder,
      fence,
      outcome: 'failure',
      error: errorMessage(result.error),
      keepLease: result.abandoned === true || middyTimeout(result.error),
    };
  }

  function releaseNote(outcome: ReleaseOutcome, result: RunResult, tick: Date | null): string | undefined {
    if (outcome.kind === 'released') return undefined;
    if (outcome.kind === 'stale') {
      return result.ok && tick
        ? 'the lease was no longer this holder’s (it expired or was force-released); its tick is recorded as done'
        : 'the lease was no longer this holder’s (it expired or was force-released)';
    }
    return errorMessage(outcome.error);
  }

  async function finish(held: HeldLease, result: RunResult): Promise<void> {
    try {
      const { lease } = held;
      const outcome = await releaseWithRetry(store, releaseRequest(held, result), {
        ...options.retry,
        attemptTimeoutMs: options.releaseTimeoutMs,
        budgetMs: releaseBudget(options, held.deadline, performance.now()),
      });
      // The run succeeded but nothing says so in the row: the tick stays open, and the lease
      // (not freed) keeps every duplicate out until it ends.
      const notRecorded = result.ok && outcome.kind === 'unrecorded';
      const note = releaseNote(outcome, result, lease.tick);
      observer.decision({
        job,
        outcome: result.ok ? Outcome.SUCCEEDED : Outcome.FAILED,
        holder: lease.holder,
        fence: lease.fence,
        tick: lease.tick?.toISOString() ?? null,
        runMs: Math.round(performance.now() - held.claimedAt),
        releaseAttempts: outcome.attempts,
        ...(result.ok ? {} : { error: errorMessage(result.error) }),
        ...(note === undefined ? {} : { releaseError: note }),
        ...(notRecorded ? { completionNotRecorded: true } : {}),
      });
    } catch {
      // finish never throws: the body's own outcome is what the caller reports.
    }
  }

  return { options, store, observer, releaseReserveMs, claim, finish };
}
