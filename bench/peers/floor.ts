/**
 * The floor: the least a lease can cost on this engine. A raw conditional UPDATE that matches only
 * a free lease (`WHERE name = ? AND until <= now`), released by its holder, sent with `?`
 * placeholders on a plain mysql2 connection per environment (no pool, no executor, no checks).
 * It answers nothing but "won" or "not": no tick ledger, no reason, no fence.
 *
 * Its twins, for the attribution: `matched` matches the row for every attempt and tells the winner
 * by LAST_INSERT_ID, changing nothing for a loser (what answering every loser in its one round trip
 * costs, without lease-guard's checks); `loser-writes` also bumps a column on every attempt (what a
 * loser's write costs). Statements go as prepared statements, the cheapest way mysql2 sends them.
 */
import { quoteTable } from '../../src/lease/names.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';
import { plainConnections } from './plain-connection.js';

const NOW = 'UTC_TIMESTAMP(6)';

export interface FloorPeer extends Peer {
  /** Closes the environments' connections. */
  close(): Promise<void>;
}

export type FloorMode = 'conditional' | 'matched' | 'loser-writes';

const NAMES: Record<FloorMode, string> = {
  conditional: 'floor (raw conditional UPDATE)',
  matched: 'floor, matching every attempt (loser writes nothing)',
  'loser-writes': 'floor + a column every loser writes',
};

export function floorPeer(url: string, mode: FloorMode = 'conditional'): FloorPeer {
  const writes = mode !== 'conditional';
  const t = quoteTable(`bench_floor_${mode.replace('-', '_')}`);
  const attempts = mode === 'loser-writes' ? 'attempts + 1' : 'attempts';
  const claim = writes
    ? `UPDATE ${t} SET attempts = IF(LAST_INSERT_ID(IF(until <= ${NOW}, 2, 1)) = 2, attempts + 1, ${attempts}),
  holder = IF(LAST_INSERT_ID() = 2, ?, holder), until = IF(LAST_INSERT_ID() = 2, ${NOW} + INTERVAL 30 SECOND, until) WHERE name = ?`
    : `UPDATE ${t} SET holder = ?, until = ${NOW} + INTERVAL 30 SECOND WHERE name = ? AND until <= ${NOW}`;
  const release = `UPDATE ${t} SET until = ${NOW}, holder = NULL WHERE name = ? AND holder = ?`;
  const connections = plainConnections(url);
  return {
    name: NAMES[mode],
    transport: 'mysql2',
    async prepare(executor: SqlExecutor, jobs: readonly string[]) {
      await executor.execute({
        sql: `CREATE TABLE IF NOT EXISTS ${t} (name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(255) NULL,
  until DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00', attempts BIGINT UNSIGNED NOT NULL DEFAULT 0)`,
      });
      for (const name of jobs) {
        await executor.execute({ sql: `INSERT IGNORE INTO ${t} (name) VALUES (:name)`, params: { name } });
      }
    },
    invoker(env: InvokerEnv): Invoker {
      const connection = connections.lazy();
      return {
        async claim(name: string): Promise<Claim> {
          const c = await connection();
          const result = await c.execute(claim, [env.id, name]);
          const won = writes ? Number(result.insertId) === 2 : result.affectedRows > 0;
          if (!won) return LOST;
          return {
            won: true,
            async release() {
              await c.execute(release, [name, env.id]);
            },
          };
        },
      };
    },
    async close() {
      await connections.endAll();
    },
  };
}
