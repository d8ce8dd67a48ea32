/**
 * The protocol's SQL text, written once for MySQL 8 (Aurora MySQL 3) and MariaDB. Rules:
 * - Only the database clock: `UTC_TIMESTAMP(6)`, statement-stable; durations come in as microseconds.
 * - The claim's answer does not depend on how `SET` is evaluated: left to right (MySQL) or against
 *   the old row (MariaDB's SIMULTANEOUS_ASSIGNMENT); see `claimSql`.
 * - Every statement that matches a row also changes it (`version + 1`), so drivers that count
 *   matched rows and drivers that count changed rows give the same answer; except a refused
 *   claim, which changes nothing and is told apart by its reported answer or a read (`claimSql`).
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
  8: SkipReason.FAILOVER_QUARANTINE,
};

/** A won claim's answer is `fence × CLAIM_SCALE`; a refused one's is its code, below the scale. */
export const CLAIM_SCALE = 16;

/**
 * Global database: a failover moves the fence to the next multiple of this (the next epoch), past
 * any token the lost primary could have handed out after its last replicated write (fewer than
 * 2^32 claims). Tokens stay below 2^53 / CLAIM_SCALE for 2^17 failovers.
 */
export const FENCE_EPOCH = 2 ** 32;

// The row was last claimed through another cluster of a global database than this claim, or its
// history through a cluster is unknown: a failover. `cluster` is bound by the cluster executor; a
// claim without it (one database) never matches. A row with no recorded cluster may have been
// claimed on a lost primary by a claim that never replicated (its first cluster claim, a job moved
// from one cluster to `clusters`), so it is fenced like a failover: the NULL-safe `<=>` sees it.
const SWITCHED = '(:cluster IS NOT NULL AND NOT (cluster <=> :cluster))';

/** The verdict of a win that keeps the fence: the same holder re-issues its live claim. */
export const REISSUE = 7;

/** Which of the claim's optional parts a claim text carries (see `claimSql`). */
export interface ClaimShape {
  /** `:cluster` may be bound: the statement goes through a global database's cluster executor. */
  readonly cluster: boolean;
  /** `:owner` may be set: the caller claims with affinity. */
  readonly owner: boolean;
}

/** Every part: right for any request through any executor. */
export const GENERAL_CLAIM: ClaimShape = { cluster: true, owner: true };

/** Every shape a lease store may send its claim in, the general one first. */
export const CLAIM_SHAPES: readonly ClaimShape[] = [
  GENERAL_CLAIM,
  { cluster: true, owner: false },
  { cluster: false, owner: true },
  { cluster: false, owner: false },
];

/**
 * The row's verdict on a claim: 0 a new holder wins, 7 (`REISSUE`) the same live holder wins again,
 * else the refusal code. A failover's quarantine comes first: until it ends, the row cannot know
 * what the lost primary granted. Tick checks come next: they say something about the event itself,
 * whoever holds the lease. A part the shape leaves out is one whose test is false when its
 * parameter is NULL; the quarantine test stays in every shape: another writer of the table (a
 * global database's cluster executor) may have set it.
 */
function verdict(shape: ClaimShape): string {
  const switched = shape.cluster ? `\n    WHEN ${SWITCHED} THEN 8` : '';
  const affinity = shape.owner
    ? `\n    WHEN :owner IS NOT NULL AND owner IS NOT NULL AND owner <> :owner
      AND owner_seen > ${NOW} - INTERVAL :failover_us MICROSECOND THEN 5`
    : '';
  return `CASE${switched}
    WHEN quarantine_until > ${NOW} THEN 8
    WHEN ${SAME_LIVE_HOLDER} THEN ${REISSUE}
    WHEN :tick IS NOT NULL AND ${TICK} > ${NOW} + INTERVAL :max_ahead_us MICROSECOND THEN 4
    WHEN :tick IS NOT NULL AND ${TICK} < ${NOW} - INTERVAL :max_age_us MICROSECOND THEN 3
    WHEN :tick IS NOT NULL AND tick_done >= ${TICK} THEN 2
    WHEN lease_until > ${NOW} AND ${SAME_INVOCATION} THEN 6
    WHEN lease_until > ${NOW} THEN 1${affinity}
    ELSE 0
  END`;
}

