/**
 * The protocol's SQL text, written once for MySQL 8 (Aurora MySQL 3) and MariaDB. Rules:
 * - Only the database clock: `UTC_TIMESTAMP(6)`, statement-stable; durations come in as microseconds.
 * - The claim's answer does not depend on how `SET` is evaluated: left to right (MySQL) or against
 *   the old row (MariaDB's SIMULTANEOUS_ASSIGNMENT); see `claimSql`.
 * - Every statement that matches a row also changes it (`version + 1`), so drivers that count
 *   matched rows and drivers that count changed rows give the same answer.
 * - Release and renew are keyed by holder and fence: a stale holder changes nothing.
 */

import { SkipReason } from './lease-store.js';
import { quoteTable } from './names.js';

const NOW = 'UTC_TIMESTAMP(6)';
const TICK = 'CAST(:tick AS DATETIME(6))';
const SAME_LIVE_HOLDER = `(holder <=> :holder AND lease_until > ${NOW})`;
// Another attempt of the caller's invocation: holders end with `/` and the invocation.
const SAME_INVOCATION = `(:invocation IS NOT NULL AND RIGHT(holder, CHAR_LENGTH(:invocation) + 1) = CONCAT('/', :invocation))`;

/** Refusal codes of a claim; 0 means it won. */
export const REASON_CODES: Readonly<Record<number, SkipReason>> = {
  1: SkipReason.HELD,
  2: SkipReason.TICK_DONE,
  3: SkipReason.STALE_TICK,
  4: SkipReason.FUTURE_TICK,
  5: SkipReason.STANDBY,
  6: SkipReason.SAME_INVOCATION,
};

/** A won claim's answer is `fence × CLAIM_SCALE`; a refused one's is its code, below the scale. */
export const CLAIM_SCALE = 8;

/**
 * Why this row refuses the claim, or 0 when it accepts it. Tick checks come first: they say
 * something about the event itself, whoever holds the lease.
 */
const REASON = `CASE
    WHEN ${SAME_LIVE_HOLDER} THEN 0
    WHEN :tick IS NOT NULL AND ${TICK} > ${NOW} + INTERVAL :max_ahead_us MICROSECOND THEN 4
    WHEN :tick IS NOT NULL AND ${TICK} < ${NOW} - INTERVAL :max_age_us MICROSECOND THEN 3
    WHEN :tick IS NOT NULL AND tick_done >= ${TICK} THEN 2
    WHEN lease_until > ${NOW} AND ${SAME_INVOCATION} THEN 6
    WHEN lease_until > ${NOW} THEN 1
    WHEN :owner IS NOT NULL AND owner IS NOT NULL AND owner <> :owner
      AND owner_seen > ${NOW} - INTERVAL :failover_us MICROSECOND THEN 5
    ELSE 0
  END`;

// After the first two assignments, LAST_INSERT_ID() holds the answer: fence × 8 for a win.
const WON = `LAST_INSERT_ID() % ${CLAIM_SCALE} = 0`;
const NEW_HOLDER = `(${WON} AND NOT ${SAME_LIVE_HOLDER})`;

/**
 * The claim: one UPDATE that matches the job's row whatever the verdict, so its answer always
 * comes back in the same round trip where the driver reports `LAST_INSERT_ID(expr)` for a changed
 * row (mysql2; JDBC's generated keys, hence the Data API): `fence × 8` for a win, the refusal code
 * for a loss. Only a win changes the lease; a loss changes just the bookkeeping columns. No row
 * matched means the row is missing. A live claim re-issued by the same holder keeps its fence.
 *
 * The verdict is computed once and kept in the session's LAST_INSERT_ID, which the later
 * assignments read. They never read a column this statement has already set, so the answer is the
 * same whether SET runs left to right (MySQL, MariaDB's default) or against the old row (MariaDB's
 * SIMULTANEOUS_ASSIGNMENT): the holder and lease columns, which the verdict reads, change last.
 */
