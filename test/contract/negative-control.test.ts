import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/lease/schema.js';
import { claimSql } from '../../src/lease/sql.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { brokenClaimSql } from '../faults/broken-claim-proxy.js';
import { freshDatabase } from '../support/database.js';
import { describeLeaseStoreContract } from './lease-store.contract.js';

/**
 * The real store over an executor that sends the real claim with its "lease still held" refusal
 * deleted (the regression a careless edit of src/lease/sql.ts could make). Everything else, the
 * release, renew and inspect, is untouched.
 */
function brokenClaimExecutor(executor: SqlExecutor, table: string): SqlExecutor & { readonly rewrites: number } {
  const real = claimSql(table);
  const broken = brokenClaimSql(table);
  let rewrites = 0;
  return {
    execute(statement, options) {
      if (statement.sql !== real) return executor.execute(statement, options);
      rewrites++;
      return executor.execute({ ...statement, sql: broken }, options);
    },
    close: () => executor.close(),
    get rewrites() {
      return rewrites;
    },
  };
}

/**
 * Against the broken claim, exactly these contract cases (and the fuzz) must fail; every other
 * case still passes. A case that starts passing here no longer guards the lease condition.
 */
const MUST_FAIL = [
  'refuses a second holder while the lease is held',
  'refuses a claim right after another, then allows it after release, ten times',
  'holds the lease for minHold after a fast successful run (lockAtLeastFor)',
  'fails against a live holder and leaves it in place',
  'runs the same tick once when it arrives twenty times at once',
  'keeps the lease to its end on a failure whose body may still run, leaving the tick open',
  'refuses a newer tick while an older one still runs (never two at once)',
  'still excludes a second invocation of the owner while the first runs',
  'refuses a live lease held by another attempt of the same invocation with its own reason',
  'loses no update of a non-atomic counter with 8 workers on 2 jobs',
  'keeps a live lease when a second store instance over the same table claims it',
];

let broken: ReturnType<typeof brokenClaimExecutor> | undefined;

describeLeaseStoreContract(
  'NEGATIVE CONTROL: the real claim without its lease condition',
  async () => {
    const table = 'lease_guard';
    const executor = createMysql2Executor({ url: await freshDatabase('negative_control') });
    await migrate(executor, table);
    broken = brokenClaimExecutor(executor, table);
    return {
      store: createSqlLeaseStore({ executor: broken, table }),
      executor: broken,
      table,
      close: () => executor.close(),
    };
  },
  { mustFail: MUST_FAIL },
);

describe('negative control', () => {
  it('sent the broken claim, not the real one', () => {
    // Files run their describe blocks in order, so the contract above has run by now.
    expect(broken?.rewrites).toBeGreaterThan(100);
  });
});
