/**
 * ShedLock's JDBC lock provider on MySQL with `usingDbTime()` (the README's advice), ported from
 * `StorageBasedLockProvider` and `MySqlServerTimeStatementsSource`: the first attempt in a process
 * inserts the row (`INSERT IGNORE`; one inserted row means the lock is ours), then remembers the
 * name, and every later attempt is only the conditional UPDATE `WHERE lock_until <= now`. Unlock
 * keeps the lock until `locked_at + lockAtLeastFor` (0 by default). Times are the database's.
 *
 * Not counted: ShedLock runs each statement in its own REQUIRES_NEW transaction, which costs JDBC
 * round trips of its own; this port runs them in autocommit, which favours it.
 */
import { quoteTable } from '../../src/lease/names.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';

export interface ShedLockOptions {
  readonly table?: string;
  /** `lockAtMostFor`: the safety net for a holder that never unlocks. */
  readonly lockAtMostForMs?: number;
  /** `lockAtLeastFor`: unlock never frees the lock sooner than this after `locked_at`. */
  readonly lockAtLeastForMs?: number;
}

const NOW = 'UTC_TIMESTAMP(3)';
const LOCK_AT_MOST_FOR = `TIMESTAMPADD(MICROSECOND, :lockAtMostForMicros, ${NOW})`;
const LOCK_AT_LEAST_FOR = 'TIMESTAMPADD(MICROSECOND, :lockAtLeastForMicros, locked_at)';

export function shedLockPeer(options: ShedLockOptions = {}): Peer {
  const t = quoteTable(options.table ?? 'bench_shedlock');
  const atLeastMs = options.lockAtLeastForMs ?? 0;
  const insert = `INSERT IGNORE INTO ${t}(name, lock_until, locked_at, locked_by) VALUES(:name, ${LOCK_AT_MOST_FOR}, ${NOW}, :lockedBy)`;
  const update = `UPDATE ${t} SET lock_until = ${LOCK_AT_MOST_FOR}, locked_at = ${NOW}, locked_by = :lockedBy WHERE name = :name AND lock_until <= ${NOW}`;
  const unlock = `UPDATE ${t} SET lock_until = IF (${LOCK_AT_LEAST_FOR} > ${NOW} , ${LOCK_AT_LEAST_FOR}, ${NOW}) WHERE name = :name AND locked_by = :lockedBy`;
  return {
    name: atLeastMs > 0 ? `ShedLock (lockAtLeastFor ${atLeastMs} ms)` : 'ShedLock (DB time)',
    transport: 'mysql2',
    async prepare(executor: SqlExecutor) {
      // The README's MySQL table.
      await executor.execute({
        sql: `CREATE TABLE IF NOT EXISTS ${t}(name VARCHAR(64) NOT NULL, lock_until TIMESTAMP(3) NOT NULL,
  locked_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), locked_by VARCHAR(255) NOT NULL, PRIMARY KEY (name))`,
      });
    },
    invoker(env: InvokerEnv): Invoker {
      // LockRecordRegistry: names whose row this process inserted or found.
      const known = new Set<string>();
      const params = (name: string) => ({
        name,
        lockedBy: env.id,
        lockAtMostForMicros: (options.lockAtMostForMs ?? 600_000) * 1000,
        lockAtLeastForMicros: atLeastMs * 1000,
      });
      const held = (name: string): Claim => ({
        won: true,
        async release() {
          await env.executor.execute({ sql: unlock, params: params(name) });
        },
      });
      return {
        async claim(name: string): Promise<Claim> {
          if (!known.has(name)) {
            const inserted = await env.executor.execute({ sql: insert, params: params(name) });
            known.add(name);
            if (inserted.affectedRows > 0) return held(name);
          }
          try {
            const updated = await env.executor.execute({ sql: update, params: params(name) });
            return updated.affectedRows > 0 ? held(name) : LOST;
          } catch (error) {
            // As ShedLock does: forget the name, so the next attempt inserts again.
            known.delete(name);
            throw error;
          }
        },
      };
    },
  };
}