export function claimSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  claim_reason = LAST_INSERT_ID(${REASON}),
  last_claim = LAST_INSERT_ID(IF(LAST_INSERT_ID() = 0, IF(${SAME_LIVE_HOLDER}, fence, fence + 1) * ${CLAIM_SCALE}, LAST_INSERT_ID())),
  runs = IF(${NEW_HOLDER}, runs + 1, runs),
  claimed_at = IF(${NEW_HOLDER}, ${NOW}, claimed_at),
  fence = IF(${NEW_HOLDER}, fence + 1, fence),
  tick = IF(${WON}, ${TICK}, tick),
  owner = IF(${WON}, COALESCE(:owner, owner), owner),
  owner_seen = IF(${WON} AND :owner IS NOT NULL, ${NOW}, owner_seen),
  lease_until = IF(${WON}, ${NOW} + INTERVAL :lease_us MICROSECOND, lease_until),
  holder = IF(${WON}, :holder, holder),
  version = version + 1
WHERE job = :job`;
}

/** The claim's verdict where the driver did not report it: the row as the claim left it. */
export function verdictSql(table: string): string {
  return `SELECT holder, fence, claim_reason FROM ${quoteTable(table)} WHERE job = :job`;
}

/** Creates a job's row; a no-op (not an ignored error) when it exists. */
export function ensureRowSql(table: string): string {
  return `INSERT INTO ${quoteTable(table)} (job, created_at) VALUES (:job, ${NOW}) ON DUPLICATE KEY UPDATE job = job`;
}

const OWN_LEASE = 'job = :job AND holder = :holder AND fence = :fence';

/**
 * Success: the tick becomes the high-water mark and the lease ends (not before `minHold`).
 * Idempotent for its holder: once it has landed the row still has this fence and no holder (only
 * this holder's release clears the holder without a new fence), so a re-issue after a lost answer
 * matches again, changes nothing that matters, and reports the row, settling the doubt.
 */
export function releaseSuccessSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  tick_done = CASE WHEN tick IS NOT NULL AND (tick_done IS NULL OR tick > tick_done) THEN tick ELSE tick_done END,
  lease_until = GREATEST(${NOW}, claimed_at + INTERVAL :min_hold_us MICROSECOND),
  released_at = ${NOW},
  holder = NULL,
  tick = NULL,
  version = version + 1
WHERE job = :job AND fence = :fence AND (holder = :holder OR holder IS NULL)`;
}

/**
 * A stale holder's completed tick (its lease was force-released, or ended and was claimed again):
 * the mark moves forward to it, never back; the lease, fence and holder are left alone.
 */
export function completeTickSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  tick_done = ${TICK},
  version = version + 1
WHERE job = :job AND (tick_done IS NULL OR tick_done < ${TICK})`;
}

/**
 * Failure: the tick stays open, so the platform's retry can run it, and the lease ends now, or at
 * its own end when the body may still be running (`keep_lease`).
 */
export function releaseFailureSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  failures = failures + 1,
  last_error = :error,
  last_error_at = ${NOW},
  lease_until = IF(:keep_lease, GREATEST(lease_until, ${NOW}), ${NOW}),
  released_at = ${NOW},
  holder = NULL,
  tick = NULL,
  version = version + 1
WHERE ${OWN_LEASE}`;
}

/** Extends a lease that is still live and still this holder's. */
export function renewSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  lease_until = ${NOW} + INTERVAL :lease_us MICROSECOND,
  version = version + 1
WHERE ${OWN_LEASE} AND lease_until > ${NOW}`;
}

/** Frees the lease whoever holds it; the fence bump fences the old holder out. */
export function forceReleaseSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  fence = fence + 1,
  lease_until = LEAST(lease_until, ${NOW}),
  released_at = ${NOW},
  holder = NULL,
  tick = NULL,
  version = version + 1
WHERE job = :job`;
}

const STATE_COLUMNS =
  'job, holder, fence, lease_until, claimed_at, tick, tick_done, owner, owner_seen, runs, failures, last_error, last_error_at, released_at, version, created_at';

export function inspectSql(table: string): string {
  return `SELECT ${STATE_COLUMNS}, ${NOW} AS db_now FROM ${quoteTable(table)} WHERE job = :job`;
}

export function listSql(table: string): string {
  return `SELECT ${STATE_COLUMNS}, ${NOW} AS db_now FROM ${quoteTable(table)} ORDER BY job`;
}
