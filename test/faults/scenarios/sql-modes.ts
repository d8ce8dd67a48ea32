/**
 * F12, driver and server semantics: the same sequence of claims, re-issues, releases, a renewal
 * and a takeover after expiry, run through the real store over mysql2 with matched or changed
 * rows, a UTC or non-UTC session, and MariaDB's SIMULTANEOUS_ASSIGNMENT on or off. Every setting
 * must give the outcomes the protocol documents (written out below, not taken from the first
 * setting, so a claim broken the same way in every mode fails too), and every won claim's fence
 * must be the fence stored.
 */
import type { ClaimResult } from '../../../src/lease/lease-store.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../../src/sql/executor.js';
import { createMysql2Executor } from '../../../src/sql/mysql2-executor.js';
import { until } from '../../support/until.js';
import type { FaultViolation, Scenario, ScenarioContext } from '../scenario.js';

interface Setting {
  readonly foundRows: boolean;
  readonly timeZone: string;
  readonly simultaneousAssignment: boolean;
}

const SETTINGS: readonly Setting[] = [false, true].flatMap((simultaneousAssignment) =>
  [true, false].flatMap((foundRows) =>
    ['+00:00', '+05:30'].map((timeZone) => ({ foundRows, timeZone, simultaneousAssignment })),
  ),
);

function describe(setting: Setting): string {
  return `${setting.foundRows ? 'matched' : 'changed'} rows, zone ${setting.timeZone}, SIMULTANEOUS_ASSIGNMENT ${setting.simultaneousAssignment ? 'on' : 'off'}`;
}

/** The mysql2 executor on one connection whose session gets the setting's sql_mode before its first statement. */
function executorFor(context: ScenarioContext, setting: Setting): SqlExecutor {
  const inner = createMysql2Executor({
    url: context.environment.mysqlUrl,
    foundRows: setting.foundRows,
    sessionTimeZone: setting.timeZone,
    connectionLimit: 1,
  });
  let ready: Promise<unknown> | undefined;
  return {
    async execute(statement, options) {
      ready ??= setting.simultaneousAssignment
        ? inner.execute({ sql: "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',SIMULTANEOUS_ASSIGNMENT')" })
        : Promise.resolve();
      await ready;
      return inner.execute(statement, options);
    },
    close: () => inner.close(),
  };
}

/** What the sequence below must see, step by step, in every setting. */
const EXPECTED: readonly string[] = [
  'a: fence 1',
  'b: held',
  'a released: true',
  'c: tick-done',
  'd: fence 2',
  'd: fence 2',
  'd failed: true',
  'e: fence 3',
  'e renewed: true',
  'f: fence 4',
];

/** The sequence; each step says what it saw, and a won claim whose stored fence differs says so too. */
async function sequence(
  executor: SqlExecutor,
  table: string,
  job: string,
  now: Date,
  counts: { claims: number },
): Promise<string[]> {
  const store = createSqlLeaseStore({ executor, table });
  const tick = (n: number): Date => new Date(now.getTime() + n * 1000);
  const seen: string[] = [];
  async function claim(holder: string, n: number, leaseMs = 30_000): Promise<ClaimResult> {
    counts.claims++;
    const result = await store.claim({ job, holder, tick: tick(n), leaseMs });
    if (!result.acquired) {
      seen.push(`${holder}: ${result.reason}`);
      return result;
    }
    const state = await store.inspect(job);
    const stored =
      state?.holder === holder && state.fence === result.fence
        ? ''
        : ` (stored ${state?.holder} with fence ${state?.fence})`;
    seen.push(`${holder}: fence ${result.fence}${stored}`);
    return result;
  }
  const a = await claim('a', 1);
  await claim('b', 1);
  if (a.acquired)
    seen.push(`a released: ${await store.release({ job, holder: 'a', fence: a.fence, outcome: 'success' })}`);
  await claim('c', 1);
  await claim('d', 2);
  const d = await claim('d', 2); // an ambiguous claim re-issued: same fence
  if (d.acquired)
    seen.push(`d failed: ${await store.release({ job, holder: 'd', fence: d.fence, outcome: 'failure', error: 'x' })}`);
  const e = await claim('e', 2);
  if (e.acquired) seen.push(`e renewed: ${await store.renew({ job, holder: 'e', fence: e.fence, leaseMs: 50 })}`);
  // e's 50 ms lease ends on the database clock.
  await until(async () => (await store.inspect(job))?.held === false, { what: `${job}'s renewed lease to end` });
  await claim('f', 3);
  return seen;
}

export const sqlModes: Scenario = {
  name: 'sql-modes',
  catalogue: 'F12 B8 T4',
  proves:
    'Matched or changed rows, a non-UTC session and MariaDB’s SIMULTANEOUS_ASSIGNMENT give the same claim outcomes and the stored fence; the SQL is order- and zone-independent.',
  async run(context) {
    const { environment } = context;
    const now = await environment.databaseNow();
    const { rows } = await environment.executor.execute({ sql: 'SELECT VERSION() AS version' });
    // SIMULTANEOUS_ASSIGNMENT is MariaDB's; MySQL (and so Aurora MySQL) always assigns left to right.
    const mariadb = /mariadb/i.test(String(rows[0]?.version));
    const settings = SETTINGS.filter((setting) => mariadb || !setting.simultaneousAssignment);
    const violations: FaultViolation[] = [];
    const counts = { claims: 0 };
    for (const [index, setting] of settings.entries()) {
      const job = `modes-${context.runId}-${index}`;
      const executor = executorFor(context, setting);
      try {
        const seen = await sequence(executor, environment.table, job, now, counts);
        if (setting.simultaneousAssignment) {
          const mode = await executor.execute({ sql: 'SELECT @@SESSION.sql_mode AS mode' });
          if (!String(mode.rows[0]?.mode).includes('SIMULTANEOUS_ASSIGNMENT')) {
            violations.push({
              invariant: 'not-exercised',
              job,
              message: `${describe(setting)}: the session lost the mode`,
            });
          }
        }
        const length = Math.max(seen.length, EXPECTED.length);
        const differs = Array.from({ length }, (_, at) => at).find((at) => seen[at] !== EXPECTED[at]);
        if (differs !== undefined) {
          violations.push({
            invariant: 'driver-semantics',
            job,
            message: `${describe(setting)}: step ${differs + 1} gave "${seen[differs] ?? '(nothing)'}" where the protocol gives "${EXPECTED[differs] ?? '(nothing)'}"`,
          });
        }
      } finally {
        await executor.close();
      }
    }
    return {
      faults: settings.length - 1,
      invocations: counts.claims,
      runs: 0,
      violations,
      notes: [
        `${settings.length} settings${mariadb ? '' : ' (MySQL: SIMULTANEOUS_ASSIGNMENT does not exist there)'}; expected: ${EXPECTED.join('; ')}`,
      ],
    };
  },
};
