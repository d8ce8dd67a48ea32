/**
 * The issue-14 edge scenarios' handler: the public middy middleware (`leaseGuard`) over the real
 * SDK client and the local Data API server (whose hooks lose, hang or fail chosen statements),
 * with a Lambda-like context whose request id the caller picks (a Lambda retry reuses it). It
 * records what the body did and what lease-guard logged and counted.
 */
import middy from '@middy/core';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { schedulerEvent } from '../../src/fleet/events.js';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import { leaseStatements } from '../../src/fleet/nemeses.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Captured, captureObservability } from '../fixtures/observe.js';
import { localDataApiExecutor } from './guarded-handler.js';

export interface EdgeInvocation {
  readonly requestId: string;
  /** The invocation's timeout. @default 4000 */
  readonly timeoutMs?: number;
}

export type EdgeAnswer =
  | { readonly kind: 'ran'; readonly fence: number }
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'threw'; readonly error: unknown };

export interface EdgeHandler {
  invoke(event: unknown, invocation: EdgeInvocation): Promise<EdgeAnswer>;
  /** Fences of the bodies that ran, in order. */
  readonly runs: readonly number[];
  readonly seen: Captured;
}

export type EdgeBody = (event: unknown, context: LeaseGuardContext) => Promise<unknown> | unknown;

export function edgeHandler(
  options: Omit<LeaseGuardOptions, 'logger' | 'metrics'>,
  body: EdgeBody = () => undefined,
): EdgeHandler {
  const seen = captureObservability();
  const runs: number[] = [];
  const handler = middy(async (event: unknown, context: LeaseGuardContext) => {
    runs.push(context.lease.fence);
    await body(event, context);
    return { ran: true as const, fence: context.lease.fence };
  }).use(leaseGuard({ ...options, logger: seen.logger, metrics: seen.metrics }));
  return {
    runs,
    seen,
    async invoke(event, invocation) {
      const context = fleetLambdaContext({
        functionName: 'faults-edges',
        region: 'us-east-1',
        requestId: invocation.requestId,
        timeoutMs: invocation.timeoutMs ?? 4000,
      });
      try {
        const answer = (await handler(event, context as LeaseGuardContext)) as {
          ran?: true;
          fence?: number;
          reason?: string;
        };
        return answer.ran
          ? { kind: 'ran', fence: answer.fence as number }
          : { kind: 'skipped', reason: String(answer.reason) };
      } catch (error) {
        return { kind: 'threw', error };
      }
    },
  };
}

/** A store over the environment's local Data API through the real SDK client, and its executor. */
export function edgeStore(environment: FleetEnvironment): { store: LeaseStore; executor: SqlExecutor } {
  const executor = localDataApiExecutor(environment);
  return { store: createSqlLeaseStore({ executor, table: environment.table }), executor };
}

/** The current minute on the database clock: a tick every check accepts. */
export async function currentTick(environment: FleetEnvironment): Promise<Date> {
  const now = await environment.databaseNow();
  return new Date(Math.floor(now.getTime() / 60_000) * 60_000);
}

export { leaseStatements, schedulerEvent };

/** Options every edge scenario shares: short retries, so a fault plays out in seconds. */
export const EDGE_OPTIONS = {
  leaseMarginMs: 500,
  releaseTimeoutMs: 400,
  retry: { budgetMs: 1500, baseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 400, reserveMs: 200 },
} as const;

/** A LeaseStore whose methods are the given store's, for wrappers that replace one of them. */
export function delegate(store: LeaseStore): LeaseStore {
  return {
    claim: (request, options) => store.claim(request, options),
    release: (request, options) => store.release(request, options),
    renew: (request, options) => store.renew(request, options),
    withdraw: (request, options) => store.withdraw(request, options),
    inspect: (job, options) => store.inspect(job, options),
    list: (options) => store.list(options),
    forceRelease: (job, options) => store.forceRelease(job, options),
  };
}
