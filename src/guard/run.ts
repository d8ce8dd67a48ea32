/**
 * One won invocation's life cycle, as an explicit state machine with one state object:
 *
 *   running ──settle(result)──────────────────────────────► settling ──► released
 *      │                                                        ▲
 *      ├──deadline / lease lost / middy's early timeout──► abandoned
 *      │                                                        │
 *      │     standard Lambda: record the failure, keep the lease past the deadline, end the
 *      │       environment once nothing else is in flight (the body dies with it)
 *      │     Managed Instances: keep renewing; settle(result) later releases by the real outcome
 *      │
 *   A lease shorter than the body's possible life is renewed while the body runs.
 *
 * Every transition is taken once; a late event (a settle after the abandonment was recorded, a
 * second settle) is ignored or folded in, never recorded twice.
 */
import { DEFAULTS } from '../constants.js';
import { LeaseBodyAbandonedError, type LeaseLostError } from '../errors.js';
import type { LeaseStore, ReleaseRequest } from '../lease/lease-store.js';
import { type ReleaseOutcome, releaseWithRetry } from '../lease/release-with-retry.js';
import { ExecutionModel, endEnvironment, type Work } from './execution.js';
import { type Keeper, startKeeper } from './keeper.js';
import { type Observer, Outcome } from './observe.js';
import type { ResolvedLeaseGuardOptions } from './options.js';
import type { Lease } from './types.js';

export type RunResult = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

export const RunState = {
  RUNNING: 'running',
  ABANDONED: 'abandoned',
  SETTLING: 'settling',
  RELEASED: 'released',
} as const;
export type RunState = (typeof RunState)[keyof typeof RunState];

/** What the engine hands a front door for a won claim. */
export interface GuardedRun {
  /** Read-only: the guard records the tick it claimed, never a value read back from here. */
  readonly lease: Lease;
  /** Aborts when the body should stop: its deadline came, or its lease was lost. */
  readonly signal: AbortSignal;
  readonly state: RunState;
  /**
   * Resolves with the error the invocation answers with when the guard gives up on the body. On
   * standard Lambda only once its failure is recorded and the environment is ending (the answer
   * must never come first); on Managed Instances at once (the body goes on under a renewed lease).
   */
  readonly abandoned: Promise<LeaseBodyAbandonedError>;
  /**
   * The body settled (or, for middy's early timeout, was answered for). The first call decides;
   * resolves once the run is recorded. Never throws.
   */
  settle(result: RunResult): Promise<void>;
  /** Follow a front door's outer signal (middy's early timeout); see `onOuterAbort`. */
  watchOuter(signal: AbortSignal | undefined): void;
}

/** What a run needs of its engine. */
export interface RunContext {
  readonly options: ResolvedLeaseGuardOptions;
  readonly store: LeaseStore;
  readonly observer: Observer;
  readonly model: ExecutionModel;
  /** How long before the invocation's deadline the release path must start to land in time. */
  readonly releaseReserveMs: number;
  /** The engine's releases under way: a run adds its own while it is sent. */
  readonly releasing: Set<Promise<void>>;
}

export interface RunStart {
  readonly job: string;
  readonly holder: string;
  readonly fence: number;
  /** The tick the row granted, as epoch milliseconds: the only tick a release records. */
  readonly tickMs: number | null;
  readonly leaseMs: number;
  /** `performance.now()` when the deciding claim was sent: the lease runs from no earlier. */
  readonly sentAt: number;
  /** `performance.now()` of the invocation's deadline; undefined outside Lambda. */
  readonly deadline: number | undefined;
  /** Renewal timing (withLease's, or derived from the lease). */
  readonly renewal: { readonly everyMs: number; readonly marginMs: number };
  /** This run's place in the process's in-flight work. */
  readonly work: Work;
}

/**
 * middy's early timeout answers for a body it could only signal to stop: JavaScript cannot be
 * pre-empted, so the body may still run.
 */
