/**
 * The invocation engine: one per guarded handler (or `withLease` call), deciding every invocation
 * the same way whatever front door it came through. `begin` answers a skip, fails closed, or
 * starts a run (./run.ts) that owns the rest of the life cycle.
 */
import { DEFAULTS } from '../constants.js';
import { LeaseGuardConfigError, LeaseStoreError, LeaseUnavailableError } from '../errors.js';
import { type ClaimOutcome, claimWithRetry } from '../lease/claim-with-retry.js';
import { withDeadline } from '../lease/deadline.js';
import { type LeaseStore, SkipReason } from '../lease/lease-store.js';
import { type ExecutionModel, startWork, type Work } from './execution.js';
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
import { isWarmupPing } from './pings.js';
import { resolveStore } from './resolve-store.js';
import { errorMessage, type GuardedRun, startRun } from './run.js';
import { deriveTick } from './tick.js';
import { GuardSkipReason, type LeaseSkipped, type LeaseSkipReason } from './types.js';

export { errorMessage, releaseBudget } from './run.js';

/** What a front door knows of an invocation. */
export interface InvocationInfo {
  readonly event: unknown;
  /** The Lambda context, when there is one: its remaining time, names and request id are read here. */
  readonly context?:
    | {
        readonly functionName?: string | undefined;
        readonly awsRequestId?: string | undefined;
        readonly getRemainingTimeInMillis?: (() => number) | undefined;
      }
    | undefined;
}

export type Begun = { readonly skipped: LeaseSkipped } | { readonly run: GuardedRun };

export interface EngineOptions {
  readonly model: ExecutionModel;
  /** A fixed lease length (withLease's). */
  readonly leaseMs?: number;
  /** withLease's renewal interval and margin. */
  readonly renewal?: { readonly everyMs: number; readonly marginMs: number };
}

