import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseGuardConfigError, LeaseLostError } from '../../src/errors.js';
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
    // A lease long enough that a loaded machine's late renewal never loses it mid-test.
    const result = await withLease({ job: 'compact', leaseMs: 6_000, renewEveryMs: 100, ...quiet() }, async (lease) => {
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

  it('aborts the signal when renewals stop reaching the store, while the lease still holds on the database', async () => {
    const result = await withLease(
      {
        job: 'unreachable',
        leaseMs: 2_000,
        leaseMarginMs: 500,
        store: hangingRenewals(store),
        logger: false,
        metrics: false,
      },
      async (lease) => {
        await until(() => lease.signal.aborted, { what: 'the local deadline' });
        return { message: (lease.signal.reason as Error).message, held: (await store.inspect('unreachable'))!.held };
      },
    );
    expect(result).toMatchObject({
      status: 'ran',
      result: { message: expect.stringContaining('not renewed in time'), held: true },
    });
  });

  it('counts the lease from when the claim was sent, not from its slow answer (issue 14, 5)', async () => {
    // The claim commits at once but its answer takes most of the trusted window to arrive.
    const slow = slowClaimAnswers(hangingRenewals(store), 1_000);
    const result = await withLease(
      { job: 'slow-answer', leaseMs: 2_000, leaseMarginMs: 500, store: slow, logger: false, metrics: false },
      async (lease) => {
        await until(() => lease.signal.aborted, { what: 'the local deadline' });
        // Trusted from the answer, the body would still run here after the lease ended.
        return (await store.inspect('slow-answer'))!.held;
      },
    );
    expect(result).toMatchObject({ status: 'ran', result: true });
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', 1_000])(
    'refuses renewEveryMs %s with a config error naming it (a lease of 1 s)',
    async (renewEveryMs) => {
      let ran = false;
      await expect(
        withLease({ job: 'bad-timing', leaseMs: 1_000, renewEveryMs: renewEveryMs as number, ...quiet() }, () => {
          ran = true;
        }),
      ).rejects.toThrow(LeaseGuardConfigError);
      await expect(
        withLease({ job: 'bad-timing', leaseMs: 1_000, renewEveryMs: renewEveryMs as number, ...quiet() }, () => {}),
      ).rejects.toThrow(/renewEveryMs/);
      expect(ran).toBe(false);
      expect(await store.inspect('bad-timing')).toBeUndefined();
    },
  );

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

/** The store, with renewals that never answer (the database unreachable for them). */
function hangingRenewals(inner: LeaseStore): LeaseStore {
  return {
    ...bind(inner),
    renew: (_request, options) =>
      new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason))),
  };
}

/** The store, with claim answers that arrive `ms` after the claim committed. */
function slowClaimAnswers(inner: LeaseStore, ms: number): LeaseStore {
  return {
    ...bind(inner),
    claim: async (request, options) => {
      const result = await inner.claim(request, options);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return result;
    },
  };
}

function bind(store: LeaseStore): LeaseStore {
  return {
    claim: (r, o) => store.claim(r, o),
    release: (r, o) => store.release(r, o),
    renew: (r, o) => store.renew(r, o),
    withdraw: (r, o) => store.withdraw(r, o),
    inspect: (j, o) => store.inspect(j, o),
    list: (o) => store.list(o),
    forceRelease: (j, o) => store.forceRelease(j, o),
  };
}
