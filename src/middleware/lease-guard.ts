import type { MiddlewareObj, Request } from '@middy/core';
import { createGuard, type HeldLease } from './guard.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from './options.js';
import type { LeaseGuardContext, LeaseSkipped } from './types.js';

/**
 * A middy middleware that runs the handler only in the invocation that holds the job's lease.
 * Options are validated here, once, at cold start. Register it after middlewares that return early
 * (e.g. warmup): a middleware that returns early after the claim would skip the release, and the
 * lease would then end only by itself.
 *
 * @example
 * export const handler = middy(sendInvoices).use(leaseGuard({ job: 'send-invoices' }));
 */
export function leaseGuard<TEvent = unknown, TResult = unknown>(
  options: LeaseGuardOptions,
): MiddlewareObj<TEvent, TResult | LeaseSkipped, Error, LeaseGuardContext> {
  const guard = createGuard(parseLeaseGuardOptions(options));
  // Per invocation; keyed by middy's request object so nothing survives into the next invocation.
  const held = new WeakMap<object, HeldLease>();

  type GuardRequest = Request<TEvent, TResult | LeaseSkipped, Error, LeaseGuardContext>;

  const leaseGuardBefore = async (request: GuardRequest): Promise<LeaseSkipped | undefined> => {
    const { context } = request;
    const decision = await guard.claim({
      event: request.event,
      functionName: context?.functionName,
      awsRequestId: context?.awsRequestId,
      remainingMs:
        typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined,
    });
    if ('skipped' in decision) return decision.skipped; // middy returns it as the response; the handler is not called
    held.set(request, decision.won);
    context.lease = decision.won.lease;
    return undefined;
  };

  const leaseGuardAfter = async (request: GuardRequest): Promise<void> => {
    const lease = held.get(request);
    if (!lease) return;
    held.delete(request);
    await guard.finish(lease, { ok: true });
  };

  // Also reached when middy's early timeout aborts the handler, and when our own before never ran.
  const leaseGuardOnError = async (request: GuardRequest): Promise<void> => {
    const lease = held.get(request);
    if (!lease) return;
    held.delete(request);
    await guard.finish(lease, { ok: false, error: request.error });
  };

  return { before: leaseGuardBefore, after: leaseGuardAfter, onError: leaseGuardOnError };
}
