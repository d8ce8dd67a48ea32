import { DEFAULTS } from '../constants.js';
import type { ExecuteOptions, SqlExecutor, SqlRow, SqlStatement } from '../sql/executor.js';
import type {
  ClaimRequest,
  ClaimResult,
  ForceReleaseRequest,
  LeaseState,
  LeaseStore,
  ReleaseRequest,
  RenewRequest,
  WithdrawRequest,
} from './lease-store.js';
import { SkipReason } from './lease-store.js';
import { assertJobName, assertTableName, assertToken, MAX_HOLDER_LENGTH } from './names.js';
import {
  CLAIM_SCALE,
  claimSql,
  completeTickSql,
  ensureRowSql,
  forceReleaseSql,
  GENERAL_CLAIM,
  inspectSql,
  listSql,
  REASON_CODES,
  releaseFailureSql,
  releaseSuccessSql,
  renewSql,
  verdictSql,
  withdrawSql,
} from './sql.js';
import { fromSqlTime, toMicros, toSqlTime } from './time.js';
import {
  assertDuration,
  assertHolderRef,
  assertTick,
  errorText,
  normalizeClaim,
  normalizeForceRelease,
} from './validate.js';

/** A claim, a heal of the missing row, and one claim more for a lease that ended meanwhile. */
const MAX_CLAIM_PASSES = 3;

export interface SqlLeaseStoreOptions {
  readonly executor: SqlExecutor;
  /** @default 'lease_guard' */
  readonly table?: string;
}

/**
 * The lease protocol over any SQL executor. Round trips: a loser 1, a winner 1 plus the release;
 * each 1 more (a read) where the driver does not report `LAST_INSERT_ID(expr)`, and a loser 1 more
 * where it reports it only for a counted row while counting changed rows. A missing row costs a
 * read, one insert and one more claim, once.
 */
