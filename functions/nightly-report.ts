/**
 * A per-tick job: one report per schedule tick, however many times EventBridge or the regions
 * deliver the tick. The GuardedSchedule construct sends `{ "scheduledTime": <aws.scheduler.scheduled-time> }`.
 */
import middy from '@middy/core';
import { type LeaseGuardContext, leaseGuard } from '../src/index.js';

export interface ReportResult {
  readonly tick: string | null;
  readonly fence: number;
}

/** The business job. The fence goes with every write it makes, so a stale holder's writes can be refused. */
export async function buildReport(_event: unknown, context: LeaseGuardContext): Promise<ReportResult> {
  const { tick, fence } = context.lease;
  return { tick: tick?.toISOString() ?? null, fence };
}

export const handler = middy<unknown, unknown, Error, LeaseGuardContext>({ timeoutEarlyInMillis: 2_000 })
  // GuardedSchedule puts the tick in every event: one without it is not from the schedule.
  .use(leaseGuard({ job: 'nightly-report', minHoldMs: 30_000, requireTick: true }))
  .handler(buildReport);
