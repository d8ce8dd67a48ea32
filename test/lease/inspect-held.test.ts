import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkipReason } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';

// The database's clock stopped at a point with microseconds (MariaDB and MySQL honour a session
// `timestamp`), and a lease that ends 500 µs later, in the same millisecond.
const NOW = '2026-11-30 12:00:00.123400';
const LEASE_UNTIL = '2026-11-30 12:00:00.123900';

describe('inspect', () => {
  let executor: ReturnType<typeof createMysql2Executor>;

  beforeAll(async () => {
    executor = createMysql2Executor({
      url: await freshDatabase('inspect_held'),
      connectionLimit: 1,
      sessionStatements: [`SET timestamp = UNIX_TIMESTAMP('${NOW}')`, "SET time_zone = '+00:00'"],
    });
    await migrate(executor, 'lease_guard');
  });
  afterAll(() => executor.close());

  it('calls a lease held exactly when a claim is refused for it, to the microsecond', async () => {
    const store = createSqlLeaseStore({ executor, table: 'lease_guard' });
    const won = await store.claim({ job: 'j', holder: 'a', leaseMs: 60_000 });
    expect(won.acquired).toBe(true);
    await executor.execute({
      sql: 'UPDATE lease_guard SET lease_until = :until WHERE job = :job',
      params: { until: LEASE_UNTIL, job: 'j' },
    });
    const state = await store.inspect('j');
    expect(state?.dbNow.getTime()).toBe(state?.leaseUntil.getTime()); // the same millisecond in JavaScript
    expect(state?.held).toBe(true);
    expect(await store.claim({ job: 'j', holder: 'b', leaseMs: 60_000 })).toEqual({
      acquired: false,
      reason: SkipReason.HELD,
    });
  });
});
