/**
 * A failover is a fence whatever the row's history (issue 21, item 4). The promoted cluster's row
 * has no recorded cluster (the job was claimed through one `resourceArn` before it moved to
 * `clusters`, or its first cluster claim never replicated), while the lost primary's live holder
 * has fence 2. The first claim through the new primary must not win fence 2: it is refused
 * `failover-quarantine`, the fence jumps to the next epoch, and the next winner's token is above
 * every token the lost primary could have handed out. The negative control runs the claim as it
 * was (a row without a cluster never counted as a failover) and hands out fence 2 again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkipReason } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { FENCE_EPOCH } from '../../src/lease/sql.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';

const PROMOTED = 'arn:aws:rds:eu-west-1:123456789012:cluster:promoted';

/**
 * Binds `:cluster` as the cluster executor does for a statement that names it, and declares
 * nothing about its binds (so the store sends the general claim text, as through the Data API).
 * `rewrite` changes the SQL text on its way (the negative control).
 */
function throughCluster(inner: SqlExecutor, rewrite: (sql: string) => string = (sql) => sql): SqlExecutor {
  return {
    execute: (statement, options) =>
      inner.execute(
        {
          sql: rewrite(statement.sql),
          params: statement.sql.includes(':cluster') ? { ...statement.params, cluster: PROMOTED } : statement.params,
        },
        options,
      ),
    close: () => Promise.resolve(),
  };
}

/** Today's fix undone: a row with no recorded cluster is not a failover. */
const beforeTheFix = (sql: string): string =>
  sql.replaceAll('NOT (cluster <=> :cluster)', 'cluster IS NOT NULL AND cluster <> :cluster');

describe('a failover onto a row with no recorded cluster', () => {
  let raw: ReturnType<typeof createMysql2Executor>;

  beforeAll(async () => {
    raw = createMysql2Executor({ url: await freshDatabase('failover_fence') });
    await migrate(raw, 'lease_guard');
  });
  afterAll(() => raw.close());

  /** The promoted cluster's copy: claimed twice through one resourceArn (fence 1, free), cluster NULL. */
  async function promotedRow(job: string): Promise<void> {
    const single = createSqlLeaseStore({ executor: raw });
    const first = await single.claim({ job, holder: 'a1', leaseMs: 60_000 });
    if (!first.acquired) throw new Error('setup claim lost');
    await single.release({ job, holder: 'a1', fence: first.fence, outcome: 'success' });
    const { rows } = await raw.execute({
      sql: 'SELECT cluster, fence FROM lease_guard WHERE job = :job',
      params: { job },
    });
    expect(rows[0]).toEqual({ cluster: null, fence: 1 });
    // The lost primary then handed out fence 2 to a holder that is still running: not replicated.
  }

  it('quarantines the first claim and moves the fence past every token the lost primary could hold', async () => {
    const job = 'null-cluster';
    await promotedRow(job);
    const store = createSqlLeaseStore({ executor: throughCluster(raw) });
    const claim = (holder: string) => store.claim({ job, holder, leaseMs: 60_000, failoverQuarantineMs: 300 });
    expect(await claim('b1')).toEqual({ acquired: false, reason: SkipReason.FAILOVER_QUARANTINE });
    const { rows } = await raw.execute({
      sql: 'SELECT cluster, fence FROM lease_guard WHERE job = :job',
      params: { job },
    });
    expect(rows[0]).toEqual({ cluster: PROMOTED, fence: FENCE_EPOCH });
    let won: Awaited<ReturnType<typeof claim>> = { acquired: false, reason: SkipReason.HELD };
    for (let attempt = 0; attempt < 100 && !won.acquired; attempt++) {
      won = await claim(`b2-${attempt}`);
      if (!won.acquired) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(won).toEqual({ acquired: true, fence: FENCE_EPOCH + 1 });
  });

  it('a new job created through the cluster executor is born with its cluster and runs at once', async () => {
    const store = createSqlLeaseStore({ executor: throughCluster(raw) });
    expect(await store.claim({ job: 'born-there', holder: 'c1', leaseMs: 60_000 })).toEqual({
      acquired: true,
      fence: 1,
    });
  });

  it('negative control: the claim as it was hands the lost primary’s fence out again', async () => {
    const job = 'null-cluster-control';
    await promotedRow(job);
    const store = createSqlLeaseStore({ executor: throughCluster(raw, beforeTheFix) });
    expect(await store.claim({ job, holder: 'b1', leaseMs: 60_000, failoverQuarantineMs: 300 })).toEqual({
      acquired: true,
      fence: 2,
    });
  });
});
