/**
 * lease-guard's statements without lease-guard's client: a claim statement and the success
 * release sent on a plain mysql2 connection per environment (named placeholders, prepared, no
 * pool, no executor, no validation). Against the floor it shows what the statement itself costs; against
 * the store and the middleware, what the client path adds. `claimSql` picks the statement, so the
 * one from before issue 12 can be measured beside today's.
 */
import { migrate } from '../../src/lease/schema.js';
import { CLAIM_SCALE, claimSql, releaseSuccessSql } from '../../src/lease/sql.js';
import { toSqlTime } from '../../src/lease/time.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';
import { plainConnections } from './plain-connection.js';

export interface RawClaimPeer extends Peer {
  close(): Promise<void>;
}

/** A claim statement to measure. */
export interface RawClaimStatement {
  readonly sql: (table: string) => string;
  /** Its answer is `fence × scale` for a win, a code below it for a loss. @default CLAIM_SCALE */
  readonly scale?: number;
  /** Columns it writes that today's table no longer has, as `name TYPE`, added to the freshly migrated table. */
  readonly columns?: readonly string[];
}

/** The claim the store sends over the mysql2 executor (it binds no `:cluster`) for a claim without an owner. */
export const STORE_CLAIM_OVER_MYSQL2: RawClaimStatement = {
  sql: (table) => claimSql(table, { cluster: false, owner: false }),
};

export function rawClaimPeer(name: string, url: string, table: string, statement: RawClaimStatement): RawClaimPeer {
  const claim = statement.sql(table);
  const scale = statement.scale ?? CLAIM_SCALE;
  const release = releaseSuccessSql(table);
  const connections = plainConnections(url);
  return {
    name,
    transport: 'mysql2',
    async prepare(executor: SqlExecutor, jobs: readonly string[]) {
      await migrate(executor, table);
      for (const column of statement.columns ?? []) {
        await executor.execute({ sql: `ALTER TABLE \`${table}\` ADD COLUMN ${column}` });
      }
      for (const job of jobs) {
        await executor.execute({
          sql: `INSERT IGNORE INTO \`${table}\` (job, created_at) VALUES (:job, UTC_TIMESTAMP(6))`,
          params: { job },
        });
      }
    },
    invoker(env: InvokerEnv): Invoker {
      const connection = connections.lazy();
      let attempt = 0;
      return {
        async claim(job: string, tick: Date): Promise<Claim> {
          const c = await connection();
          const holder = `${env.id}/${++attempt}`;
          const params = {
            job,
            holder,
            invocation: null,
            lease_us: 60_000_000,
            tick: toSqlTime(tick),
            max_age_us: 3_600_000_000,
            max_ahead_us: 30_000_000,
            owner: null,
            failover_us: 0,
            quarantine_us: 0,
            cluster: null,
          };
          const result = await c.execute(claim, params);
          const answer = Number(result.insertId);
          if (answer === 0 || answer % scale !== 0) return LOST;
          return {
            won: true,
            async release() {
              await c.execute(release, { job, holder, fence: answer / scale, min_hold_us: 0 });
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
