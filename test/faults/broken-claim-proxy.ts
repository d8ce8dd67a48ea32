/**
 * The negative control's broken claim, injected at the executor seam the workers really use: a
 * loopback proxy in front of the local Data API server that forwards every call unchanged except
 * the claim, whose "lease still held" refusal it deletes. The claim then still checks the tick,
 * but any contender wins while another holds the lease: the bug a hand-written claim can have.
 * src/lease is untouched; the workers only see another AWS_ENDPOINT_URL_RDS_DATA.
 */
import { CLAIM_SHAPES, type ClaimShape, claimSql, GENERAL_CLAIM } from '../../src/lease/sql.js';
import { type SqlRewriteProxy, startSqlRewriteProxy } from './sql-rewrite-proxy.js';

const LEASE_HELD_REFUSAL = 'WHEN lease_until > UTC_TIMESTAMP(6) THEN 1';

/**
 * The claim without its lease condition, wherever the verdict is computed. Throws if the
 * protocol's text no longer has it, so the control never silently tests the real claim.
 */
export function brokenClaimSql(table: string, shape: ClaimShape = GENERAL_CLAIM): string {
  const sql = claimSql(table, shape);
  if (!sql.includes(LEASE_HELD_REFUSAL)) {
    throw new Error(`the claim SQL no longer contains "${LEASE_HELD_REFUSAL}"; update the negative control`);
  }
  return sql.replaceAll(LEASE_HELD_REFUSAL, '');
}

/** Claims rewritten so far are in `rewrites`: a control that rewrote none proved nothing. */
export type BrokenClaimProxy = SqlRewriteProxy;

export function startBrokenClaimProxy(target: string, table: string): Promise<BrokenClaimProxy> {
  // Whichever shape the store sends its claim in.
  const broken = new Map(CLAIM_SHAPES.map((shape) => [claimSql(table, shape), brokenClaimSql(table, shape)]));
  return startSqlRewriteProxy(target, (sql) => broken.get(sql) ?? sql);
}
