/**
 * What each part of the claim statement costs under contention (issue 12): the general claim text
 * sent raw, beside variants, in contended rounds interleaved with the floor. The variants answer
 * the same way for this workload (a fresh tick each round, no affinity, no global database):
 * - "lease checks only": the verdict is just "same live holder / held / free" (no tick window,
 *   done mark, same-invocation, affinity or quarantine checks); a measurement, not a protocol;
 * - "lease columns only": the full verdict, but only runs, lease_until, holder, version, fence
 *   assigned, and claimed_at, which the release reads (no quarantine, owner, tick or cluster);
 *   a measurement, not a protocol;
 * - both at once;
 * - the specialised texts the store sends (`claimSql` with a shape): without the cluster (an
 *   executor that binds none), and without affinity too (a claim without an owner); the same
 *   with the tick known to be given (a measurement: the store does not specialise on it);
 * - "bound once": each value bound once, in a one-row derived table (a measurement, not a
 *   protocol: a multi-table UPDATE, whose SET order MySQL does not promise).
 * `npx tsx bench/claim-parts.ts [rounds]`; prints a table, writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { claimSql } from '../src/lease/sql.js';
import { openLocalDatabase } from '../src/local/throwaway-mysql.js';
import { createMysql2Executor } from '../src/sql/mysql2-executor.js';
import { measureContended } from './contended.js';
import { type Transports, tickSource } from './harness.js';
import { floorPeer } from './peers/floor.js';
import { rawClaimPeer } from './peers/raw-claim.js';

const FULL_VERDICT = /LAST_INSERT_ID\(CASE[\s\S]*?END\) = 0/;
const LEASE_VERDICT =
  'LAST_INSERT_ID(CASE WHEN (holder <=> :holder AND lease_until > UTC_TIMESTAMP(6)) THEN 7 WHEN lease_until > UTC_TIMESTAMP(6) THEN 1 ELSE 0 END) = 0';
const DROPPED = /^\s*(quarantine_until|owner_seen|owner|tick|cluster) = .*\n/gm;

function leaseChecksOnly(table: string): string {
  const sql = claimSql(table);
  if (!FULL_VERDICT.test(sql)) throw new Error('the claim no longer computes its verdict in its first assignment');
  return sql.replace(FULL_VERDICT, LEASE_VERDICT);
}

function leaseColumnsOnly(table: string): string {
  // The fence's assignment ends its line with a comma the dropped `cluster` line no longer follows.
  return claimSql(table)
    .replace(DROPPED, '')
    .replace(/,\s*WHERE job/, '\nWHERE job');
}

/** Each parameter bound once: a one-row derived table carries the values (the tick cast once). */
function bindOnce(sql: string): string {
  const names = [...new Set(Array.from(sql.matchAll(/:([a-z_]+)/g), (m) => m[1] as string))];
  // Text values as the table's ascii columns: a derived column is no longer a coercible literal.
  const value = (n: string): string =>
    n === 'tick' ? 'CAST(:tick AS DATETIME(6))' : n.endsWith('_us') ? `:${n}` : `CONVERT(:${n} USING ascii)`;
  const values = names.map((n) => `${value(n)} AS p_${n}`);
  const body = sql.replaceAll('CAST(:tick AS DATETIME(6))', 'p_tick').replace(/:([a-z_]+)/g, 'p_$1');
  const joined = body.replace(/^UPDATE (`[^`]+`) SET/, `UPDATE $1, (SELECT ${values.join(', ')}) AS p SET`);
  if (joined === body) throw new Error('the claim no longer starts with UPDATE `table` SET');
  return joined;
}

const NO_CLUSTER = { cluster: false, owner: true };
const NO_CLUSTER_NO_OWNER = { cluster: false, owner: false };

const rounds = Number(process.argv[2] ?? 300);
const server = await openLocalDatabase({ database: 'lease_guard_claim_parts' });
try {
  const url = await server.createDatabase(`claim_parts_${randomBytes(4).toString('hex')}`);
  const mysql2 = createMysql2Executor({ url, connectionLimit: 16 });
  const transports = { mysql2, 'data-api': mysql2 } as Transports;
  const { rows } = await mysql2.execute({ sql: 'SELECT UTC_TIMESTAMP(3) AS now' });
  const nextTick = tickSource(Date.parse(`${String(rows[0]?.now).replace(' ', 'T')}Z`));
  const raw = [
    rawClaimPeer('general claim text', url, 'parts_general', { sql: (t) => claimSql(t) }),
    rawClaimPeer('lease checks only', url, 'parts_checks', { sql: leaseChecksOnly }),
    rawClaimPeer('lease columns only', url, 'parts_columns', { sql: leaseColumnsOnly }),
    rawClaimPeer('both', url, 'parts_both', {
      sql: (table) => leaseColumnsOnly(table).replace(FULL_VERDICT, LEASE_VERDICT),
    }),
    rawClaimPeer('specialised: no cluster', url, 'parts_no_cluster', { sql: (t) => claimSql(t, NO_CLUSTER) }),
    rawClaimPeer('specialised: no cluster, no owner', url, 'parts_no_owner', {
      sql: (t) => claimSql(t, NO_CLUSTER_NO_OWNER),
    }),
    rawClaimPeer('specialised: no cluster, no owner, tick given', url, 'parts_tick_given', {
      sql: (t) => claimSql(t, NO_CLUSTER_NO_OWNER).replaceAll(':tick IS NOT NULL AND ', ''),
    }),
    rawClaimPeer('bound once (derived table)', url, 'parts_bound_once', { sql: (t) => bindOnce(claimSql(t)) }),
    rawClaimPeer('specialised (no cluster, no owner) + bound once', url, 'parts_both_ideas', {
      sql: (t) => bindOnce(claimSql(t, NO_CLUSTER_NO_OWNER)),
    }),
  ];
  const floor = floorPeer(url);
  try {
    const results = await measureContended([floor, ...raw], transports, nextTick, {
      contenders: 8,
      rounds,
      warmupRounds: 30,
    });
    console.log('| design | round ms p50 | vs floor (mean) | per-round median | no winner / two winners / errors |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      console.log(
        `| ${r.name} | ${r.roundMs.p50.toFixed(2)} | ${r.vsFloor.toFixed(2)}× | ${r.vsFloorMedian.toFixed(2)}× | ${r.roundsWithoutWinner} / ${r.roundsWithTwoWinners} / ${r.errors} |`,
      );
      if (r.firstError !== undefined) console.log(`  ${r.name}: ${r.firstError}`);
    }
  } finally {
    await Promise.all([floor, ...raw].map((peer) => (peer as { close?: () => Promise<void> }).close?.()));
    await mysql2.close();
  }
} finally {
  await server.stop();
}
