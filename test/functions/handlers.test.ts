import middy from '@middy/core';
import { describe, expect, it, vi } from 'vitest';
import { syncFromUpstream } from '../../functions/leader-sync.js';
import { buildReport, handler as reportHandler } from '../../functions/nightly-report.js';
import { LeaseGuardConfigError, type LeaseGuardContext, leaseGuard } from '../../src/index.js';
import { MemoryLeaseStore } from '../../src/testing/index.js';
import { currentTick, lambdaContext, schedulerEvent } from '../fixtures/lambda.js';
import { captureObservability } from '../fixtures/observe.js';

// How users unit-test a guarded handler: the same body and middleware over the in-memory store.
describe('example handlers', () => {
  const quiet = () => {
    const { logger, metrics } = captureObservability();
    return { logger, metrics };
  };

  it('runs the nightly report once per tick', async () => {
    const store = new MemoryLeaseStore();
    const handler = middy<unknown, unknown, Error, LeaseGuardContext>()
      .use(leaseGuard({ job: 'nightly-report', store, ...quiet() }))
      .handler(buildReport);
    const tick = currentTick();
    expect(await handler(schedulerEvent(tick), lambdaContext())).toEqual({ tick: tick.toISOString(), fence: 1 });
    expect(await handler(schedulerEvent(tick), lambdaContext())).toMatchObject({
      status: 'skipped',
      reason: 'tick-done',
    });
  });

  it('keeps the leader sync in its owner region', async () => {
    const store = new MemoryLeaseStore();
    const inRegion = (owner: string) =>
      middy<unknown, unknown, Error, LeaseGuardContext>()
        .use(leaseGuard({ job: 'leader-sync', store, affinity: { owner }, tick: 'off', ...quiet() }))
        .handler(syncFromUpstream);
    expect(await inRegion('us-east-1')({}, lambdaContext())).toMatchObject({ fence: 1 });
    expect(await inRegion('eu-west-1')({}, lambdaContext())).toMatchObject({ status: 'skipped', reason: 'standby' });
  });

  it('reports missing Data API settings at cold start, before any invocation, unless a store or executor is injected', () => {
    vi.stubEnv('LEASE_GUARD_RESOURCE_ARN', '');
    vi.stubEnv('LEASE_GUARD_SECRET_ARN', '');
    vi.stubEnv('LEASE_GUARD_DATABASE', '');
    try {
      const coldStart = captureObservability();
      leaseGuard({ job: 'nightly-report', logger: coldStart.logger, metrics: coldStart.metrics });
      expect(coldStart.lines).toEqual([
        {
          level: 'error',
          message: expect.stringMatching(/not configured.*LEASE_GUARD_RESOURCE_ARN.*lease-guard local/),
          fields: { job: 'nightly-report' },
        },
      ]);
      const injected = captureObservability();
      leaseGuard({ job: 'nightly-report', store: new MemoryLeaseStore(), logger: injected.logger, metrics: false });
      expect(injected.lines).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('imports without the LEASE_GUARD variables and fails its first invocation with a clear config error', async () => {
    const saved = process.env.LEASE_GUARD_RESOURCE_ARN;
    delete process.env.LEASE_GUARD_RESOURCE_ARN;
    try {
      await expect(reportHandler(schedulerEvent(currentTick()), lambdaContext())).rejects.toThrow(
        LeaseGuardConfigError,
      );
      await expect(reportHandler(schedulerEvent(currentTick()), lambdaContext())).rejects.toThrow(
        /LEASE_GUARD_RESOURCE_ARN/,
      );
    } finally {
      if (saved !== undefined) process.env.LEASE_GUARD_RESOURCE_ARN = saved;
    }
  });
});