export function createSqlLeaseStore(options: SqlLeaseStoreOptions): LeaseStore {
  const { executor } = options;
  const table = assertTableName(options.table ?? DEFAULTS.table);
  // The claim leaves out what is a no-op for a request where the executor says what it binds: the
  // failover check where it binds no `:cluster`, affinity for a claim without an owner. An
  // executor that does not say gets the general text, right whatever it binds.
  const { binds } = executor;
  const claimText = (owner: boolean): string =>
    claimSql(table, binds === undefined ? GENERAL_CLAIM : { cluster: binds.includes('cluster'), owner });
  const sql = {
    claim: claimText(true),
    claimWithoutOwner: claimText(false),
    verdict: verdictSql(table),
    ensureRow: ensureRowSql(table),
    releaseSuccess: releaseSuccessSql(table),
    releaseFailure: releaseFailureSql(table),
    completeTick: completeTickSql(table),
    renew: renewSql(table),
    withdraw: withdrawSql(table),
    forceRelease: forceReleaseSql(table),
    inspect: inspectSql(table),
    list: listSql(table),
  };

  async function claim(request: ClaimRequest, execOptions?: ExecuteOptions): Promise<ClaimResult> {
    const c = normalizeClaim(request);
    const params = {
      job: c.job,
      holder: c.holder,
      invocation: c.invocation,
      lease_us: toMicros(c.leaseMs),
      tick: c.tick === null ? null : toSqlTime(c.tick),
      max_age_us: toMicros(c.maxTickAgeMs),
      max_ahead_us: toMicros(c.maxTickAheadMs),
      owner: c.owner,
      failover_us: toMicros(c.failoverAfterMs),
      quarantine_us: toMicros(c.failoverQuarantineMs),
      // Bound to the cluster's ARN by the cluster executor (a global database); NULL otherwise.
      cluster: null,
    };
    const claim = c.owner === null ? sql.claimWithoutOwner : sql.claim;
    let healed = false;
    // A pass more only after creating a missing row, or when the row would take the claim by the
    // time its verdict was read (the lease ended meanwhile): the claim is then simply sent again.
    for (let pass = 0; pass < MAX_CLAIM_PASSES; pass++) {
      const result = await executor.execute({ sql: claim, params }, execOptions);
      if (result.insertId !== undefined && result.insertId > 0) return decode(result.insertId);
      // Reported as 0 with no row counted: nothing set it, so no row matched (mysql2). Reported
      // not at all: a driver without LAST_INSERT_ID, or a JDBC-like one that counts changed rows
      // and reports it only for a counted row (a loser changed none): the row tells.
      const row =
        result.insertId === 0 && result.affectedRows === 0
          ? undefined
          : (await executor.execute({ sql: sql.verdict, params }, execOptions)).rows[0];
      if (row === undefined) {
        if (healed) break;
        // `cluster` is bound by the cluster executor; NULL otherwise.
        await executor.execute({ sql: sql.ensureRow, params: { job: c.job, cluster: null } }, execOptions);
        healed = true;
        continue;
      }
      // Ours: this claim won, or an earlier attempt with this holder did and this one re-issued it.
      if (row.holder === c.holder) return { acquired: true, fence: Number(row.fence) };
      const verdict = Number(row.verdict);
      if (verdict !== 0) return { acquired: false, reason: REASON_CODES[verdict] ?? SkipReason.HELD };
    }
    return { acquired: false, reason: SkipReason.HELD };
  }

  async function release(request: ReleaseRequest, execOptions?: ExecuteOptions): Promise<boolean> {
    assertHolderRef(request);
    const { job, holder, fence } = request;
    const tick = request.outcome === 'success' && request.tick != null ? toSqlTime(assertTick(request.tick)) : null;
    const statement: SqlStatement =
      request.outcome === 'success'
        ? {
            sql: sql.releaseSuccess,
            params: { job, holder, fence, min_hold_us: toMicros(assertDuration(request.minHoldMs ?? 0, 'minHoldMs')) },
          }
        : {
            sql: sql.releaseFailure,
            params: {
              job,
              holder,
              fence,
              error: errorText(request.error),
              keep_lease: request.keepLease === true,
              keep_us: toMicros(assertDuration(request.keepForMs ?? 0, 'keepForMs')),
            },
          };
    const result = await executor.execute(statement, execOptions);
    if (result.affectedRows > 0) return true;
    // Not this holder's any more: a success still counts its tick, and changes nothing else.
    if (tick !== null) {
      await executor.execute({ sql: sql.completeTick, params: { job, tick } }, execOptions);
    }
    return false;
  }

  async function renew(request: RenewRequest, execOptions?: ExecuteOptions): Promise<boolean> {
    assertHolderRef(request);
    const lease_us = toMicros(assertDuration(request.leaseMs, 'leaseMs', { min: 1 }));
    const { job, holder, fence } = request;
    const result = await executor.execute({ sql: sql.renew, params: { job, holder, fence, lease_us } }, execOptions);
    return result.affectedRows > 0;
  }

  async function withdraw(request: WithdrawRequest, execOptions?: ExecuteOptions): Promise<boolean> {
    const job = assertJobName(request.job);
    const holder = assertToken(request.holder, 'holder', MAX_HOLDER_LENGTH);
    const result = await executor.execute({ sql: sql.withdraw, params: { job, holder } }, execOptions);
    return result.affectedRows > 0;
  }

  async function inspect(job: string, execOptions?: ExecuteOptions): Promise<LeaseState | undefined> {
    const { rows } = await executor.execute({ sql: sql.inspect, params: { job: assertJobName(job) } }, execOptions);
    return rows[0] ? toLeaseState(rows[0]) : undefined;
  }

  async function list(execOptions?: ExecuteOptions): Promise<LeaseState[]> {
    const { rows } = await executor.execute({ sql: sql.list }, execOptions);
    return rows.map(toLeaseState);
  }

  async function forceRelease(request: string | ForceReleaseRequest, execOptions?: ExecuteOptions): Promise<boolean> {
    const params = normalizeForceRelease(request);
    const result = await executor.execute({ sql: sql.forceRelease, params }, execOptions);
    return result.affectedRows > 0;
  }

  return { claim, release, renew, withdraw, inspect, list, forceRelease };
}

/** The claim's answer: `fence × 16` when it won, else the refusal code. */
function decode(answer: number): ClaimResult {
  const code = answer % CLAIM_SCALE;
  if (code === 0) return { acquired: true, fence: answer / CLAIM_SCALE };
  return { acquired: false, reason: REASON_CODES[code] ?? SkipReason.HELD };
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function toLeaseState(row: SqlRow): LeaseState {
  const leaseUntil = fromSqlTime(row.lease_until) as Date;
  const dbNow = fromSqlTime(row.db_now) as Date;
  const holder = text(row.holder);
  return {
    job: String(row.job),
    holder,
    fence: Number(row.fence),
    leaseUntil,
    claimedAt: fromSqlTime(row.claimed_at),
    tick: fromSqlTime(row.tick),
    tickDone: fromSqlTime(row.tick_done),
    owner: text(row.owner),
    ownerSeen: fromSqlTime(row.owner_seen),
    runs: Number(row.runs),
    failures: Number(row.failures),
    lastError: text(row.last_error),
    lastErrorAt: fromSqlTime(row.last_error_at),
    releasedAt: fromSqlTime(row.released_at),
    version: Number(row.version),
    createdAt: fromSqlTime(row.created_at) as Date,
    dbNow,
    held: Number(row.held) === 1,
  };
}
