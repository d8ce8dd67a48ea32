import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkipReason } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { DataApiSwitches } from '../../src/local/data-api/index.js';
import { createDataApiExecutor } from '../../src/sql/data-api-executor.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';
import { countingExecutor } from '../support/counting-executor.js';
import { describeLeaseStoreContract } from './lease-store.contract.js';

// The unknowns of the real service (data-api.md, Q1 and Q3), every combination: the protocol must
// give the same answers whether the Data API counts matched or changed rows, and whether it reports
// LAST_INSERT_ID(expr) of an UPDATE in generatedFields or not.
// Each rows-count setting has a test file of its own (data-api-*.test.ts), so they run in parallel.
export function describeDataApiContract(rowsCount: DataApiSwitches['rowsCount']): void {
  const combinations: readonly DataApiSwitches[] = [
    { rowsCount, generatedFieldsOnUpdate: 'jdbc' },
    { rowsCount, generatedFieldsOnUpdate: 'none' },
  ];
  for (const switches of combinations) {
    describeLeaseStoreContract(
      `Data API (rows ${switches.rowsCount}, generatedFields ${switches.generatedFieldsOnUpdate})`,
      async () => {
        const { local, executor, table } = await openStore(switches);
        return { store: createSqlLeaseStore({ executor, table }), executor, table, close: () => local.close() };
      },
      // A quarter of the full fuzz: the statements are the ones the mysql2 files fuzz at full size in
      // every SQL mode; over the Data API each claim costs a few ms of the SDK's and the server's CPU.
      { fuzzRunsPerWorker: 25 },
    );
  }
  describeRoundTrips(combinations);
}

function label(switches: DataApiSwitches): string {
  return `${switches.rowsCount}_${switches.generatedFieldsOnUpdate}`;
}

async function openStore(switches: DataApiSwitches) {
  const local = await startLocalDataApi(`contract_data_api_${label(switches)}`, switches);
  const executor = createDataApiExecutor({ client: local.client, database: local.database, ...LOCAL_ARNS });
  const table = `lease_guard_${label(switches)}`;
  await migrate(executor, table);
  return { local, executor, table };
}

/**
 * Statements per outcome, by the first word of each. A loser changes no column, so where the
 * service counts changed rows it counts none, reports no generatedFields, and the loser reads.
 */
function expectedRoundTrips(switches: DataApiSwitches) {
  if (switches.generatedFieldsOnUpdate === 'none') {
    return { winner: ['UPDATE', 'SELECT', 'UPDATE'], loser: ['UPDATE', 'SELECT'] };
  }
  return { winner: ['UPDATE', 'UPDATE'], loser: switches.rowsCount === 'matched' ? ['UPDATE'] : ['UPDATE', 'SELECT'] };
}

function describeRoundTrips(combinations: readonly DataApiSwitches[]): void {
  describe.each(combinations)(
    'round trips over the Data API (rows $rowsCount, generatedFields $generatedFieldsOnUpdate)',
    (switches) => {
      let local: LocalDataApi;
      let counted: ReturnType<typeof countingExecutor>;
      let table: string;

      beforeAll(async () => {
        const opened = await openStore(switches);
        local = opened.local;
        table = opened.table;
        counted = countingExecutor(opened.executor);
      });
      afterAll(() => local?.close());

      it('costs a winner its claim and release and a loser its claim (each plus a read where no generatedFields come back)', async () => {
        const store = createSqlLeaseStore({ executor: counted, table });
        const setup = await store.claim({ job: 'rt', holder: 'setup', leaseMs: 60_000 }); // creates the row
        if (!setup.acquired) throw new Error('setup claim lost');
        await store.release({ job: 'rt', holder: 'setup', fence: setup.fence, outcome: 'success' });

        counted.reset();
        const win = await store.claim({ job: 'rt', holder: 'w', leaseMs: 60_000 });
        if (!win.acquired) throw new Error('claim lost');
        expect(win.fence).toBe(setup.fence + 1);
        expect(await store.release({ job: 'rt', holder: 'w', fence: win.fence, outcome: 'success' })).toBe(true);
        const winner = [...counted.kinds];

        await store.claim({ job: 'rt', holder: 'holder', leaseMs: 60_000 });
        counted.reset();
        expect(await store.claim({ job: 'rt', holder: 'l', leaseMs: 60_000 })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
        const loser = [...counted.kinds];

        console.log(
          `round trips (rows ${switches.rowsCount}, generatedFields ${switches.generatedFieldsOnUpdate}): winner ${winner.length} [${winner.join(', ')}], loser ${loser.length} [${loser.join(', ')}]`,
        );
        expect({ winner, loser }).toEqual(expectedRoundTrips(switches));
      });
    },
  );
}
