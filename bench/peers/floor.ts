/**
 * The floor: the least a lease can cost on this engine. A raw conditional UPDATE that matches only
 * a free lease (`WHERE name = ? AND until <= now`), released by its holder, sent with `?`
 * placeholders on a plain mysql2 connection per environment (no pool, no executor, no checks).
 * It answers nothing but "won" or "not": no tick ledger, no reason, no fence.
 *
 * `loserWrites` is the same loop with one column every attempt writes (`attempts + 1`), the winner
 * told by LAST_INSERT_ID: what a loser's write costs on its own, with nothing else changed.
 */
import mysql from 'mysql2/promise';
import { quoteTable } from '../../src/lease/names.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';

const NOW = 'UTC_TIMESTAMP(6)';

export interface FloorPeer extends Peer {
  /** Closes the environments' connections. */
  close(): Promise<void>;
}

export function floorPeer(url: string, options: { loserWrites?: boolean } = {}): FloorPeer {
  const writes = options.loserWrites === true;
  const t = quoteTable(writes ? 'bench_floor_loser_writes' : 'bench_floor');
  const claim = writes
    ? `UPDATE ${t} SET attempts = IF(LAST_INSERT_ID(IF(until <= ${NOW}, 2, 1)) > 0, attempts + 1, attempts),
  holder = IF(LAST_INSERT_ID() = 2, ?, holder), until = IF(LAST_INSERT_ID() = 2, ${NOW} + INTERVAL 30 SECOND, until) WHERE name = ?`
    : `UPDATE ${t} SET holder = ?, until = ${NOW} + INTERVAL 30 SECOND WHERE name = ? AND until <= ${NOW}`;
  const release = `UPDATE ${t} SET until = ${NOW}, holder = NULL WHERE name = ? AND holder = ?`;
  const connections: mysql.Connection[] = [];
  return {
    name: writes ? 'floor + a column every loser writes' : 'floor (raw conditional UPDATE)',
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
      let connecting: Promise<mysql.Connection> | undefined;
      const connection = (): Promise<mysql.Connection> => {
        connecting ??= mysql.createConnection({ uri: url }).then((c) => {
          connections.push(c);
          return c;
        });
        return connecting;
      };
      return {
        async claim(name: string): Promise<Claim> {
          const c = await connection();
          const [result] = await c.query<mysql.ResultSetHeader>(claim, [env.id, name]);
          const won = writes ? Number(result.insertId) === 2 : result.affectedRows > 0;
          if (!won) return LOST;
          return {
            won: true,
            async release() {
              await c.query(release, [name, env.id]);
            },
          };
        },
      };
    },
    async close() {
      await Promise.all(connections.splice(0).map((c) => c.end().catch(() => undefined)));
    },
  };
}
