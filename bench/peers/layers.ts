/**
 * lease-guard cut at each layer between the executor and the middleware, for bench/layers.ts: the
 * claim statement and release sent through the executor (no store), the store's claim inside
 * `claimWithRetry` (deadline and retry), and the guard (holder, tick, decision, observer) without
 * middy. With the store peer (store.ts) and the middleware peer (lease-guard.ts) they show which
 * layer costs what on one hot job.
 */
import { DEFAULTS } from '../../src/constants.js';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import { createEngine } from '../../src/guard/engine.js';
import { ExecutionModel } from '../../src/guard/execution.js';
import type { LeaseGuardLogger, LeaseGuardMetrics } from '../../src/guard/observe.js';
import { parseLeaseGuardOptions } from '../../src/guard/options.js';
import { claimWithRetry } from '../../src/lease/claim-with-retry.js';
import { migrate } from '../../src/lease/schema.js';
import { CLAIM_SCALE, claimSql, releaseSuccessSql } from '../../src/lease/sql.js';
import { toSqlTime } from '../../src/lease/time.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';
import { storePeer } from './store.js';

const LEASE_MS = 60_000;

/**
 * The claim statement the store sends over mysql2 (or, `general`, the text for any executor) and
 * the success release, through the executor.
 */
export function executorClaimPeer(table: string, general = false): Peer {
  const claim = general ? claimSql(table) : claimSql(table, { cluster: false, owner: false });
  const release = releaseSuccessSql(table);
  return {
    name: `claim statement through the executor${general ? ' (general text)' : ''}`,
    transport: 'mysql2',
    async prepare(executor: SqlExecutor, jobs: readonly string[]) {
      await migrate(executor, table);
      for (const job of jobs) {
        await executor.execute({
          sql: `INSERT IGNORE INTO \`${table}\` (job, created_at) VALUES (:job, UTC_TIMESTAMP(6))`,
          params: { job },
        });
      }
    },
    invoker(env: InvokerEnv): Invoker {
      let attempt = 0;
      return {
        async claim(job: string, tick: Date): Promise<Claim> {
          const holder = `${env.id}/${++attempt}`;
          const params = {
            job,
            holder,
            invocation: null,
            lease_us: LEASE_MS * 1000,
            tick: toSqlTime(tick),
            max_age_us: 3_600_000_000,
            max_ahead_us: 300_000_000,
            // Read only by the general text.
            owner: null,
            failover_us: 0,
            quarantine_us: 0,
            cluster: null,
          };
          const answer = Number((await env.executor.execute({ sql: claim, params })).insertId);
          if (answer === 0 || answer % CLAIM_SCALE !== 0) return LOST;
          return {
            won: true,
            async release() {
              const fence = answer / CLAIM_SCALE;
              await env.executor.execute({ sql: release, params: { job, holder, fence, min_hold_us: 0 } });
            },
          };
        },
      };
    },
  };
}

/** The middleware's retry policy (its defaults); the budget is the guard's for a 60 s function. */
const RETRY = { ...DEFAULTS.retry, budgetMs: 10_000 };

/** The store's claim inside `claimWithRetry`: a deadline per attempt, retries for transient errors. */
export function retryPeer(table: string): Peer {
  return storePeer(table, {
    name: 'store.claim in claimWithRetry',
    claim: async (store, request) => {
      const outcome = await claimWithRetry(store, request, RETRY);
      return outcome.kind === 'decided' ? outcome.result : undefined;
    },
  });
}

// Serialised like Powertools' JSON lines, then dropped, as the middleware peer does.
const sink = (line: unknown): void => {
  JSON.stringify(line);
};
const logger: LeaseGuardLogger = { info: sink, warn: sink, error: sink };
const metrics: LeaseGuardMetrics = { singleMetric: () => ({ addDimension: sink, addMetric: sink }) };

/** The guard the middleware runs (claim, then finish), called without middy. */
export function guardPeer(table: string): Peer {
  return {
    name: 'guard (no middy)',
    transport: 'mysql2',
    async prepare(executor: SqlExecutor) {
      await migrate(executor, table);
    },
    invoker(env: InvokerEnv): Invoker {
      const guards = new Map<string, ReturnType<typeof createEngine>>();
      return {
        async claim(job: string, tick: Date): Promise<Claim> {
          let guard = guards.get(job);
          if (!guard) {
            guard = createEngine(parseLeaseGuardOptions({ job, table, executor: env.executor, logger, metrics }), {
              model: ExecutionModel.LAMBDA,
            });
            guards.set(job, guard);
          }
          const context = fleetLambdaContext({
            functionName: `bench-${job}`,
            region: 'us-east-1',
            requestId: crypto.randomUUID(),
            timeoutMs: LEASE_MS,
          });
          const decision = await guard.begin({ event: { scheduledTime: tick.toISOString() }, context });
          if (!('run' in decision)) return LOST;
          const { run } = decision;
          return {
            won: true,
            async release() {
              await run.settle({ ok: true });
            },
          };
        },
      };
    },
  };
}
