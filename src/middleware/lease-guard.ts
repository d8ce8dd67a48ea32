import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import type { MiddlewareObj, Request } from '@middy/core';
import { LeaseGuardError } from '../errors.js';
import { createGuard, type HeldLease } from '../guard/engine.js';
import { endEnvironment, LeaseBodyAbandonedError } from '../guard/execution.js';
import { Outcome } from '../guard/observe.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../guard/options.js';
import { isWarmupPing } from '../guard/pings.js';
import { GuardSkipReason, type LeaseGuardContext, type LeaseSkipped } from '../guard/types.js';
import { type BodyOutcome, watchBody } from './body-watch.js';

/** middy's own early-timeout error: its handler was only signalled to stop and may still run. */
function isMiddyTimeout(error: unknown): boolean {
  const e = error as { name?: unknown; cause?: { package?: unknown } } | undefined;
  return e?.name === 'TimeoutError' && e.cause?.package === '@middy/core';
}

/**
 * A middy middleware that runs the handler only in the invocation that holds the job's lease.
 * Options are validated here, once, at cold start.
 *
 * A middleware cannot see the handler; it watches middy's assignment of the handler's result (or
 * error) to the request instead, and starts the release the moment the body settles, whatever the
 * other middlewares do after it. Register it LAST (innermost, right before the handler) all the
 * same: then its `after`/`onError` also wait for the release before any other middleware answers.
 * With middy's `timeoutEarlyResponse`, use `leaseGuarded`, which owns the body's try/finally.
 *
 * @example
 * export const handler = middy(sendInvoices).use(logMetrics(metrics)).use(leaseGuard({ job: 'send-invoices' }));
 */
