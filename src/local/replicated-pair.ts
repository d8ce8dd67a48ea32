/**
 * A local stand-in for an Aurora Global Database: two throwaway MariaDB/MySQL servers in
 * asynchronous replication (GTID), the primary writing a binary log and the replica applying it.
 * The replica runs read-only, and the lease user has no SUPER (or READ_ONLY ADMIN), so it refuses
 * the user's writes the way a secondary cluster refuses until it is promoted. Promotion is what
 * an unplanned global failover does: replication stops wherever it is (writes it had not applied
 * are lost) and the replica starts taking writes. Loopback only; `stop()` stops both servers.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { LeaseGuardError } from '../errors.js';
import { leaseUserSql } from '../lease/grants.js';
import { startThrowawayMysql, type ThrowawayMysql, type ThrowawayOptions } from './throwaway-mysql.js';

export interface ReplicatedPairOptions extends Pick<ThrowawayOptions, 'database' | 'readyTimeoutMs' | 'log'> {
  /** The lease user the Data API servers connect as (no SUPER: read-only applies to it). @default 'lease_user' */
  readonly leaseUser?: string;
}

export interface ReplicatedPair {
  readonly database: string;
  readonly primary: ThrowawayMysql;
  readonly replica: ThrowawayMysql;
  /** `mysql://lease_user:…@127.0.0.1:PORT/DATABASE` of each server: what its Data API connects as. */
  readonly primaryLeaseUrl: string;
  readonly replicaLeaseUrl: string;
  /** Runs set-up SQL (DDL, grants) on the primary as root; it replicates. */
  adminOnPrimary(sql: string): Promise<void>;
  /** Grants the lease user SELECT, INSERT, UPDATE on a table that exists on the primary. */
  grantLeaseUser(table: string): Promise<void>;
  /** Waits until the replica has applied everything the primary has logged (bounded). */
  waitForReplica(timeoutMs?: number): Promise<void>;
  /** Stops the replica's replication: the primary's writes from now on stay on the primary only. */
  stopReplication(): Promise<void>;
  /** The replica becomes a writer: replication stopped and forgotten, read-only off. */
  promoteReplica(): Promise<void>;
  /** Whether the replica is still read-only (not promoted). */
  replicaReadOnly(): Promise<boolean>;
  /** Stops both servers (whatever state they are in) and deletes their data. */
  stop(): Promise<void>;
}

function binlogArgs(serverId: number): string[] {
  return [`--server-id=${serverId}`, '--log-bin=binlog', '--binlog-format=ROW', '--log-slave-updates=0'];
}

async function withRoot<T>(server: ThrowawayMysql, work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const url = new URL(server.url);
  url.pathname = '/';
  const connection = await mysql.createConnection({ uri: url.toString(), connectTimeout: 5000 });
  try {
    return await work(connection);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

function leaseUrl(server: ThrowawayMysql, user: string, password: string, database: string): string {
  return `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${database}`;
}

export async function startReplicatedPair(options: ReplicatedPairOptions = {}): Promise<ReplicatedPair> {
  const database = options.database ?? 'lease_guard';
  const user = options.leaseUser ?? 'lease_user';
  const password = randomBytes(12).toString('hex');
  const replicationPassword = randomBytes(12).toString('hex');
  const common = { database, readyTimeoutMs: options.readyTimeoutMs, log: options.log };
  const [primaryResult, replicaResult] = await Promise.allSettled([
    startThrowawayMysql({ ...common, serverArgs: binlogArgs(1) }),
    startThrowawayMysql({ ...common, serverArgs: binlogArgs(2) }),
  ]);
  if (primaryResult.status === 'rejected' || replicaResult.status === 'rejected') {
    await Promise.all([primaryResult, replicaResult].map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
    const failed =
      primaryResult.status === 'rejected' ? primaryResult.reason : (replicaResult as PromiseRejectedResult);
    throw new LeaseGuardError('Could not start the two servers of the replicated pair.', { cause: failed });
  }
  const primary = primaryResult.value;
  const replica = replicaResult.value;

  async function waitForReplica(timeoutMs = 30_000): Promise<void> {
    const position = await withRoot(primary, async (c) => {
      const [rows] = await c.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
      return String((rows as { pos: string }[])[0]?.pos ?? '');
    });
    await withRoot(replica, async (c) => {
      const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
      const [rows] = await c.query('SELECT MASTER_GTID_WAIT(?, ?) AS result', [position, seconds]);
      if (Number((rows as { result: number }[])[0]?.result) !== 0) {
        throw new LeaseGuardError(`The replica did not reach the primary's position ${position} in ${seconds} s.`);
      }
    });
  }

  const pair: ReplicatedPair = {
    database,
    primary,
    replica,
    primaryLeaseUrl: leaseUrl(primary, user, password, database),
    replicaLeaseUrl: leaseUrl(replica, user, password, database),
    adminOnPrimary: (sql) =>
      withRoot(primary, async (c) => {
        await c.query(`USE \`${database}\``);
        await c.query(sql);
      }),
    async grantLeaseUser(table) {
      for (const sql of leaseUserSql({ user, password, database, table })) await pair.adminOnPrimary(sql);
    },
    waitForReplica,
    stopReplication: () =>
      withRoot(replica, async (c) => {
        await c.query('STOP SLAVE');
      }),
    promoteReplica: () =>
      withRoot(replica, async (c) => {
        await c.query('STOP SLAVE');
        await c.query('RESET SLAVE ALL');
        await c.query('SET GLOBAL read_only = 0');
      }),
    replicaReadOnly: () =>
      withRoot(replica, async (c) => {
        const [rows] = await c.query('SELECT @@GLOBAL.read_only AS ro');
        return Number((rows as { ro: number }[])[0]?.ro) === 1;
      }),
    async stop() {
      await Promise.allSettled([replica.stop(), primary.stop()]);
    },
  };

  try {
    await withRoot(primary, async (c) => {
      await c.query(`CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '${replicationPassword}'`);
      await c.query(`GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'`);
    });
    await withRoot(replica, async (c) => {
      await c.query('SET GLOBAL read_only = 1');
      await c.query(
        `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port}, MASTER_USER = 'repl', MASTER_PASSWORD = '${replicationPassword}', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1`,
      );
      await c.query('START SLAVE');
    });
    await waitForReplica();
  } catch (error) {
    await pair.stop();
    throw new LeaseGuardError('Could not set up replication between the two servers.', { cause: error });
  }
  return pair;
}
