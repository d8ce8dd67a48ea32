import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';
import { type Claimer, fuzzLease } from './fuzz.js';

/**
 * The seeds' read-then-write claim, the way it goes wrong: read the row, decide in the client,
 * then write unconditionally. The fuzz test must catch it, or the fuzz test proves nothing.
 */
function readThenWriteClaimer(executor: SqlExecutor, store: LeaseStore): Claimer {
  return {
    async claim(request) {
      const state = await store.inspect(request.job);
      if (state?.held) return { acquired: false, reason: 'held' };
      await sleep(1);
      await executor.execute({
        sql: 'UPDATE lease_guard SET holder = :holder, fence = fence + 1, lease_until = UTC_TIMESTAMP(6) + INTERVAL 5 MINUTE WHERE job = :job',
        params: { job: request.job, holder: request.holder },
      });
      return { acquired: true, fence: (state?.fence ?? 0) + 1 };
    },
    async release(request) {
      await executor.execute({
        sql: 'UPDATE lease_guard SET holder = NULL, lease_until = UTC_TIMESTAMP(6) WHERE job = :job',
        params: { job: request.job },
      });
      return true;
    },
  };
}

describe('fuzz negative control', () => {
  let executor: SqlExecutor;
  let store: LeaseStore;

  beforeAll(async () => {
    executor = createMysql2Executor({ url: await freshDatabase('negative_control') });
    await migrate(executor, 'lease_guard');
    store = createSqlLeaseStore({ executor });
  });
  afterAll(() => executor.close());

  it('detects overlapping runs and lost updates when the claim reads, then writes', async () => {
    for (const job of ['broken-a', 'broken-b']) {
      const claim = await store.claim({ job, holder: 'setup', leaseMs: 1000 });
      if (claim.acquired) await store.release({ job, holder: 'setup', fence: claim.fence, outcome: 'success' });
    }
    const result = await fuzzLease(readThenWriteClaimer(executor, store), { jobPrefix: 'broken', runsPerWorker: 30 });
    expect(result.overlaps).toBeGreaterThan(0);
    expect(result.counters).not.toEqual(result.expected);
  });
});
