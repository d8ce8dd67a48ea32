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

  it('heals a missing row where the driver reports nothing, too (its read finds no row)', async () => {
    const store = createSqlLeaseStore({ executor: blind });
    blind.reset();
    expect(await store.claim({ job: 'rt-blind-new', holder: 'w', leaseMs: 60_000 })).toEqual({
      acquired: true,
      fence: 1,
    });
    expect(blind.kinds).toEqual(['UPDATE', 'SELECT', 'INSERT', 'UPDATE', 'SELECT']);
  });
});

describe('a verdict read after the lease ended', () => {
  it('sends the claim again when the row would take it by the time of the read', async () => {
    const raw = createMysql2Executor({ url: await freshDatabase('verdict_reread') });
    try {
      await migrate(raw, 'lease_guard');
      let freeBeforeRead = false;
      // A driver that reports no LAST_INSERT_ID; the held lease ends between the claim and its read.
      const blind = countingExecutor({
        async execute(statement, options) {
          if (freeBeforeRead && statement.sql.startsWith('SELECT')) {
            freeBeforeRead = false;
            await raw.execute({ sql: 'UPDATE lease_guard SET lease_until = UTC_TIMESTAMP(6), holder = NULL' });
          }
          return { ...(await raw.execute(statement, options)), insertId: undefined };
        },
        close: async () => {},
      });
      const store = createSqlLeaseStore({ executor: blind });
      const held = await store.claim({ job: 'j', holder: 'holder', leaseMs: 60_000 });
      if (!held.acquired) throw new Error('setup claim lost');
      freeBeforeRead = true;
      blind.reset();
      expect(await store.claim({ job: 'j', holder: 'late', leaseMs: 60_000 })).toEqual({
        acquired: true,
        fence: held.fence + 1,
      });
      expect(blind.kinds).toEqual(['UPDATE', 'SELECT', 'UPDATE', 'SELECT']);
    } finally {
      await raw.close();
    }
  });
});

describe('a refused claim writes nothing', () => {
  const urls: Record<string, string> = {};
  beforeAll(async () => {
    urls.db = await freshDatabase('loser_writes');
  });

  for (const foundRows of [true, false]) {
    it(`changes no column and still answers in one statement (mysql2, foundRows ${foundRows})`, async () => {
      const executor = createMysql2Executor({ url: urls.db as string, foundRows });
      const table = `lease_guard_${foundRows ? 'found' : 'changed'}`;
      try {
        await migrate(executor, table);
        const counted = countingExecutor(executor);
        const store = createSqlLeaseStore({ executor: counted, table });
        const tick = new Date(Date.now() - 60_000);
        const win = await store.claim({ job: 'w', holder: 'holder', leaseMs: 60_000, tick });
        if (!win.acquired) throw new Error('claim lost');
        const before = await executor.execute({ sql: `SELECT * FROM ${table}` });

        counted.reset();
        expect(await store.claim({ job: 'w', holder: 'loser', leaseMs: 60_000, tick })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
        expect(counted.kinds).toEqual(['UPDATE']);
        expect((await executor.execute({ sql: `SELECT * FROM ${table}` })).rows).toEqual(before.rows);

        // The claim statement itself: the row matched, nothing changed, the refusal code came back.
        const direct = await executor.execute({
          sql: `UPDATE ${table} SET version = IF(LAST_INSERT_ID(1) = 0, version + 1, version) WHERE job = 'w'`,
        });
        expect({ affectedRows: direct.affectedRows, insertId: direct.insertId }).toEqual({
          affectedRows: foundRows ? 1 : 0,
          insertId: 1,
        });

        // A re-issue by the live holder keeps its fence and still changes the row (version + 1).
        expect(await store.claim({ job: 'w', holder: 'holder', leaseMs: 60_000, tick })).toEqual(win);
        const after = await executor.execute({ sql: `SELECT version FROM ${table}` });
        expect(Number(after.rows[0]?.version)).toBe(Number(before.rows[0]?.version) + 1);
      } finally {
        await executor.close();
      }
    });
  }
});
