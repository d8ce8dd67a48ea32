import type { Context } from 'aws-lambda';
import { LeaseGuardConfigError } from '../errors.js';
import { createGuard, type Guard, type HeldLease } from '../guard/engine.js';
import { endEnvironment, LeaseBodyAbandonedError } from '../guard/execution.js';
import { Outcome } from '../guard/observe.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../guard/options.js';
import { isWarmupPing } from '../guard/pings.js';
import { GuardSkipReason, type LeaseGuardContext, type LeaseSkipped } from '../guard/types.js';

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
 * abandoned (its signal aborts, the failure is recorded, the lease kept to its end) and, unless
 * it settles meanwhile, the execution environment is ended so it can never resume after a freeze.
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
  const guard = createGuard(parseLeaseGuardOptions(options));
  return async function leaseGuardedHandler(event, context, handlerOptions) {
    guard.observer.startInvocation(context);
    if (isWarmupPing(event)) return warmupSkip(guard, context);
    const remainingMs =
      typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
    if (remainingMs !== undefined && remainingMs <= guard.releaseReserveMs) {
      // Nothing claimed: a run here could not record its end before the deadline.
      throw new LeaseGuardConfigError(
        `lease-guard needs ${guard.releaseReserveMs} ms before the invocation's deadline to record the run, but only ${remainingMs} ms remain: raise the function's timeout or lower releaseTimeoutMs.`,
      );
    }
    const decision = await guard.claim({
      event,
      functionName: context?.functionName,
      awsRequestId: context?.awsRequestId,
      remainingMs,
    });
    if ('skipped' in decision) return decision.skipped;
    const guarded = context as LeaseGuardContext;
    guarded.lease = decision.won.lease;
    return runHeld(guard, decision.won, remainingMs, handlerOptions?.signal, (signal) =>
      body(event, guarded, { signal }),
    );
  };
}

function warmupSkip(guard: Guard, context: Context | undefined): LeaseSkipped {
  const job = guard.options.job;
  const holder = context?.awsRequestId ?? 'none';
  guard.observer.decision({ job, outcome: Outcome.SKIPPED, reason: GuardSkipReason.WARMUP, holder });
  return { status: 'skipped', reason: GuardSkipReason.WARMUP, job, tick: null, holder };
}

/**
 * The body under a held lease. Settles as the body did, after its release; or, when the guard's
 * deadline (or middy's early timeout, through `outer`) comes first, as an abandoned run.
 */
async function runHeld<TResult>(
  guard: Guard,
  held: HeldLease,
  remainingMs: number | undefined,
  outer: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<TResult> | TResult,
): Promise<TResult> {
  const controller = new AbortController();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const bodyDone = Promise.resolve()
    .then(() => run(signal))
    .then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    )
    .finally(() => {
      settled = true;
    });

  // middy's early timeout aborts its signal, then answers at once (a value or a throw): an answer
  // while the body may still run. Nothing async can land before it, so the lease stays held (it is
  // never freed early) and the environment ends before middy can answer.
  const onOuterAbort = (): void => {
    if (settled) return;
    // The environment ends here; nothing of this invocation may act after it (e.g. our deadline).
    clearTimeout(timer);
    abandonNow(
      guard,
      held,
      "middy's early timeout answered before lease-guard's deadline: set middy's timeoutEarlyInMillis below releaseReserveMs, or 0",
    );
  };
  outer?.addEventListener('abort', onOuterAbort, { once: true });

  const deadline =
    remainingMs === undefined
      ? new Promise<never>(() => undefined)
      : new Promise<'deadline'>((resolve) => {
          timer = setTimeout(() => resolve('deadline'), remainingMs - guard.releaseReserveMs);
        });
  try {
    const first = await Promise.race([bodyDone, deadline]);
    if (first === 'deadline') {
      const error = new LeaseBodyAbandonedError(
        `the job body of ${held.lease.job} was still running ${guard.releaseReserveMs} ms before the invocation's deadline; it was abandoned and its lease kept to its end`,
      );
      controller.abort(error);
      await guard.finish(held, { ok: false, error, abandoned: true });
      // A body that stopped on its signal cannot resume; one that did not must never run again here.
      if (!settled) endEnvironment();
      throw error;
    }
    if (first.ok) {
      await guard.finish(held, { ok: true });
      return first.value;
    }
    await guard.finish(held, { ok: false, error: first.error });
    throw first.error;
  } finally {
    clearTimeout(timer);
    // middy 6 shares one AbortController across invocations: never react to a later one's abort.
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** Records what can be recorded synchronously (log line, metric) and ends the environment. */
function abandonNow(guard: Guard, held: HeldLease, why: string): void {
  const { lease } = held;
  guard.observer.decision({
    job: lease.job,
    outcome: Outcome.FAILED,
    holder: lease.holder,
    fence: lease.fence,
    tick: lease.tick?.toISOString() ?? null,
    error: `the job body was abandoned while still running (${why}); the lease is kept to its end and this execution environment ends`,
  });
  endEnvironment();
}
