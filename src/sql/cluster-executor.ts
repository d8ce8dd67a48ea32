/**
 * The executor port over the clusters of an Aurora Global Database, through the Data API. Only
 * the primary cluster has a writer; a secondary refuses every call until it is promoted. The
 * executor sends to the cluster that answered last (per execution environment: it lives as long
 * as the module), and when that one has no writer or cannot be reached it tries the next ones in
 * the configured order, within the caller's deadline. No AWS describe call: the answers are the
 * signal.
 *
 * It also tells the protocol which cluster a statement went through: a statement that names the
 * `:cluster` parameter gets the cluster's ARN there. The claim uses it to see a failover.
 */
import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { LeaseGuardConfigError, LeaseStoreError } from '../errors.js';
import { createDataApiExecutor, dataApiSettings } from './data-api-executor.js';
import type { ExecuteOptions, SqlExecutor, SqlResult, SqlStatement } from './executor.js';

export interface ClusterTarget {
  /** The cluster's ARN. */
  readonly resourceArn: string;
  /** The secret the Data API uses for this cluster (secrets are regional; a replica secret works). */
  readonly secretArn: string;
  /** The cluster's region: its Data API endpoint's region. @default - the ARN's region */
  readonly region?: string | undefined;
  /** Another Data API endpoint for this cluster (a local server, a VPC endpoint). @default - the region's */
  readonly endpoint?: string | undefined;
}

export interface ClusterExecutorOptions {
  /** The clusters of the global database, the primary first. At least two. */
  readonly clusters: readonly ClusterTarget[];
  readonly database?: string | undefined;
  /** Deadline of each Data API call. @default 10000 */
  readonly timeoutMs?: number | undefined;
  /** For tests: one client per cluster (the executor leaves them open). */
  readonly clientFor?: ((cluster: ClusterTarget) => RDSDataClient) | undefined;
  /** Told when the executor changes cluster (for a log line). */
  readonly onSwitch?: ((from: ClusterTarget, to: ClusterTarget, error: LeaseStoreError) => void) | undefined;
}

/** The parameter the executor fills with the ARN of the cluster it sends the statement to. */
export const CLUSTER_PARAMETER = 'cluster';

/**
 * Failures that say "not this cluster": no writer (a secondary, or a writer failing over), or no
 * answer from its region. The statement did not run there, or ran on a cluster that is no longer
 * the writer. A retry elsewhere is safe: every lease statement is idempotent for its caller.
 */
const NOT_THIS_CLUSTER = new Set([
  'DatabaseUnavailableException',
  'ServiceUnavailableError',
  'InternalServerErrorException',
  'HttpEndpointNotEnabledException',
  'DatabaseNotFoundException',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const ARN_REGION = /^arn:[^:]+:rds:([^:]+):/;

export function createClusterExecutor(options: ClusterExecutorOptions): SqlExecutor {
  const clusters = checkClusters(options.clusters);
  const executors = clusters.map((cluster) =>
    createDataApiExecutor({
      resourceArn: cluster.resourceArn,
      secretArn: cluster.secretArn,
      database: options.database,
      region: cluster.region ?? ARN_REGION.exec(cluster.resourceArn)?.[1],
      timeoutMs: options.timeoutMs,
      endpoint: cluster.endpoint,
      client: options.clientFor?.(cluster),
    }),
  );
  // The cluster that answered last; the next call starts there.
  let current = 0;

  async function execute(statement: SqlStatement, execOptions?: ExecuteOptions): Promise<SqlResult> {
    const names = statement.sql.includes(`:${CLUSTER_PARAMETER}`);
    let lastError: LeaseStoreError | undefined;
    let ambiguous = false;
    for (let tried = 0; tried < clusters.length; tried++) {
      const index = (current + tried) % clusters.length;
      const cluster = clusters[index] as ClusterTarget;
      const bound = names
        ? { ...statement, params: { ...statement.params, [CLUSTER_PARAMETER]: cluster.resourceArn } }
        : statement;
      try {
        const result = await (executors[index] as SqlExecutor).execute(bound, execOptions);
        if (index !== current) {
          if (lastError) options.onSwitch?.(clusters[current] as ClusterTarget, cluster, lastError);
          current = index;
        }
        return result;
      } catch (error) {
        if (!(error instanceof LeaseStoreError) || !NOT_THIS_CLUSTER.has(error.code)) throw error;
        lastError = error;
        ambiguous ||= error.ambiguous;
        // The caller's deadline passed (a region that does not answer): its next attempt starts
        // at the next cluster, so a silent region cannot use up every attempt.
        if (execOptions?.signal?.aborted) {
          current = (index + 1) % clusters.length;
          break;
        }
      }
    }
    const last = lastError as LeaseStoreError;
    // Any cluster may have run it (a lost answer): the caller must settle it, whoever answered last.
    if (ambiguous === last.ambiguous) throw last;
    throw new LeaseStoreError(last.message, { kind: last.kind, code: last.code, ambiguous }, { cause: last });
  }

  return {
    execute,
    async close() {
      await Promise.all(executors.map((executor) => executor.close()));
    },
  };
}

function checkClusters(clusters: readonly ClusterTarget[]): readonly ClusterTarget[] {
  if (!Array.isArray(clusters) || clusters.length < 2) {
    throw new LeaseGuardConfigError(
      `clusters must list the global database's clusters (at least two, the primary first), got ${Array.isArray(clusters) ? clusters.length : typeof clusters}; for one cluster use resourceArn and secretArn.`,
    );
  }
  const seen = new Set<string>();
  clusters.forEach((cluster, index) => {
    // Validates the ARNs with the same rules and messages as a single cluster.
    dataApiSettings({ resourceArn: cluster.resourceArn, secretArn: cluster.secretArn, database: 'x' });
    if (seen.has(cluster.resourceArn)) {
      throw new LeaseGuardConfigError(
        `clusters[${index}].resourceArn ${cluster.resourceArn} is listed twice; list each cluster once.`,
      );
    }
    seen.add(cluster.resourceArn);
  });
  return clusters;
}