export function isMiddyTimeout(error: unknown): boolean {
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

/** The release's retry budget: until the deadline less the answer's reserve; the claim's budget outside Lambda. */
export function releaseBudget(options: ResolvedLeaseGuardOptions, deadline: number | undefined, now: number): number {
  if (deadline === undefined) return options.retry.budgetMs;
  return Math.max(1, deadline - now - DEFAULTS.answerReserveMs);
}

// middy 6 shares one AbortController across every invocation in a process (middy 7 makes one per
// request): a signal followed by more than one live run cannot say whose timeout it was.
const outerFollowers = new WeakMap<AbortSignal, number>();

export function startRun(ctx: RunContext, start: RunStart): GuardedRun {
  const { options, store, observer, model } = ctx;
  const { job, holder, fence, tickMs, leaseMs, sentAt, deadline } = start;
  const claimedAt = performance.now();
  const controller = new AbortController();
  let state: RunState = RunState.RUNNING;
  let bodySettled = false;
  let recorded: Promise<void> | undefined;
  let middyAnswered = false;
  let resolveAbandoned: (error: LeaseBodyAbandonedError) => void = () => undefined;
  const abandoned = new Promise<LeaseBodyAbandonedError>((resolve) => {
    resolveAbandoned = resolve;
  });
  let unwatchOuter = (): void => undefined;

  // The body's last possible moment: standard Lambda ends the environment at the guard's deadline
  // (the abandonment); elsewhere nothing bounds it, so the lease is kept for as long as it runs.
  const abandonAt = deadline === undefined ? undefined : deadline - ctx.releaseReserveMs;
  const keeper: Keeper = startKeeper({
    store,
    ref: { job, holder, fence },
    leaseMs,
    everyMs: start.renewal.everyMs,
    marginMs: start.renewal.marginMs,
    sentAt,
    neededUntil: abandonAt ?? Number.POSITIVE_INFINITY,
    onLost: (error) => onLost(error),
  });

  const tick = tickMs === null ? null : new Date(tickMs);
  const lease: Lease = Object.freeze(
    Object.defineProperties(
      {},
      {
        job: { value: job, enumerable: true },
        fence: { value: fence, enumerable: true },
        holder: { value: holder, enumerable: true },
        // A copy: a body that moves it in place changes nothing the guard records.
        tick: { value: tick === null ? null : new Date(tick), enumerable: true },
        expiresAt: {
          enumerable: true,
          get: () => new Date(Date.now() - performance.now() + keeper.trustedUntil + start.renewal.marginMs),
        },
      },
    ),
  ) as Lease;

  const timer =
    abandonAt === undefined
      ? undefined
      : setTimeout(
          () =>
            void abandon(
              new LeaseBodyAbandonedError(
                `the job body of ${job} was still running ${ctx.releaseReserveMs} ms before the invocation's deadline; ${
                  model === ExecutionModel.LAMBDA
                    ? 'it was abandoned and its lease kept past the deadline'
                    : 'it goes on running under a renewed lease until it settles'
                }`,
              ),
            ),
          Math.max(0, abandonAt - performance.now()),
        );

  function releaseRequest(result: RunResult, keepForMs?: number): ReleaseRequest {
    const tickDate = tickMs === null ? null : new Date(tickMs);
    if (result.ok) return { job, holder, fence, outcome: 'success', minHoldMs: options.minHoldMs, tick: tickDate };
    // Only an abandonment keeps the lease (`keepForMs`); middy's early timeout is one (settle).
    return {
      job,
      holder,
      fence,
      outcome: 'failure',
      error: errorMessage(result.error),
      keepLease: keepForMs !== undefined,
      ...(keepForMs === undefined ? {} : { keepForMs }),
    };
  }

  function releaseNote(outcome: ReleaseOutcome, result: RunResult): string | undefined {
    if (outcome.kind === 'released') return undefined;
    if (outcome.kind === 'stale') {
      return result.ok && tickMs !== null
        ? 'the lease was no longer this holder’s (it expired or was force-released); its tick is recorded as done'
        : 'the lease was no longer this holder’s (it expired or was force-released)';
    }
    return errorMessage(outcome.error);
  }

  /**
   * The release's retry budget: until the deadline, less the answer's reserve. Off standard Lambda
   * nothing freezes or ends the environment at the deadline, so a release at or past it (a body
   * that settled after it was abandoned) gets the usual retry budget instead of a last millisecond.
   */
  function recordBudget(): number {
    const untilDeadline = releaseBudget(options, deadline, performance.now());
    const pastDeadline = deadline !== undefined && untilDeadline <= options.releaseTimeoutMs;
    return model !== ExecutionModel.LAMBDA && pastDeadline ? options.retry.budgetMs : untilDeadline;
  }

  /** Sends the release and logs the run's decision. Never throws. */
  async function record(result: RunResult, extra: { keepForMs?: number; afterAbandonment?: boolean } = {}) {
    try {
      const outcome = await releaseWithRetry(store, releaseRequest(result, extra.keepForMs), {
        ...options.retry,
        attemptTimeoutMs: options.releaseTimeoutMs,
        budgetMs: recordBudget(),
      });
      // The run succeeded but nothing says so in the row: the tick stays open, and the lease
      // (not freed) keeps every duplicate out until it ends.
      const notRecorded = result.ok && outcome.kind === 'unrecorded';
      const note = releaseNote(outcome, result);
      observer.decision({
        job,
        outcome: result.ok ? Outcome.SUCCEEDED : Outcome.FAILED,
        holder,
        fence,
        tick: tickMs === null ? null : new Date(tickMs).toISOString(),
        runMs: Math.round(performance.now() - claimedAt),
        releaseAttempts: outcome.attempts,
        ...(result.ok ? {} : { error: errorMessage(result.error) }),
        ...(note === undefined ? {} : { releaseError: note }),
        ...(notRecorded ? { completionNotRecorded: true } : {}),
        ...(extra.afterAbandonment ? { afterAbandonment: true } : {}),
      });
    } catch {
      // Never throws: the body's own outcome is what the front door reports.
    }
  }

  function release(result: RunResult, afterAbandonment = false): Promise<void> {
    state = RunState.SETTLING;
    clearTimeout(timer);
    unwatchOuter();
    const sending = (async () => {
      await keeper.stop();
      await record(result, { afterAbandonment });
      state = RunState.RELEASED;
      start.work.done();
    })();
    ctx.releasing.add(sending);
    void sending.finally(() => ctx.releasing.delete(sending));
    return sending;
  }

  function logAbandoned(error: LeaseBodyAbandonedError): void {
    observer.decision({
      job,
      outcome: Outcome.ABANDONED,
      holder,
      fence,
      tick: tickMs === null ? null : new Date(tickMs).toISOString(),
      runMs: Math.round(performance.now() - claimedAt),
      error: errorMessage(error),
    });
  }

  /** The guard gives up on a body that may still run. */
  async function abandon(error: LeaseBodyAbandonedError): Promise<void> {
    if (state !== RunState.RUNNING) return;
    state = RunState.ABANDONED;
    clearTimeout(timer);
    if (!controller.signal.aborted) controller.abort(error);
    if (model !== ExecutionModel.LAMBDA) {
      // Never frozen, never ended: keep the lease for as long as the body runs; settle() records it.
      keeper.keepForever();
      logAbandoned(error);
      resolveAbandoned(error);
      return;
    }
    // Standard Lambda: record the failure while there is time, keeping the lease past the
    // deadline (the environment ends at the latest then), and end the environment.
    await keeper.stop();
    const keepForMs = Math.max(0, (deadline ?? performance.now()) - performance.now()) + options.leaseMarginMs;
    await record({ ok: false, error }, { keepForMs: Math.ceil(keepForMs) });
    unwatchOuter();
    state = RunState.RELEASED;
    // A body that stopped on its signal meanwhile cannot resume; one that did not must never run again here.
    if (bodySettled) start.work.done();
    else await endEnvironment(start.work);
    resolveAbandoned(error);
  }

  function onLost(error: LeaseLostError): void {
    if (!controller.signal.aborted) controller.abort(error);
    if (state !== RunState.RUNNING && state !== RunState.ABANDONED) return;
    if (model === ExecutionModel.LAMBDA) {
      void abandon(new LeaseBodyAbandonedError(`${error.message}; the job body was abandoned`, { cause: error }));
      return;
    }
    observer.problem(
      job,
      `${error.message} while its body runs: the body's signal aborted; its writes must check the fence (${fence}).`,
    );
  }

  /**
   * middy's early timeout answered while the body may still run. On standard Lambda the answer
   * freezes the environment with the body in it: the environment is ended now, synchronously,
   * before middy can answer (unless other guarded work is in flight: then as soon as it is not).
   * Elsewhere it changes nothing: the guard's own deadline and renewals govern the lease.
   */
  function onOuterAbort(): void {
    if (state !== RunState.RUNNING || model !== ExecutionModel.LAMBDA) return;
    state = RunState.ABANDONED;
    clearTimeout(timer);
    const error = new LeaseBodyAbandonedError(
      "middy's early timeout answered before lease-guard's deadline: set middy's timeoutEarlyInMillis below releaseReserveMs, or 0",
    );
    if (!controller.signal.aborted) controller.abort(error);
    observer.decision({
      job,
      outcome: Outcome.FAILED,
      holder,
      fence,
      tick: tickMs === null ? null : new Date(tickMs).toISOString(),
      error: `the job body was abandoned while still running (${error.message}); the lease is kept to its end and this execution environment ends`,
    });
    void keeper.stop();
    void endEnvironment(start.work).then(() => resolveAbandoned(error));
  }

  /**
   * The middy middleware saw middy's early timeout answer for a body that has not settled: middy
   * no longer waits for the body, so nothing will tell the guard when it ends.
   */
  function answeredByMiddy(cause: unknown): Promise<void> {
    middyAnswered = true;
    const error = new LeaseBodyAbandonedError("middy's early timeout answered while the job body was still running", {
      cause,
    });
    if (model === ExecutionModel.LAMBDA) {
      // Record the failure, keep the lease past the deadline, end the environment.
      recorded = state === RunState.RUNNING ? abandon(error) : (recorded ?? Promise.resolve());
      return recorded;
    }
    if (state !== RunState.RUNNING && state !== RunState.ABANDONED) return recorded ?? Promise.resolve();
    // Never ended, and its end can no longer be seen: keep the lease as long as any lease of the
    // job may last (maxLeaseMs), then let it end. leaseGuarded, or timeoutEarlyInMillis: 0, avoids this.
    state = RunState.ABANDONED;
    clearTimeout(timer);
    if (!controller.signal.aborted) controller.abort(error);
    recorded = (async () => {
      await keeper.stop();
      await record({ ok: false, error }, { keepForMs: options.maxLeaseMs });
      unwatchOuter();
      state = RunState.RELEASED;
      start.work.done();
      resolveAbandoned(error);
    })();
    return recorded;
  }

  return {
    lease,
    signal: controller.signal,
    get state() {
      return state;
    },
    abandoned,
    settle(result) {
      if (bodySettled || middyAnswered) return recorded ?? Promise.resolve();
      if (!result.ok && isMiddyTimeout(result.error)) return answeredByMiddy(result.error);
      bodySettled = true;
      if (state === RunState.RUNNING) recorded = release(result);
      else if (state === RunState.ABANDONED && model !== ExecutionModel.LAMBDA) recorded = release(result, true);
      // Standard Lambda: the abandonment is (being) recorded and the environment ends; the
      // invocation answers with the abandonment, never with a result the row does not show.
      else recorded = abandoned.then(() => undefined);
      return recorded;
    },
    watchOuter(signal) {
      if (signal === undefined) return;
      outerFollowers.set(signal, (outerFollowers.get(signal) ?? 0) + 1);
      const listener = (): void => {
        // Shared by another live run (middy 6): not provably this invocation's timeout.
        if ((outerFollowers.get(signal) ?? 0) > 1) return;
        onOuterAbort();
      };
      signal.addEventListener('abort', listener, { once: true });
      unwatchOuter = () => {
        unwatchOuter = () => undefined;
        signal.removeEventListener('abort', listener);
        const left = (outerFollowers.get(signal) ?? 1) - 1;
        if (left > 0) outerFollowers.set(signal, left);
        else outerFollowers.delete(signal);
      };
    },
  };
}
