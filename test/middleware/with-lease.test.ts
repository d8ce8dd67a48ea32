import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { withLease } from '../../src/middleware/with-lease.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { captureObservability } from '../fixtures/observe.js';
import { freshDatabase } from '../support/database.js';
import { until } from '../support/until.js';

describe('withLease (outside Lambda)', () => {
  let executor: ReturnType<typeof createMysql2Executor>;
  let store: LeaseStore;
  const quiet = () => {
    const seen = captureObservability();
    return { executor, logger: seen.logger, metrics: seen.metrics };
  };

  beforeAll(async () => {
    executor = createMysql2Executor({ url: await freshDatabase('with_lease') });
    await migrate(executor, 'lease_guard');
    store = createSqlLeaseStore({ executor });
  });
  afterAll(() => executor.close());

  it('runs the function under the lease, renews it while it runs, and releases it after', async () => {
    const result = await withLease({ job: 'compact', leaseMs: 600, renewEveryMs: 100, ...quiet() }, async (lease) => {
      const first = (await store.inspect('compact'))!.version;
      await until(async () => (await store.inspect('compact'))!.version >= first + 2, { what: 'two renewals' });
      expect(lease.signal.aborted).toBe(false);
      return lease.fence;
    });
    expect(result).toMatchObject({ status: 'ran', result: 1 });
    expect(await store.inspect('compact')).toMatchObject({ held: false, holder: null, runs: 1 });
  });

  it('skips while another process holds the lease', async () => {
    await store.claim({ job: 'busy', holder: 'someone-else', leaseMs: 60_000 });
    let ran = false;
    const result = await withLease({ job: 'busy', ...quiet() }, () => {
      ran = true;
    });
    expect(result).toMatchObject({ status: 'skipped', reason: 'held', job: 'busy' });
    expect(ran).toBe(false);
  });

  it('aborts the signal with LeaseLostError when the lease is force-released under it', async () => {
    const reason = await withLease({ job: 'taken', leaseMs: 3_000, renewEveryMs: 50, ...quiet() }, async (lease) => {
      await store.forceRelease('taken');
      await until(() => lease.signal.aborted, { what: 'the lease-lost signal' });
      return lease.signal.reason;
    });
    expect(reason).toMatchObject({ status: 'ran', result: expect.any(LeaseLostError) });
  });

  it('aborts the signal when renewals stop reaching the store before the lease ends', async () => {
    const result = await withLease(
      { job: 'unreachable', leaseMs: 400, renewEveryMs: 10_000, leaseMarginMs: 100, ...quiet() },
      async (lease) => {
        await until(() => lease.signal.aborted, { what: 'the local deadline' });
        return (lease.signal.reason as Error).message;
      },
    );
    expect(result).toMatchObject({ status: 'ran', result: expect.stringContaining('not renewed in time') });
  });

  it('rethrows the function’s error unchanged and leaves the job free for the next run', async () => {
    const failure = new Error('disk full');
    await expect(
      withLease({ job: 'fails', ...quiet() }, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await store.inspect('fails')).toMatchObject({ held: false, failures: 1, lastError: 'Error: disk full' });
  });
});