// From the first assignment on, LAST_INSERT_ID() holds the verdict.
const WON = `LAST_INSERT_ID() IN (0, ${REISSUE})`;
const NEW_HOLDER = 'LAST_INSERT_ID() = 0';
// The answer, from the old fence: fence × CLAIM_SCALE for a win, the refusal code for a loss.
const ANSWER = `CASE LAST_INSERT_ID() WHEN 0 THEN (fence + 1) * ${CLAIM_SCALE} WHEN ${REISSUE} THEN fence * ${CLAIM_SCALE} ELSE LAST_INSERT_ID() END`;

/**
 * The claim: one UPDATE that matches the job's row whatever the verdict, so its answer comes back
 * in the same round trip where the driver reports `LAST_INSERT_ID(expr)` (mysql2, whether it
 * counts matched or changed rows; JDBC's generated keys, hence the Data API, when it counts the
 * row): `fence × CLAIM_SCALE` (16) for a win, the refusal code for a loss. No row matched: the row is missing.
 *
 * A refusal changes no column (every assignment keeps its old value), so a loser writes no redo,
 * no binlog and commits nothing: where the driver counts changed rows it sees 0 rows and reads its
 * verdict (`verdictSql`). A win always changes the row (`version + 1`), so "won" is never mistaken
 * for "matched, nothing changed". A live claim re-issued by the same holder keeps its fence.
 *
 * Global database (`:cluster` bound): the first claim through another cluster than the row's last
 * is refused (`failover-quarantine`) and changes the row: the fence jumps to the next epoch and
 * claims are refused until `:quarantine_us` has passed on the new primary's clock, so leases the
 * lost primary granted have ended and its tokens stay below every later one. Those assignments
 * read `cluster`, which is set last.
 *
 * The verdict is computed once, by the first assignment, and kept in the session's LAST_INSERT_ID;
 * every later assignment reads only that and its own column, and the last one turns the verdict
 * into the answer from the old fence. So the answer is the same whether SET runs left to right
 * (MySQL, MariaDB's default) or against the old row (MariaDB's SIMULTANEOUS_ASSIGNMENT).
 *
 * `shape` leaves out parts that are no-ops for the requests the text is sent with, so the server
 * evaluates less while it holds the row and the driver binds fewer values: without `cluster` the
 * failover check and its three assignments (`:cluster` NULL: nothing binds it), without `owner`
 * affinity's check and its two assignments (`:owner` NULL). Verdict, answer and row are the same
 * as the general text's for every row state (test/lease/claim-shapes.test.ts).
 */
export function claimSql(table: string, shape: ClaimShape = GENERAL_CLAIM): string {
  const oldFence = shape.cluster
    ? `\n    IF(${SWITCHED}, (fence DIV ${FENCE_EPOCH} + 1) * ${FENCE_EPOCH}, fence))`
    : ' fence)';
  const assignments = [
    `runs = IF(LAST_INSERT_ID(${verdict(shape)}) = 0, runs + 1, runs)`,
    shape.cluster &&
      `quarantine_until = IF(${SWITCHED}, GREATEST(lease_until, ${NOW} + INTERVAL :quarantine_us MICROSECOND), quarantine_until)`,
    `claimed_at = IF(${NEW_HOLDER}, ${NOW}, claimed_at)`,
    shape.owner && `owner_seen = IF(${WON} AND :owner IS NOT NULL, ${NOW}, owner_seen)`,
    shape.owner && `owner = IF(${WON}, COALESCE(:owner, owner), owner)`,
    `tick = IF(${WON}, ${TICK}, tick)`,
    `lease_until = IF(${WON}, ${NOW} + INTERVAL :lease_us MICROSECOND, lease_until)`,
    `holder = IF(${WON}, :holder, holder)`,
    `version = IF(${WON}, version + 1, version)`,
    `fence = IF(LAST_INSERT_ID(${ANSWER}) % ${CLAIM_SCALE} = 0, LAST_INSERT_ID() DIV ${CLAIM_SCALE},${oldFence}`,
    shape.cluster && 'cluster = COALESCE(:cluster, cluster)',
  ];
  return `UPDATE ${quoteTable(table)} SET
  ${assignments.filter(Boolean).join(',\n  ')}
WHERE job = :job`;
}