export interface Engine {
  readonly options: ResolvedLeaseGuardOptions;
  readonly store: LeaseStore;
  readonly observer: Observer;
  readonly model: ExecutionModel;
  /** How long before the invocation's deadline the release path must start to land in time. */
  readonly releaseReserveMs: number;
  /**
   * Decides one invocation: a warmup ping, an event without a usable tick, too little time left,
   * then the claim. Throws LeaseUnavailableError when failing closed, LeaseGuardConfigError when
   * the invocation has too little time to record a run.
   */
  begin(invocation: InvocationInfo): Promise<Begun>;
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

/**
 * How a lease is kept while its body runs: trusted for its length less a margin (a quarter of it
 * at most) from each statement's send time, renewed three times per trusted window when renewals
 * are needed at all.
 */
export function renewalTiming(options: ResolvedOptions, leaseMs: number): { everyMs: number; marginMs: number } {
  const marginMs = Math.min(options.leaseMarginMs, leaseMs / 4);
  return { everyMs: (leaseMs - marginMs) / 3, marginMs };
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

/** Attempts to withdraw an unconfirmed claim get at most this long each. */
const WITHDRAW_ATTEMPT_MS = 1000;

export function createEngine(options: ResolvedLeaseGuardOptions, engineOptions: EngineOptions): Engine {
  const store = resolveStore(options);
  const logger: LeaseGuardLogger | false = options.logger ?? defaultLogger();
  const observer = createObserver(logger, options.metrics ?? defaultMetrics());
  const { model } = engineOptions;
  const region = process.env.AWS_REGION || 'local';
  const affinity: { owner?: string; failoverAfterMs: number } | undefined =
    options.affinity === true ? { failoverAfterMs: DEFAULTS.failoverAfterMs } : options.affinity || undefined;
  const owner = affinity ? (affinity.owner ?? region) : null;
  const { job } = options;
  const releaseReserveMs = options.releaseTimeoutMs + DEFAULTS.answerReserveMs;
  // The longest lease any claimant of the job takes, unless the user knows better.
  const failoverQuarantineMs = options.failoverQuarantineMs ?? options.leaseMs ?? options.maxLeaseMs;
  // Releases still under way. When a middleware after the guard stops middy's chain, nothing
  // waits for the release before the answer; the next claim here waits for it instead, so this
  // environment never loses its own next tick to its own unreleased lease.
  const releasing = new Set<Promise<void>>();
  // Holders of this engine's claims that failed closed with their answer lost and are not yet
  // withdrawn: their lease blocks the job although no body runs.
  const unconfirmed = new Set<string>();

  function skip(reason: LeaseSkipReason, holder: string, tick: string | null, detail?: string): Begun {
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

  /** Frees a claim whose answer never came, within `budgetMs`. True when it is gone (or was never ours). */
  async function withdraw(holder: string, budgetMs: number): Promise<boolean> {
    const started = performance.now();
    for (let attempt = 0; attempt < 5; attempt++) {
      const left = budgetMs - (performance.now() - started);
      if (left < 10) break;
      try {
        await withDeadline(Math.floor(Math.min(WITHDRAW_ATTEMPT_MS, left)), (execOptions) =>
          store.withdraw({ job, holder }, execOptions),
        );
        unconfirmed.delete(holder);
        return true;
      } catch (error) {
        if (!(error instanceof LeaseStoreError) || !error.retryable) break;
      }
    }
    unconfirmed.add(holder);
    return false;
  }

  async function claimOrSkip(invocation: InvocationInfo, work: Work): Promise<Begun> {
    const { context } = invocation;
    if (isWarmupPing(invocation.event)) {
      const holder = context?.awsRequestId ?? 'none';
      observer.decision({ job, outcome: Outcome.SKIPPED, reason: GuardSkipReason.WARMUP, holder });
      return skip(GuardSkipReason.WARMUP, holder, null);
    }
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
    // The deadline on this process's monotonic clock, read with the remaining time: every later
    // wait (earlier releases, a withdrawal, the claim itself) comes out of it.
    const deadline = remaining === undefined ? undefined : performance.now() + remaining;
    if (remaining !== undefined && remaining <= releaseReserveMs) {
      // Nothing claimed: a run here could not record its end before the deadline.
      throw new LeaseGuardConfigError(
        `lease-guard needs ${releaseReserveMs} ms before the invocation's deadline to record the run, but only ${remaining} ms remain: raise the function's timeout or lower releaseTimeoutMs.`,
      );
    }
    const { holder, invocation: invocationKey } = makeHolder(owner ?? region, context);
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

    if (releasing.size > 0) await Promise.all(releasing); // bounded: a release retries only to its own deadline
    const startedAt = performance.now();
    // An earlier claim of this environment whose answer never came blocks the job: withdraw it first.
    for (const earlier of [...unconfirmed]) await withdraw(earlier, WITHDRAW_ATTEMPT_MS);

    const remainingNow = deadline === undefined ? undefined : deadline - performance.now();
    const leaseMs = leaseLength(options, remainingNow, engineOptions.leaseMs);
    const budgetMs = claimBudget(options, remainingNow);
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
      { ...options.retry, budgetMs },
    );
    const tickText = tick?.toISOString() ?? null;
    const claimLatencyMs = Math.round(outcome.latencyMs * 10) / 10;
    const { attempts } = outcome;
    const verdict = claimVerdict(outcome, options.onUnavailable);
    if (outcome.kind === 'unavailable' && outcome.error.retryable) {
      // The claim may have committed with its answer lost: this attempt's body never runs, so its
      // lease would block the job for nothing. Withdraw it with the time this invocation has left.
      const withdrawMs =
        deadline === undefined ? options.retry.budgetMs : deadline - performance.now() - DEFAULTS.answerReserveMs;
      await withdraw(holder, Math.max(0, Math.min(withdrawMs, options.retry.budgetMs)));
    }
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
      const behindUnconfirmed = verdict.reason === SkipReason.HELD && unconfirmed.size > 0;
      // One literal per decision (a log line leaves out the fields that are undefined).
      observer.decision({
        job,
        holder,
        tick: tickText,
        claimLatencyMs,
        attempts,
        outcome: outcome.kind === 'unavailable' ? Outcome.UNAVAILABLE : Outcome.SKIPPED,
        reason: outcome.kind === 'unavailable' ? outcome.error.code : verdict.reason,
        error: behindUnconfirmed
          ? 'held by a claim of this environment whose answer never came (it failed closed; its body never ran) and that could not be withdrawn yet: nothing runs until its lease ends'
          : detail,
        heldByUnconfirmedClaim: behindUnconfirmed || undefined,
      });
      return skip(verdict.reason, holder, tickText, detail);
    }
    // The lease runs from the database's now when the deciding statement ran: no earlier than its send.
    const sentAt = outcome.kind === 'decided' ? outcome.sentAt : startedAt;
    observer.decision({
      job,
      holder,
      tick: tickText,
      claimLatencyMs,
      attempts,
      outcome: Outcome.WON,
      fence: verdict.fence,
    });
    const run = startRun(
      { options, store, observer, model, releaseReserveMs, releasing },
      {
        job,
        holder,
        fence: verdict.fence,
        tickMs: tick === null ? null : tick.getTime(),
        leaseMs,
        sentAt,
        deadline,
        renewal: engineOptions.renewal ?? renewalTiming(options, leaseMs),
        work,
      },
    );
    return { run };
  }

  return {
    options,
    store,
    observer,
    model,
    releaseReserveMs,
    async begin(invocation) {
      observer.startInvocation(invocation.context);
      const work = startWork();
      let begun: Begun | undefined;
      try {
        begun = await claimOrSkip(invocation, work);
        return begun;
      } finally {
        if (begun === undefined || 'skipped' in begun) work.done();
      }
    },
  };
}
