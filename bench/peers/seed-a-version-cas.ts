/**
 * Seed design A (shared/seeds/000): master election on MySQL by reading the master row, then a
 * version compare-and-set UPDATE. A host may grab when it already is the master (its heartbeat)
 * or when `now - update_time > healthTimeout`, judged with the host's own clock. Ported as the
 * article's Go code does it (`GetMasterInfo`, then `GrabMaster`'s conditional `Updates`).
 *
 * Deviations, both needed to run it here: a `job` column (unique) so one table holds one election
 * per job, where the article has one row per cluster; and the setup row's `update_time` is
 * back-dated, where the article's insert leaves the cluster without a master for `healthTimeout`.
 * There is no release: the master stays master until its heartbeats stop for `healthTimeout`.
 */
import { quoteTable } from '../../src/lease/names.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';

/** The article's `healthTimeout`: 30 s without a heartbeat and the master counts as down. */
export const HEALTH_TIMEOUT_S = 30;

const NO_RELEASE = async (): Promise<void> => {};

export function seedAPeer(table = 'bench_seed_a'): Peer {
  const t = quoteTable(table);
  const select = `SELECT id, master, version, update_time FROM ${t} WHERE job = :job`;
  const grab = `UPDATE ${t} SET master = :master, version = version + 1 WHERE job = :job AND version = :read_version`;
  return {
    name: 'seed A: read + version CAS',
    transport: 'mysql2',
    async prepare(executor: SqlExecutor, jobs: readonly string[]) {
      await executor.execute({
        sql: `CREATE TABLE IF NOT EXISTS ${t} (
  id INT NOT NULL AUTO_INCREMENT,
  job VARCHAR(128) NOT NULL,
  master VARCHAR(64) NOT NULL COMMENT 'host name',
  version INT COMMENT 'version',
  update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uk_job (job)
) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
      });
      for (const job of jobs) {
        await executor.execute({
          sql: `INSERT IGNORE INTO ${t} (job, master, version, update_time) VALUES (:job, '', 0, UTC_TIMESTAMP() - INTERVAL 1 HOUR)`,
          params: { job },
        });
      }
    },
    invoker(env: InvokerEnv): Invoker {
      return {
        async claim(job: string): Promise<Claim> {
          const { rows } = await env.executor.execute({ sql: select, params: { job } });
          const row = rows[0];
          if (rows.length !== 1 || !row) throw new Error(`seed A: ${rows.length} master rows for ${job}, expected 1`);
          // TIMESTAMP in the session's zone, which the executor sets to UTC.
          const updated = Date.parse(`${String(row.update_time).replace(' ', 'T')}Z`);
          const mine = row.master === env.id;
          const expired = (env.now() - updated) / 1000 > HEALTH_TIMEOUT_S;
          if (!mine && !expired) return LOST;
          const result = await env.executor.execute({
            sql: grab,
            params: { job, master: env.id, read_version: Number(row.version) },
          });
          return result.affectedRows === 0 ? LOST : { won: true, release: NO_RELEASE };
        },
      };
    },
  };
}
