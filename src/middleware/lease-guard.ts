import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import type { MiddlewareObj, Request } from '@middy/core';
import { LeaseGuardError } from '../errors.js';
import { createEngine } from '../guard/engine.js';
import { lambdaModel } from '../guard/execution.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../guard/options.js';
import type { GuardedRun, RunResult } from '../guard/run.js';
import type { LeaseGuardContext, LeaseSkipped } from '../guard/types.js';
import { type BodyOutcome, watchBody } from './body-watch.js';

function resultOf(outcome: BodyOutcome): RunResult {
  if (outcome.kind === 'returned') return { ok: true };
  if (outcome.kind === 'threw') return { ok: false, error: outcome.error };
  return {
    ok: false,
    error: new LeaseGuardError(
      'a middleware registered after leaseGuard answered before the job body ran; register leaseGuard last',
    ),
  };
}

/**
 * A middy middleware that runs the handler only in the invocation that holds the job's lease.
 * Options are validated here, once, at cold start.
 *
 * A middleware cannot see the handler; it watches middy's assignment of the handler's result (or
 * error) to the request instead, and settles the run the moment the body settles, whatever the
 * other middlewares do after it. Register it LAST (innermost, right before the handler) all the
 * same: then its `after`/`onError` also wait for the release before any other middleware answers.
 * With middy's `timeoutEarlyResponse`, or on Lambda Managed Instances with middy's early timeout
 * on, use `leaseGuarded`, which owns the body's try/finally.
 *
 * @example
 * export const handler = middy(sendInvoices).use(logMetrics(metrics)).use(leaseGuard({ job: 'send-invoices' }));
 */
export function leaseGuard<TEvent = unknown, TResult = unknown>(
  options: LeaseGuardOptions,
): MiddlewareObj<TEvent, TResult | LeaseSkipped, Error, LeaseGuardContext> {
  const engine = createEngine(parseLeaseGuardOptions(options), { model: lambdaModel() });
  // Per invocation, keyed by middy's request object: nothing survives into the next invocation,
  // and invocations running at once in one environment never share state.
  const runs = new WeakMap<object, GuardedRun>();
  const settling = new WeakMap<object, Promise<void>>();

  type GuardRequest = Request<TEvent, TResult | LeaseSkipped, Error, LeaseGuardContext>;

  const leaseGuardBefore = async (request: GuardRequest): Promise<LeaseSkipped | undefined> => {
    const begun = await engine.begin({ event: request.event, context: request.context });
    if ('skipped' in begun) {
      // A skip returns early: Powertools' middlewares before this one close the invocation first.
      await cleanupMiddlewares(request as never).catch(() => undefined);
      return begun.skipped; // middy answers with it; no handler
    }
    const { run } = begun;
    runs.set(request, run);
    request.context.lease = run.lease;
    watchBody(request, (outcome) => {
      settling.set(request, run.settle(resultOf(outcome)));
    });
    return undefined;
  };

  /** Waits for the release the body's end started (or, should it not have, starts it now). */
  const settled = async (request: GuardRequest, fallback: BodyOutcome): Promise<void> => {
    // The outcome is decided a microtask after the body settled: let it be.
    await Promise.resolve();
    const run = runs.get(request);
    runs.delete(request);
    const pending = settling.get(request);
    settling.delete(request);
    if (pending) return pending;
    if (run) await run.settle(resultOf(fallback));
  };

  const leaseGuardAfter = (request: GuardRequest): Promise<void> => settled(request, { kind: 'returned' });

  // Also reached when middy's early timeout aborts the handler, and when our own before never ran.
  const leaseGuardOnError = (request: GuardRequest): Promise<void> =>
    settled(request, { kind: 'threw', error: request.error });

  return { before: leaseGuardBefore, after: leaseGuardAfter, onError: leaseGuardOnError };
}
