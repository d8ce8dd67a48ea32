/**
 * A local Aurora Global Database for tests and the demo: the replicated pair (replicated-pair.ts),
 * the lease table on it, and one local Data API endpoint per cluster, each serving only its own
 * cluster ARN and refusing every call while its server has no writer. The variables it prints
 * point a guard at both clusters, the primary first, the way a deployed function is configured.
 */
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { assertTableName } from '../lease/names.js';
import { migrate } from '../lease/schema.js';
import type { ClusterTarget } from '../sql/cluster-executor.js';
import { createMysql2Executor } from '../sql/mysql2-executor.js';
import { type DataApiServer, startDataApiServer } from './data-api/index.js';
import { LOCAL_ARNS } from './local-command.js';
import { type ReplicatedPair, startReplicatedPair } from './replicated-pair.js';

/** The stand-in clusters' ARNs: the primary's region first, as a global database lists them. */
export const LOCAL_GLOBAL_ARNS = {
  primary: 'arn:aws:rds:us-east-1:000000000000:cluster:lease-guard-primary',
  secondary: 'arn:aws:rds:eu-west-1:000000000000:cluster:lease-guard-secondary',
} as const;

export interface LocalGlobalDatabase {
  readonly pair: ReplicatedPair;
  readonly table: string;
  readonly primaryApi: DataApiServer;
  readonly secondaryApi: DataApiServer;
  /** Both clusters, the primary first, with their local endpoints. */
  readonly clusters: readonly ClusterTarget[];
  /** Variables for a guarded process: LEASE_GUARD_CLUSTERS and the rest, no single-cluster ARN. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops both Data API servers and both database servers. */
  stop(): Promise<void>;
}

export interface LocalGlobalDatabaseOptions {
  /** @default 'lease_guard' */
  readonly table?: string;
  readonly log?: (line: string) => void;
}

export async function startLocalGlobalDatabase(options: LocalGlobalDatabaseOptions = {}): Promise<LocalGlobalDatabase> {
  const table = assertTableName(options.table ?? DEFAULTS.table, 'table');
  const pair = await startReplicatedPair({ log: options.log });
  const started: DataApiServer[] = [];
  try {
    // The table and the lease user are made on the primary as root and replicate.
    const root = createMysql2Executor({ url: pair.primary.url, connectionLimit: 1 });
    try {
      await migrate(root, table);
    } finally {
      await root.close();
    }
    await pair.grantLeaseUser(table);
    await pair.waitForReplica();
    const serve = async (mysqlUrl: string, clusterArn: string): Promise<DataApiServer> => {
      const server = await startDataApiServer({
        mysqlUrl,
        clusterArn,
        refuseWhenReadOnly: true,
        ...(options.log ? { log: options.log } : {}),
      });
      started.push(server);
      return server;
    };
    const primaryApi = await serve(pair.primaryLeaseUrl, LOCAL_GLOBAL_ARNS.primary);
    const secondaryApi = await serve(pair.replicaLeaseUrl, LOCAL_GLOBAL_ARNS.secondary);
    const clusters: ClusterTarget[] = [
      {
        resourceArn: LOCAL_GLOBAL_ARNS.primary,
        secretArn: LOCAL_ARNS.secretArn,
        region: 'us-east-1',
        endpoint: primaryApi.url,
      },
      {
        resourceArn: LOCAL_GLOBAL_ARNS.secondary,
        secretArn: LOCAL_ARNS.secretArn,
        region: 'eu-west-1',
        endpoint: secondaryApi.url,
      },
    ];
    return {
      pair,
      table,
      primaryApi,
      secondaryApi,
      clusters,
      env: {
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        [LEASE_ENV.CLUSTERS]: JSON.stringify(clusters),
        // Empty counts as unset: a single cluster from the parent's environment must not leak in.
        [LEASE_ENV.RESOURCE_ARN]: '',
        [LEASE_ENV.SECRET_ARN]: '',
        [LEASE_ENV.REGION]: '',
        [LEASE_ENV.DATABASE]: pair.database,
        [LEASE_ENV.TABLE]: table,
      },
      async stop() {
        await Promise.allSettled(started.map((server) => server.close()));
        await pair.stop();
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((server) => server.close()));
    await pair.stop();
    throw error;
  }
}
