/**
 * What one local Data API endpoint stands for when it is one cluster of a (stand-in) global
 * database: its own cluster ARN, and whether the server behind it is a writer.
 *
 * The service answers only through a cluster's writer instance; a secondary cluster of a global
 * database has none until it is promoted, so "read and write queries sent to the secondary
 * cluster fail" (Aurora user guide, Data API limitations). The exception it sends is not
 * documented; the model's closest is DatabaseUnavailableException (504, "writer instance
 * unavailable"), which is what this server sends [inferred, confirm on AWS]. A server running
 * read-only (a replica) is taken for a cluster without a writer, for reads too.
 */
import mysql from 'mysql2/promise';
import { DataApiError } from './errors.js';

export interface ClusterRoleOptions {
  /** Only this cluster ARN is served; others are answered as a cluster without the Data API. */
  readonly clusterArn?: string | undefined;
  /** Refuse every call while the server is read-only, as a secondary cluster does. */
  readonly refuseWhenReadOnly?: boolean | undefined;
}

export interface ClusterRole {
  /** Throws the service's error when this endpoint would not run a call for `resourceArn`. */
  check(resourceArn: string): Promise<void>;
  close(): Promise<void>;
}

export function createClusterRole(mysqlUrl: string, options: ClusterRoleOptions): ClusterRole {
  let pool: mysql.Pool | undefined;

  async function readOnly(): Promise<boolean> {
    pool ??= mysql.createPool({ uri: mysqlUrl, connectionLimit: 2, connectTimeout: 2000 });
    try {
      const [rows] = await pool.query('SELECT @@GLOBAL.read_only AS ro');
      return Number((rows as { ro: unknown }[])[0]?.ro) === 1;
    } catch (error) {
      // No answer from the server: the writer is unreachable, as during a regional outage.
      throw new DataApiError('DatabaseUnavailableException', 'The writer instance of the DB cluster is unavailable.', {
        cause: error,
      });
    }
  }

  return {
    async check(resourceArn) {
      if (options.clusterArn !== undefined && resourceArn !== options.clusterArn) {
        throw new DataApiError(
          'HttpEndpointNotEnabledException',
          `HttpEndpoint isn't enabled for cluster ${resourceArn}`,
        );
      }
      if (options.refuseWhenReadOnly && (await readOnly())) {
        throw new DataApiError(
          'DatabaseUnavailableException',
          `The DB cluster ${resourceArn} has no writer instance: it is a secondary cluster of a global database, and Data API queries fail until it is promoted.`,
        );
      }
    },
    async close() {
      await pool?.end();
    },
  };
}