/**
 * The claim's verdict where the driver did not report it, read after the claim: the holder and
 * fence as the claim left them, and the row's verdict on the same request now (a loser wrote none).
 */
export function verdictSql(table: string): string {
  return `SELECT holder, fence, ${verdict(GENERAL_CLAIM)} AS verdict FROM ${quoteTable(table)} WHERE job = :job`;
}

/**
 * Creates a job's row; a no-op (not an ignored error) when it exists. Through a global database's
 * cluster executor the row is born with its cluster, so a new job's first claim there is no
 * failover; a row with no cluster has a history no cluster recorded (see SWITCHED).
 */
export function ensureRowSql(table: string): string {
  return `INSERT INTO ${quoteTable(table)} (job, created_at, cluster) VALUES (:job, ${NOW}, :cluster) ON DUPLICATE KEY UPDATE job = job`;
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
 * Failure: the tick stays open, so the platform's retry can run it, and the lease ends now, or,
 * when the body may still be running (`keep_lease`), at its own end or `:keep_us` from now,
 * whichever is later.
 */
export function releaseFailureSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  failures = failures + 1,
  last_error = :error,
  last_error_at = ${NOW},
  lease_until = IF(:keep_lease, GREATEST(lease_until, ${NOW} + INTERVAL :keep_us MICROSECOND), ${NOW}),
  released_at = ${NOW},
  holder = NULL,
  tick = NULL,
  version = version + 1
WHERE ${OWN_LEASE}`;
}

/**
 * Withdraws a claim whose answer never came (the invocation failed closed, its body never ran):
 * frees the lease if this holder has it, and takes back the run its claim counted. Keyed by the
 * holder alone (its fence was never learnt); holders are unique per attempt.
 */
export function withdrawSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  runs = GREATEST(runs, 1) - 1,
  lease_until = LEAST(lease_until, ${NOW}),
  holder = NULL,
  tick = NULL,
  version = version + 1
WHERE job = :job AND holder = :holder`;
}

/** Extends a lease that is still live and still this holder's. */
export function renewSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  lease_until = ${NOW} + INTERVAL :lease_us MICROSECOND,
  version = version + 1
WHERE ${OWN_LEASE} AND lease_until > ${NOW}`;
}

/**
 * Frees the lease; the fence bump fences the old holder out. With `:fence` NULL whoever holds it;
 * else only if the row still has the holder (`:holder`, NULL for none) and fence an operator saw.
 */
export function forceReleaseSql(table: string): string {
  return `UPDATE ${quoteTable(table)} SET
  fence = fence + 1,
  lease_until = LEAST(lease_until, ${NOW}),
  released_at = ${NOW},
  holder = NULL,
  tick = NULL,
  version = version + 1
WHERE job = :job AND (:fence IS NULL OR (fence = :fence AND holder <=> :holder))`;
}

const STATE_COLUMNS =
  'job, holder, fence, lease_until, claimed_at, tick, tick_done, owner, owner_seen, runs, failures, last_error, last_error_at, released_at, version, created_at';

// `held` is the claim's own test, in microseconds: times read back into JavaScript keep milliseconds,
// so comparing them there calls a lease ended up to a millisecond before a claim sees it end.
const STATE = `${STATE_COLUMNS}, ${NOW} AS db_now, lease_until > ${NOW} AS held`;

export function inspectSql(table: string): string {
  return `SELECT ${STATE} FROM ${quoteTable(table)} WHERE job = :job`;
}

export function listSql(table: string): string {
  return `SELECT ${STATE} FROM ${quoteTable(table)} ORDER BY job`;
}
