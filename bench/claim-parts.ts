/**
 * What each part of the claim statement costs under contention (issue 12): today's claim sent raw,
 * beside variants made from its own text, in contended rounds interleaved with the floor. The
 * variants answer the same way for this workload (a fresh tick each round, no affinity, no global
 * database); they are measurements, not protocols:
 * - "lease checks only": the verdict is just "same live holder / held / free" (no tick window,
 *   done mark, same-invocation, affinity or quarantine checks);
 * - "lease columns only": the full verdict, but only runs, lease_until, holder, version, fence
 *   assigned, and claimed_at, which the release reads (no quarantine, owner, tick or cluster);
 * - both at once.
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

const rounds = Number(process.argv[2] ?? 300);
const server = await openLocalDatabase({ database: 'lease_guard_claim_parts' });
try {
  const url = await server.createDatabase(`claim_parts_${randomBytes(4).toString('hex')}`);
  const mysql2 = createMysql2Executor({ url, connectionLimit: 16 });
  const transports = { mysql2, 'data-api': mysql2 } as Transports;
  const { rows } = await mysql2.execute({ sql: 'SELECT UTC_TIMESTAMP(3) AS now' });
  const nextTick = tickSource(Date.parse(`${String(rows[0]?.now).replace(' ', 'T')}Z`));
  const raw = [
    rawClaimPeer('claim statement (today)', url, 'parts_today', { sql: claimSql }),
    rawClaimPeer('lease checks only', url, 'parts_checks', { sql: leaseChecksOnly }),
    rawClaimPeer('lease columns only', url, 'parts_columns', { sql: leaseColumnsOnly }),
    rawClaimPeer('both', url, 'parts_both', {
      sql: (table) => leaseColumnsOnly(table).replace(FULL_VERDICT, LEASE_VERDICT),
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
    }
  } finally {
    await Promise.all([floor, ...raw].map((peer) => (peer as { close?: () => Promise<void> }).close?.()));
    await mysql2.close();
  }
} finally {
  await server.stop();
}
