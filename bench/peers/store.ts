/**
 * lease-guard's public store (createSqlLeaseStore) over the project's mysql2 executor, called
 * directly: the claim and the success release, without the middleware around them.
 */
import type { ClaimRequest, ClaimResult, LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer } from './peer.js';

/** How a peer's claim reaches the store; undefined: no decision (counted as lost). */
export type StoreClaim = (store: LeaseStore, request: ClaimRequest) => Promise<ClaimResult | undefined>;

export function storePeer(
  table: string,
  {
    name = 'lease-guard store (mysql2)',
    claim = (store, request) => store.claim(request),
  }: { name?: string; claim?: StoreClaim } = {},
): Peer {
  return {
    name,
    transport: 'mysql2',
    async prepare(executor: SqlExecutor) {
      await migrate(executor, table);
    },
    invoker(env: InvokerEnv): Invoker {
      const store = createSqlLeaseStore({ executor: env.executor, table });
      let attempt = 0;
      return {
        async claim(job: string, tick: Date): Promise<Claim> {
          const holder = `${env.id}/${++attempt}`;
          const result = await claim(store, { job, holder, leaseMs: 60_000, tick });
          if (!result?.acquired) return LOST;
          return {
            won: true,
            async release() {
              await store.release({ job, holder, fence: result.fence, outcome: 'success', tick });
            },
          };
        },
      };
    },
  };
}
