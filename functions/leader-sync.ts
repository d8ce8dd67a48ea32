/**
 * An affinity job, the seeds' master/standby: the region that owns the job keeps running it, and
 * a standby region takes over only after the owner has not claimed for `failoverAfterMs`.
 */
import middy from '@middy/core';
import { type LeaseGuardContext, leaseGuard } from '../src/index.js';

export interface SyncResult {
  readonly owner: string;
  readonly fence: number;
}

export async function syncFromUpstream(_event: unknown, context: LeaseGuardContext): Promise<SyncResult> {
  return { owner: process.env.AWS_REGION ?? 'local', fence: context.lease.fence };
}

export const handler = middy<unknown, unknown, Error, LeaseGuardContext>({ timeoutEarlyInMillis: 2_000 })
  .use(leaseGuard({ job: 'leader-sync', affinity: { failoverAfterMs: 15 * 60_000 }, requireTick: true }))
  .handler(syncFromUpstream);
