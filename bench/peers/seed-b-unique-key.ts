/**
 * Seed design B (shared/seeds/001): master election by updating a row under a unique key. Every
 * host registers its own row at start-up; to become master it updates its row to
 * (status 'MASTER', master_lock = the lock), and the unique key `uk_master (status, master_lock)`
 * lets only one row hold that pair: the others get a duplicate-key error and stay slaves.
 *
 * Reading of the article where it is silent: a slave's `master_lock` is its own host name, so
 * slaves never collide; stepping down (the release) writes the slave values back. Deviations: a
 * `job` column, so one table holds one election per job (the lock value is the job), and an index
 * on (host_name, job): the article's `WHERE host_name = …` has none, and without it every election
 * would scan and lock the whole table, which would handicap the peer. The article's watcher of
 * master heartbeats runs outside the election and is not modelled (nothing crashes here).
 */
import { LeaseStoreError } from '../../src/errors.js';
import { quoteTable } from '../../src/lease/names.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';

export function seedBPeer(table = 'bench_seed_b'): Peer {
  const t = quoteTable(table);
  const register = `INSERT INTO ${t} (job, host_name, ip, is_master, status, master_lock) VALUES (:job, :host, '127.0.0.1', 0, 'SLAVE', :slave_lock)`;
  const setMaster = `UPDATE ${t} SET is_master = 1, master_lock = :job, status = 'MASTER', heartbeat = CURRENT_TIMESTAMP, gmt_modify = CURRENT_TIMESTAMP WHERE host_name = :host AND job = :job`;
  const stepDown = `UPDATE ${t} SET is_master = 0, master_lock = :slave_lock, status = 'SLAVE', gmt_modify = CURRENT_TIMESTAMP WHERE host_name = :host AND job = :job`;
  return {
    name: 'seed B: unique-key update',
    transport: 'mysql2',
    async prepare(executor: SqlExecutor) {
      await executor.execute({
        sql: `CREATE TABLE IF NOT EXISTS ${t} (
  id INT(11) NOT NULL AUTO_INCREMENT,
  job VARCHAR(128) NOT NULL,
  host_name VARCHAR(128) NOT NULL,
  ip VARCHAR(16) NOT NULL,
  is_master INT(4) NOT NULL,
  status VARCHAR(32) NOT NULL,
  master_lock VARCHAR(128) NOT NULL,
  heartbeat TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  gmt_sql_server_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_modify TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_create TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uk_master (status, master_lock) USING BTREE,
  KEY idx_host_job (host_name, job)
) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
      });
    },
    invoker(env: InvokerEnv): Invoker {
      // Rows this environment registered at its start-up (its first invocation for the job).
      const registered = new Set<string>();
      return {
        async claim(job: string): Promise<Claim> {
          const params = { job, host: env.id, slave_lock: `${env.id}/${job}` };
          if (!registered.has(job)) {
            await env.executor.execute({ sql: register, params });
            registered.add(job);
          }
          try {
            await env.executor.execute({ sql: setMaster, params });
          } catch (error) {
            if (error instanceof LeaseStoreError && error.code === 'ER_DUP_ENTRY') return LOST;
            throw error;
          }
          return {
            won: true,
            async release() {
              await env.executor.execute({ sql: stepDown, params });
            },
          };
        },
      };
    },
  };
}
