/**
 * `testLambdaContext()`: a guarded middy handler is called in a unit test without a cast, as the
 * README's "Testing your handler" shows, and its remaining time counts down like the runtime's.
 */
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { testLambdaContext } from '../../src/testing/lambda-context.js';
import { MemoryLeaseStore } from '../../src/testing/memory-store.js';

describe('testLambdaContext', () => {
  it('runs the README’s unit test of a guarded handler: the first delivery runs, the second skips', async () => {
    const store = new MemoryLeaseStore();
    const handler = middy<{ scheduledTime: string }, unknown, Error, LeaseGuardContext>()
      .use(leaseGuard({ job: 'nightly-report', store, logger: false, metrics: false }))
      .handler(async (_event, context) => ({ fence: context.lease.fence }));
    const scheduledTime = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    expect(await handler({ scheduledTime }, testLambdaContext())).toEqual({ fence: 1 });
    expect(await handler({ scheduledTime }, testLambdaContext())).toMatchObject({
      status: 'skipped',
      reason: 'tick-done',
    });
  });

  it('counts the remaining time down from the timeout, and takes the names it is given', () => {
    const context = testLambdaContext({ timeoutMs: 5_000, functionName: 'fn', awsRequestId: 'req-1' });
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(5_000);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(4_000);
    expect(context).toMatchObject({ functionName: 'fn', awsRequestId: 'req-1' });
    expect(testLambdaContext().awsRequestId).not.toBe(testLambdaContext().awsRequestId);
  });
});