export function leaseGuard<TEvent = unknown, TResult = unknown>(
  options: LeaseGuardOptions,
): MiddlewareObj<TEvent, TResult | LeaseSkipped, Error, LeaseGuardContext> {
  const guard = createGuard(parseLeaseGuardOptions(options));
  // Per invocation; keyed by middy's request object so nothing survives into the next invocation.
  const held = new WeakMap<object, HeldLease>();
  // The guard's own deadline per invocation: `releaseReserveMs` before Lambda's.
  const deadlines = new WeakMap<object, NodeJS.Timeout>();
  let toldNoReserve = false;
  // Releases started when the body settled; `after`/`onError` wait for them when they run.
  // Nothing here assumes one invocation at a time: environments may run several at once.
  const finishing = new WeakMap<object, Promise<void>>();
  // Every release still under way in this environment. When a middleware after this one stops the
  // chain (an onError that answers, a throwing `after`), nothing waits for the release before the
  // answer goes back, and Lambda may freeze it mid-flight. The next claim waits for it, so this
  // environment never loses its own next tick to its own unreleased lease.
  const unsettled = new Set<Promise<void>>();

  type GuardRequest = Request<TEvent, TResult | LeaseSkipped, Error, LeaseGuardContext>;

  /** A skip returns early: Powertools' middlewares before this one close the invocation first. */
  const skipWith = async (request: GuardRequest, skipped: LeaseSkipped): Promise<LeaseSkipped> => {
    await cleanupMiddlewares(request as never).catch(() => undefined);
    return skipped;
  };

  const leaseGuardBefore = async (request: GuardRequest): Promise<LeaseSkipped | undefined> => {
    const { context } = request;
    guard.observer.startInvocation(context);
    if (isWarmupPing(request.event)) {
      const job = guard.options.job;
      const holder = context?.awsRequestId ?? 'none';
      guard.observer.decision({ job, outcome: Outcome.SKIPPED, reason: GuardSkipReason.WARMUP, holder });
      return skipWith(request, { status: 'skipped', reason: GuardSkipReason.WARMUP, job, tick: null, holder });
    }
    if (unsettled.size > 0) await Promise.all(unsettled); // bounded: a release retries only to its own deadline
    const remainingMs =
      typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
    const decision = await guard.claim({
      event: request.event,
      functionName: context?.functionName,
      awsRequestId: context?.awsRequestId,
      remainingMs,
    });
    if ('skipped' in decision) return skipWith(request, decision.skipped); // middy answers with it; no handler
    held.set(request, decision.won);
    context.lease = decision.won.lease;
    if (remainingMs !== undefined) armDeadline(request, decision.won, remainingMs);
    watchBody(request, (outcome) => {
      const lease = take(request);
      if (!lease) return; // the guard's deadline came first
      const release = settle(lease, outcome);
      finishing.set(request, release);
      unsettled.add(release);
      const done = (): void => {
        unsettled.delete(release);
      };
      release.then(done, done);
    });
    return undefined;
  };

  /** Records what the body did, the moment it settled. */
  const settle = async (lease: HeldLease, outcome: BodyOutcome): Promise<void> => {
    if (outcome.kind === 'returned') return guard.finish(lease, { ok: true });
    if (outcome.kind === 'not-run') {
      const error = new LeaseGuardError(
        'a middleware registered after leaseGuard answered before the job body ran; register leaseGuard last',
      );
      return guard.finish(lease, { ok: false, error });
    }
    if (!isMiddyTimeout(outcome.error)) return guard.finish(lease, { ok: false, error: outcome.error });
    // The handler was only signalled: it may still run, and resume after a freeze. Keep the lease
    // to its end, record the failure, and end the environment so it never runs beside a later holder.
    await guard.finish(lease, { ok: false, error: outcome.error, abandoned: true });
    endEnvironment();
  };

  /**
   * At `releaseReserveMs` before the deadline, a run this middleware has not seen end is abandoned:
   * its failure is recorded while there is still time (middy's own early timeout, 5 ms by
   * default, would answer too late for that), the lease kept, and the environment ended.
   */
  const armDeadline = (request: GuardRequest, won: HeldLease, remainingMs: number): void => {
    const inMs = remainingMs - guard.releaseReserveMs;
    if (inMs <= 0) {
      if (!toldNoReserve) {
        toldNoReserve = true;
        guard.observer.problem(
          guard.options.job,
          `the invocation had ${remainingMs} ms left but the release needs ${guard.releaseReserveMs} ms before the deadline: a run still going at the deadline cannot be recorded. Raise the function's timeout or lower releaseTimeoutMs.`,
        );
      }
      return;
    }
    const timer = setTimeout(async () => {
      if (held.get(request) !== won) return;
      take(request);
      const error = new LeaseBodyAbandonedError(
        `the job body of ${won.lease.job} was still running ${guard.releaseReserveMs} ms before the invocation's deadline; it was abandoned and its lease kept to its end`,
      );
      await guard.finish(won, { ok: false, error, abandoned: true });
      endEnvironment();
    }, inMs);
    deadlines.set(request, timer);
  };

  const take = (request: GuardRequest): HeldLease | undefined => {
    const lease = held.get(request);
    held.delete(request);
    clearTimeout(deadlines.get(request));
    deadlines.delete(request);
    return lease;
  };

  /** Waits for the release the body's end started (or, should it not have, starts it now). */
  const settled = async (request: GuardRequest, fallback: BodyOutcome): Promise<void> => {
    // The outcome is decided a microtask after the body settled: let it be.
    await Promise.resolve();
    const pending = finishing.get(request);
    finishing.delete(request);
    if (pending) return pending;
    const lease = take(request);
    if (lease) await settle(lease, fallback);
  };

  const leaseGuardAfter = (request: GuardRequest): Promise<void> => settled(request, { kind: 'returned' });

  // Also reached when middy's early timeout aborts the handler, and when our own before never ran.
  const leaseGuardOnError = (request: GuardRequest): Promise<void> =>
    settled(request, { kind: 'threw', error: request.error });

  return { before: leaseGuardBefore, after: leaseGuardAfter, onError: leaseGuardOnError };
}
