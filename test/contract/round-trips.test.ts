import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LeaseStore, SkipReason } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { type CountingExecutor, countingExecutor } from '../support/counting-executor.js';
import { freshDatabase } from '../support/database.js';

/** An executor like a Data API that reports no value for LAST_INSERT_ID(expr). */
function withoutInsertId(inner: SqlExecutor): SqlExecutor {
  return {
    execute: async (statement, options) => ({ ...(await inner.execute(statement, options)), insertId: undefined }),
    close: () => inner.close(),
  };
}

async function claimAndRelease(store: LeaseStore, job: string): Promise<void> {
  const claim = await store.claim({ job, holder: 'setup', leaseMs: 60_000 });
  if (claim.acquired) await store.release({ job, holder: 'setup', fence: claim.fence, outcome: 'success' });
}

describe('round trips per invocation', () => {
  let raw: SqlExecutor;
  let counted: CountingExecutor;
  let blind: CountingExecutor;

  beforeAll(async () => {
    raw = createMysql2Executor({ url: await freshDatabase('round_trips') });
    await migrate(raw, 'lease_guard');
    counted = countingExecutor(raw);
    blind = countingExecutor(withoutInsertId(raw));
  });
  afterAll(() => raw.close());

  it('costs a winner two statements and a loser one over mysql2, which reports LAST_INSERT_ID', async () => {
    const store = createSqlLeaseStore({ executor: counted });
    await claimAndRelease(store, 'rt'); // the row exists from here on
    counted.reset();
    const win = await store.claim({ job: 'rt', holder: 'w', leaseMs: 60_000 });
    const lose = await store.claim({ job: 'rt', holder: 'l', leaseMs: 60_000 });
    expect(counted.kinds).toEqual(['UPDATE', 'UPDATE']);
    expect(lose).toEqual({ acquired: false, reason: SkipReason.HELD });
    if (!win.acquired) throw new Error('claim lost');
    counted.reset();
    await store.release({ job: 'rt', holder: 'w', fence: win.fence, outcome: 'success' });
    expect(counted.count).toBe(1);
  });

  it('creates a missing row with one insert and one more claim, once', async () => {
    const store = createSqlLeaseStore({ executor: counted });
    counted.reset();
    expect((await store.claim({ job: 'rt-new', holder: 'w', leaseMs: 60_000 })).acquired).toBe(true);
    expect(counted.kinds).toEqual(['UPDATE', 'INSERT', 'UPDATE']);
  });

  it('reads the fence for a winner and the reason for a loser where the driver reports neither', async () => {
    const store = createSqlLeaseStore({ executor: blind });
    await claimAndRelease(store, 'rt-blind');
    blind.reset();
    expect(await store.claim({ job: 'rt-blind', holder: 'w', leaseMs: 60_000 })).toEqual({ acquired: true, fence: 2 });
    expect(blind.kinds).toEqual(['UPDATE', 'SELECT']);
    blind.reset();
    expect(await store.claim({ job: 'rt-blind', holder: 'l', leaseMs: 60_000 })).toEqual({
      acquired: false,
      reason: SkipReason.HELD,
    });
    expect(blind.kinds).toEqual(['UPDATE', 'SELECT']);
  });

  it('heals a missing row where the driver reports nothing, too', async () => {
    const store = createSqlLeaseStore({ executor: blind });
    blind.reset();
    expect(await store.claim({ job: 'rt-blind-new', holder: 'w', leaseMs: 60_000 })).toEqual({
      acquired: true,
      fence: 1,
    });
    expect(blind.kinds).toEqual(['UPDATE', 'INSERT', 'UPDATE', 'SELECT']);
  });
});
