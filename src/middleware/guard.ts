import { DEFAULTS } from '../constants.js';
import { LeaseUnavailableError } from '../errors.js';
import { claimWithRetry } from '../lease/claim-with-retry.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { makeHolder } from './holder.js';
import { createObserver, defaultLogger, defaultMetrics, type Observer, Outcome } from './observe.js';
import type { ResolvedLeaseGuardOptions } from './options.js';
import { resolveStore } from './resolve-store.js';
import { deriveTick } from './tick.js';
import { GuardSkipReason, type Lease, type LeaseSkipped, type LeaseSkipReason } from './types.js';

export interface InvocationInfo {
  readonly event: unknown;
  readonly functionName?: string;
  readonly awsRequestId?: string;
  /** Milliseconds until the invocation's deadline; undefined outside Lambda. */
  readonly remainingMs?: number;
}

/** A won claim, kept until the run ends. */
export interface HeldLease {
  readonly lease: Lease;
  readonly leaseMs: number;
  readonly claimedAt: number;
}

export type GuardDecision = { readonly won: HeldLease } | { readonly skipped: LeaseSkipped };

export interface Guard {
  readonly options: ResolvedLeaseGuardOptions;
  readonly store: LeaseStore;
  readonly observer: Observer;
  /** Derives the tick, claims (with retries) and decides. Throws LeaseUnavailableError when failing closed. */
  claim(invocation: InvocationInfo, leaseMs?: number): Promise<GuardDecision>;
  /** Releases after the run. Never throws: a failed release is logged, and the lease expires by itself. */
  finish(held: HeldLease, result: { ok: true } | { ok: false; error: unknown }): Promise<void>;
}

/**
 * middy's early timeout answers for a body it could only signal to stop: JavaScript cannot be
 * pre-empted, so the body may still run (and resume after a Lambda freeze). Freeing the lease then
 * would let a second run overlap it; the lease is left to run out instead.
 */
function abandoned(error: unknown): boolean {
  const e = error as { name?: unknown; cause?: { package?: unknown } } | undefined;
  return e?.name === 'TimeoutError' && e.cause?.package === '@middy/core';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The life cycle shared by the middy middleware and `withLease`, free of middy itself. */
export function createGuard(options: ResolvedLeaseGuardOptions): Guard {
  const store = resolveStore(options);
  const observer = createObserver(options.logger ?? defaultLogger(), options.metrics ?? defaultMetrics());
  const region = process.env.AWS_REGION || 'local';
  const affinity: { owner?: string; failoverAfterMs: number } | undefined =
    options.affinity === true ? { failoverAfterMs: DEFAULTS.failoverAfterMs } : options.affinity || undefined;
  const owner = affinity ? (affinity.owner ?? region) : null;
  const { job } = options;

  function skip(
    reason: LeaseSkipReason,
    holder: string,
    tick: Date | null,
    detail?: string,
  ): { skipped: LeaseSkipped } {
    return {
      skipped: {
        status: 'skipped',
        reason,
        job,
        tick: tick?.toISOString() ?? null,
        holder,
        ...(detail === undefined ? {} : { detail }),
      },
    };
  }

  async function claim(invocation: InvocationInfo, fixedLeaseMs?: number): Promise<GuardDecision> {
    const holder = makeHolder(owner ?? region, invocation);
    const derived = deriveTick(options, invocation.event);
    if (derived.kind !== 'tick') {
      const reason = derived.kind === 'replay' ? GuardSkipReason.REPLAY : GuardSkipReason.INVALID_EVENT;
      observer.decision({ job, outcome: Outcome.SKIPPED, reason, holder, error: derived.detail });
      return skip(reason, holder, null, derived.detail);
    }
    const { tick } = derived;
    const remaining = invocation.remainingMs;
    const leaseMs =
      fixedLeaseMs ??
      options.leaseMs ??
      Math.min(options.maxLeaseMs, remaining === undefined ? options.maxLeaseMs : remaining + options.leaseMarginMs);
    const budgetMs = Math.max(
      0,
      remaining === undefined
        ? options.retry.budgetMs
        : Math.min(options.retry.budgetMs, remaining - options.retry.reserveMs),
    );
    const sentAt = Date.now();
    const outcome = await claimWithRetry(
      store,
      {
        job,
        holder,
        leaseMs,
        tick,
        maxTickAgeMs: options.maxTickAgeMs,
        maxTickAheadMs: options.maxTickAheadMs,
        owner,
        ...(affinity ? { failoverAfterMs: affinity.failoverAfterMs } : {}),
      },
      { ...options.retry, budgetMs },
    );
    const base = {
      job,
      holder,
      tick: tick?.toISOString() ?? null,
      claimLatencyMs: Math.round(outcome.latencyMs * 10) / 10,
      attempts: outcome.attempts,
    };
    if (outcome.kind === 'unavailable') {
      const detail = errorMessage(outcome.error);
      observer.decision({ ...base, outcome: Outcome.UNAVAILABLE, reason: outcome.error.code, error: detail });
      if (options.onUnavailable === 'skip') return skip(GuardSkipReason.UNAVAILABLE, holder, tick, detail);
      throw new LeaseUnavailableError(
        `lease-guard could not claim job ${job} after ${outcome.attempts} attempt(s) in ${Math.round(outcome.latencyMs)} ms; the job did not run. ${detail}`,
        { cause: outcome.error },
      );
    }
    if (!outcome.result.acquired) {
      observer.decision({ ...base, outcome: Outcome.SKIPPED, reason: outcome.result.reason });
      return skip(outcome.result.reason, holder, tick);
    }
    const lease: Lease = { job, fence: outcome.result.fence, holder, tick, expiresAt: new Date(sentAt + leaseMs) };
    observer.decision({ ...base, outcome: Outcome.WON, fence: lease.fence });
    return { won: { lease, leaseMs, claimedAt: performance.now() } };
  }

  async function finish(held: HeldLease, result: { ok: true } | { ok: false; error: unknown }): Promise<void> {
    const { lease } = held;
    const ref = { job, holder: lease.holder, fence: lease.fence };
    let releaseError: string | undefined;
    try {
      const released = await store.release(
        result.ok
          ? { ...ref, outcome: 'success', minHoldMs: options.minHoldMs }
          : { ...ref, outcome: 'failure', error: errorMessage(result.error), keepLease: abandoned(result.error) },
        { signal: AbortSignal.timeout(Math.round(options.releaseTimeoutMs)) },
      );
      if (!released) releaseError = 'the lease was no longer this holder’s (it expired or was force-released)';
    } catch (error) {
      releaseError = errorMessage(error);
    }
    observer.decision({
      job,
      outcome: result.ok ? Outcome.SUCCEEDED : Outcome.FAILED,
      holder: lease.holder,
      fence: lease.fence,
      tick: lease.tick?.toISOString() ?? null,
      runMs: Math.round(performance.now() - held.claimedAt),
      ...(result.ok ? {} : { error: errorMessage(result.error) }),
      ...(releaseError === undefined ? {} : { releaseError }),
    });
  }

  return { options, store, observer, claim, finish };
}
