/**
 * The lease table before and after hostile input: no row may vanish or change unless it belongs
 * to a job the scenario itself ran, and no row may appear for any other job.
 */
import { quoteTable } from '../../src/lease/names.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import type { FaultViolation } from './scenario.js';

export type LeaseSnapshot = ReadonlyMap<string, string>;

export async function snapshotLeases(executor: SqlExecutor, table: string): Promise<LeaseSnapshot> {
  const { rows } = await executor.execute({ sql: `SELECT * FROM ${quoteTable(table)} ORDER BY job` });
  return new Map(rows.map((row) => [String(row.job), JSON.stringify(row)]));
}

/** What changed that should not have; `own` says which jobs the scenario ran itself. */
export function compareSnapshots(
  before: LeaseSnapshot,
  after: LeaseSnapshot,
  own: (job: string) => boolean,
): FaultViolation[] {
  const violations: FaultViolation[] = [];
  for (const [job, row] of before) {
    if (own(job)) continue;
    const now = after.get(job);
    if (now === undefined) violations.push({ invariant: 'lease-table', job, message: 'the row was deleted' });
    else if (now !== row)
      violations.push({ invariant: 'lease-table', job, message: `the row changed: ${row} → ${now}` });
  }
  for (const job of after.keys()) {
    if (!before.has(job) && !own(job)) {
      violations.push({ invariant: 'lease-table', job, message: 'a row appeared for a job nobody ran' });
    }
  }
  return violations;
}
