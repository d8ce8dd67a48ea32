/**
 * The guarded function a fleet worker runs: the real `middy(body).use(leaseGuard(...))`, its
 * store the RDS Data API resolved from the environment as in a deployed Lambda. The body tells
 * the supervisor when it starts and ends, and optionally appends to the protected register.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import middy from '@middy/core';
import type { LeaseGuardLogger } from '../guard/observe.js';
import type { Lease, LeaseGuardContext, LeaseSkipped } from '../guard/types.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { leaseGuard } from '../middleware/lease-guard.js';
import type { SqlExecutor } from '../sql/executor.js';
import { RegisterWrite } from './history.js';
import type { BodyPlan, FleetJobConfig } from './messages.js';
import { appendToRegister } from './register.js';

/** The context a fleet body sees: the guard's, plus what this invocation should do. */
export type FleetContext = LeaseGuardContext & {
  readonly fleet: { readonly invocationId: string; readonly body: BodyPlan };
};

export interface FleetRunResult {
  readonly fence: number;
}

export interface FleetJobHooks {
  /** Called before the body does anything; resolves once the supervisor can see it. */
  bodyStarted(invocationId: string, lease: Lease): Promise<void>;
  bodyEnded(invocationId: string, register: RegisterWrite | null): Promise<void>;
  /** The guard's decision log (one line per claim and per release). */
  readonly logger: LeaseGuardLogger;
}

export function createFleetHandler(
  config: FleetJobConfig,
  hooks: FleetJobHooks,
  registerExecutor: SqlExecutor | undefined,
  /** A store to use instead of the Data API from the environment (the supervisor's, over IPC). */
  store?: LeaseStore,
) {
  const variant = config.register ?? null;
  if (variant && !registerExecutor) throw new TypeError(`job ${config.job} uses the register but has no executor`);

  async function fleetBody(
    _event: unknown,
    context: FleetContext,
    { signal }: { signal: AbortSignal },
  ): Promise<FleetRunResult> {
    const { invocationId, body } = context.fleet;
    const { lease } = context;
    const started = performance.now();
    await hooks.bodyStarted(invocationId, lease);
    let write: RegisterWrite | null = variant ? RegisterWrite.UNKNOWN : null;
    try {
      if (variant && registerExecutor) {
        write = await appendToRegister(
          registerExecutor,
          {
            variant,
            job: config.job,
            element: invocationId,
            fence: lease.fence,
            pause: () => sleep(body.registerDelayMs, undefined, { signal }),
          },
          { signal },
        );
      }
      const left = body.bodyMs - (performance.now() - started);
      // A cooperative job: it stops when middy's early timeout (if configured) aborts it.
      if (left > 0) await sleep(left, undefined, { signal });
    } finally {
      await hooks.bodyEnded(invocationId, write);
    }
    return { fence: lease.fence };
  }

  const affinity =
    config.mode === 'affinity'
      ? config.failoverAfterMs === undefined
        ? true
        : { failoverAfterMs: config.failoverAfterMs }
      : false;
  return middy<unknown, FleetRunResult | LeaseSkipped, Error, FleetContext>(fleetBody, {
    timeoutEarlyInMillis: config.timeoutEarlyMs ?? 0,
  }).use(
    leaseGuard<unknown, FleetRunResult>({
      job: config.job,
      ...(store ? { store } : {}),
      affinity,
      logger: hooks.logger,
      metrics: false,
      ...(config.tickGranularityMs === undefined ? {} : { tickGranularityMs: config.tickGranularityMs }),
      ...(config.maxTickAgeMs === undefined ? {} : { maxTickAgeMs: config.maxTickAgeMs }),
      ...(config.leaseMarginMs === undefined ? {} : { leaseMarginMs: config.leaseMarginMs }),
      ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
      ...(config.retry === undefined ? {} : { retry: config.retry }),
      ...(config.releaseTimeoutMs === undefined ? {} : { releaseTimeoutMs: config.releaseTimeoutMs }),
    }),
  );
}
