import type { Context } from 'aws-lambda';
import { LeaseGuardConfigError } from '../errors.js';
import { createEngine } from '../guard/engine.js';
import { lambdaModel } from '../guard/execution.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../guard/options.js';
import type { LeaseGuardContext, LeaseSkipped } from '../guard/types.js';

/** The job body: a Lambda handler that finds its lease on `context.lease`. */
export type GuardedBody<TEvent, TResult> = (
  event: TEvent,
  context: LeaseGuardContext,
  options: { readonly signal: AbortSignal },
) => Promise<TResult> | TResult;

/** A Lambda handler, usable as middy's handler (any middleware, any order) or on its own. */
export type GuardedHandler<TEvent, TResult> = (
  event: TEvent,
  context: Context,
  options?: { readonly signal?: AbortSignal },
) => Promise<TResult | LeaseSkipped>;

/**
 * Runs `body` only in the invocation that holds the job's lease, and owns the body's try/finally:
 * the release and the run's record follow what the body did, whatever the middlewares around it
 * do (throw in `after`, answer from `onError`, return early, any order). A skip is the handler's
 * normal response, so every middleware sees it like any other.
 *
 * It reserves `releaseReserveMs` before the invocation's deadline: a body still running then is
 * abandoned (its signal aborts and the invocation fails with LeaseBodyAbandonedError). On
 * standard Lambda the failure is recorded, the lease kept past the deadline and the execution
 * environment ended once nothing else is in flight in it, so the body can never resume after a
 * freeze. On Lambda Managed Instances the body goes on under a renewed lease and its real outcome
 * is recorded when it settles.
 *
 * @example
 * export const handler = middy(leaseGuarded({ job: 'send-invoices' }, sendInvoices))
 *   .use(injectLambdaContext(logger)).use(logMetrics(metrics));
 */
export function leaseGuarded<TEvent = unknown, TResult = unknown>(
  options: LeaseGuardOptions,
  body: GuardedBody<TEvent, TResult>,
): GuardedHandler<TEvent, TResult> {
  if (typeof body !== 'function') {
    throw new LeaseGuardConfigError(`leaseGuarded needs the job body as its second argument, got ${typeof body}.`);
  }
  const engine = createEngine(parseLeaseGuardOptions(options), { model: lambdaModel() });
  return async function leaseGuardedHandler(event, context, handlerOptions) {
    const begun = await engine.begin({ event, context });
    if ('skipped' in begun) return begun.skipped;
    const { run } = begun;
    const guarded = context as LeaseGuardContext;
    guarded.lease = run.lease;
    // middy's early timeout aborts this signal, then answers at once: the run decides what that means.
    run.watchOuter(handlerOptions?.signal);
    const settled = Promise.resolve()
      .then(() => body(event, guarded, { signal: run.signal }))
      .then(
        async (value) => {
          await run.settle({ ok: true });
          return { ok: true as const, value };
        },
        async (error: unknown) => {
          await run.settle({ ok: false, error });
          return { ok: false as const, error };
        },
      );
    const first = await Promise.race([settled, run.abandoned.then((abandoned) => ({ abandoned }))]);
    if ('abandoned' in first) throw first.abandoned;
    if (first.ok) return first.value;
    throw first.error;
  };
}
