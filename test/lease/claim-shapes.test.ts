/**
 * The claim texts the store specialises (no `:cluster` where the executor binds none, no affinity
 * for a claim without an owner) against the general text, on real MariaDB: for every row state and
 * request below, both texts give the same answer, the same row count and the same row afterwards,
 * with SET evaluated left to right and against the old row (SIMULTANEOUS_ASSIGNMENT), and with
 * the driver counting matched rows and changed rows. The database clock is stopped, so the two
 * claims of a pair see the same instant and the rows compare exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/lease/schema.js';
import { CLAIM_SCALE, type ClaimShape, claimSql, GENERAL_CLAIM, REISSUE } from '../../src/lease/sql.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor, SqlStatement, SqlValue } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';

const TABLE = 'lease_guard';
const NOW = '2026-11-30 12:00:00.123400';
const at = (seconds: number): string => `TIMESTAMPADD(SECOND, ${seconds}, '${NOW}')`;
const MINUTE = 60;
const FENCE = 41;

const NO_CLUSTER: ClaimShape = { cluster: false, owner: true };
const NO_CLUSTER_NO_OWNER: ClaimShape = { cluster: false, owner: false };

/** Row states, as column values (SQL expressions) over the stopped clock. */
interface RowState {
  readonly holder: string;
  readonly lease_until: string;
  readonly quarantine_until: string;
  readonly tick_done: string;
  readonly owner: string;
  readonly owner_seen: string;
  readonly cluster: string;
}

const HOLDER = 'east:fn/inv-1';
const INVOCATION = 'inv-1';
const TICK_OK = -10 * MINUTE;

function rowStates(): RowState[] {
  const leases = [
    ['NULL', at(-MINUTE)],
    [`'other/inv-9'`, at(-MINUTE)],
    [`'other/inv-9'`, at(MINUTE)],
    [`'${HOLDER}'`, at(MINUTE)], // the same holder re-issues its live claim
    [`'${HOLDER}'`, at(-MINUTE)],
    [`'west:fn/${INVOCATION}'`, at(MINUTE)], // another attempt of the same invocation
  ];
  const quarantines = ['NULL', at(-MINUTE), at(MINUTE)];
  const ticksDone = ['NULL', at(TICK_OK)];
  const owners = [
    ['NULL', 'NULL'],
    [`'east'`, at(-MINUTE)],
    [`'west'`, at(-MINUTE)],
    [`'west'`, at(-60 * MINUTE)], // past failoverAfter: the owner may be taken over
  ];
  const clusters = ['NULL', `'arn:aws:rds:us-east-1:123456789012:cluster:a'`];
  const states: RowState[] = [];
  for (const [holder, lease_until] of leases)
    for (const quarantine_until of quarantines)
      for (const tick_done of ticksDone)
        for (const [owner, owner_seen] of owners)
          for (const cluster of clusters)
            states.push({
              holder: holder as string,
              lease_until: lease_until as string,
              quarantine_until,
              tick_done,
              owner: owner as string,
              owner_seen: owner_seen as string,
              cluster,
            });
  return states;
}

/** Requests a text of this shape is sent with (the store never sends an owner to an owner-less text). */
function requests(owners: readonly (string | null)[]): Record<string, SqlValue>[] {
  const ticks = [null, TICK_OK, -2 * 60 * MINUTE, 10 * MINUTE]; // none, in the window, too old, too far ahead
  const out: Record<string, SqlValue>[] = [];
  for (const tick of ticks)
    for (const invocation of [null, INVOCATION])
      for (const owner of owners)
        out.push({
          holder: HOLDER,
          invocation,
          lease_us: 60_000_000,
          tick: tick === null ? null : shifted(tick),
          max_age_us: 3_600_000_000,
          max_ahead_us: 300_000_000,
          owner,
          failover_us: 600_000_000,
          quarantine_us: 60_000_000,
          cluster: null,
        });
  return out;
}

function shifted(seconds: number): string {
  const ms = Date.parse(`${NOW.replace(' ', 'T')}Z`) + seconds * 1000;
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 23)}400`;
}

interface Mode {
  readonly name: string;
  readonly foundRows: boolean;
  readonly simultaneous: boolean;
}

// Each SET order and each row count once: the count either way follows from the row before and
// after (matched: it exists; changed: it differs), which the comparison checks too.
const MODES: Mode[] = [
  { name: 'left to right, matched rows', foundRows: true, simultaneous: false },
  { name: 'SIMULTANEOUS_ASSIGNMENT, changed rows', foundRows: false, simultaneous: true },
];

async function openMode(url: string, mode: Mode): Promise<SqlExecutor> {
  return createMysql2Executor({
    url,
    foundRows: mode.foundRows,
    connectionLimit: 1,
    sessionStatements: [
      `SET timestamp = UNIX_TIMESTAMP('${NOW}')`,
      ...(mode.simultaneous ? ["SET SESSION sql_mode = CONCAT(@@sql_mode, ',SIMULTANEOUS_ASSIGNMENT')"] : []),
    ],
  });
}

interface Comparison {
  readonly cases: number;
  /** The general text's answers: a refusal's code, or 0 for a win (each must come up). */
  readonly verdicts: ReadonlySet<number>;
  readonly divergences: readonly string[];
}

let sequence = 0;

/**
 * Sends `general` and `specialised` to twin rows in each state, with each request, and lists every
 * case where the answer, the row count or the row afterwards differ. A missing row is a case too.
 */
async function compare(
  executor: SqlExecutor,
  specialised: string,
  owners: readonly (string | null)[],
): Promise<Comparison> {
  const general = claimSql(TABLE, GENERAL_CLAIM);
  const cases: { job: string; state: RowState | undefined; request: Record<string, SqlValue> }[] = [];
  const prefix = `c${++sequence}`;
  const states: (RowState | undefined)[] = [...rowStates(), undefined];
  for (const [s, state] of states.entries())
    for (const [r, request] of requests(owners).entries()) cases.push({ job: `${prefix}-${s}-${r}`, state, request });
  const values = cases.flatMap(({ job, state }) =>
    state === undefined
      ? []
      : (['g', 's'] as const).map(
          (twin) =>
            `('${job}-${twin}', ${state.holder}, ${FENCE}, ${state.lease_until}, ${at(-5 * MINUTE)}, ${at(-20 * MINUTE)}, ${state.tick_done}, ${state.owner}, ${state.owner_seen}, 3, 9, ${state.cluster}, ${state.quarantine_until}, '${NOW}')`,
        ),
  );
  await executor.execute({
    sql: `INSERT INTO ${TABLE} (job, holder, fence, lease_until, claimed_at, tick, tick_done, owner, owner_seen, runs, version, cluster, quarantine_until, created_at) VALUES ${values.join(',\n')}`,
  });
  const verdicts = new Set<number>();
  const divergences: string[] = [];
  for (const { job, state, request } of cases) {
    const g = await executor.execute({ sql: general, params: { ...request, job: `${job}-g` } });
    const s = await executor.execute({ sql: specialised, params: { ...request, job: `${job}-s` } });
    // Every row starts at fence FENCE: a re-issue answers with it, a new holder with the next.
    const answer = Number(g.insertId);
    if (answer % CLAIM_SCALE !== 0) verdicts.add(answer % CLAIM_SCALE);
    else if (answer > 0) verdicts.add(answer === FENCE * CLAIM_SCALE ? REISSUE : 0);
    if (g.insertId !== s.insertId || g.affectedRows !== s.affectedRows) {
      divergences.push(
        `${JSON.stringify({ state, request })}: answer ${g.insertId}/${s.insertId}, rows ${g.affectedRows}/${s.affectedRows}`,
      );
    }
  }
  const { rows } = await executor.execute({
    sql: `SELECT * FROM ${TABLE} WHERE job LIKE :prefix ORDER BY job`,
    params: { prefix: `${prefix}-%` },
  });
  const byJob = new Map(rows.map(({ job, ...rest }) => [String(job), JSON.stringify(rest)]));
  for (const { job, state, request } of cases) {
    if (state === undefined) continue;
    const g = byJob.get(`${job}-g`);
    const s = byJob.get(`${job}-s`);
    if (g !== s) divergences.push(`${JSON.stringify({ state, request })}: row ${g} / ${s}`);
  }
  return { cases: cases.length, verdicts, divergences };
}

describe.each(MODES)('the specialised claim texts against the general one ($name)', (mode) => {
  let executor: SqlExecutor;

  beforeAll(async () => {
    executor = await openMode(await freshDatabase('claim_shapes'), mode);
    const { rows } = await executor.execute({ sql: 'SELECT VERSION() AS version' });
    // SIMULTANEOUS_ASSIGNMENT is MariaDB's; the suite's server is MariaDB.
    expect(String(rows[0]?.version)).toMatch(/mariadb/i);
    await migrate(executor, TABLE);
  });
  afterAll(() => executor.close());

  it('without the cluster: the same answer and row for every state, for claims with an owner', async () => {
    const result = await compare(executor, claimSql(TABLE, NO_CLUSTER), ['east']);
    expect(result.divergences).toEqual([]);
    // Every verdict came up, so the states reach every branch the texts differ around.
    expect([...result.verdicts].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('without the cluster and affinity: the same answer and row for every state, for claims without an owner', async () => {
    const result = await compare(executor, claimSql(TABLE, NO_CLUSTER_NO_OWNER), [null]);
    expect(result.divergences).toEqual([]);
    expect([...result.verdicts].sort()).toEqual([0, 1, 2, 3, 4, 6, 7, 8]);
  });
});

describe('the comparison (NEGATIVE CONTROL)', () => {
  let executor: SqlExecutor;

  beforeAll(async () => {
    executor = await openMode(await freshDatabase('claim_shapes_control'), MODES[0] as Mode);
    await migrate(executor, TABLE);
  });
  afterAll(() => executor.close());

  it('tells a text apart that leaves out the quarantine check, or is sent an owner', async () => {
    const withoutQuarantine = claimSql(TABLE, NO_CLUSTER_NO_OWNER).replace(
      'WHEN quarantine_until > UTC_TIMESTAMP(6) THEN 8',
      '',
    );
    expect(withoutQuarantine).not.toBe(claimSql(TABLE, NO_CLUSTER_NO_OWNER));
    const quarantine = await compare(executor, withoutQuarantine, [null]);
    expect(quarantine.divergences.length).toBeGreaterThan(0);
    expect(quarantine.divergences.every((d) => d.includes(`"quarantine_until":"${at(MINUTE)}"`))).toBe(true);
    // The owner-less text with an owner: affinity would be ignored, which is why the store picks by owner.
    const owner = await compare(executor, claimSql(TABLE, NO_CLUSTER_NO_OWNER), ['east']);
    expect(owner.divergences.length).toBeGreaterThan(0);
  });
});

describe('the claim text the store sends', () => {
  let executor: SqlExecutor;

  beforeAll(async () => {
    executor = createMysql2Executor({ url: await freshDatabase('claim_shapes_store') });
    await migrate(executor, TABLE);
  });
  afterAll(() => executor.close());

  /** The claim texts a store over `inner` (declaring `binds` or not) sends, for a claim without and with an owner. */
  async function sent(binds: readonly string[] | undefined): Promise<string[]> {
    const texts: string[] = [];
    const recording: SqlExecutor = {
      execute(statement: SqlStatement, options) {
        if (statement.sql.startsWith(`UPDATE \`${TABLE}\` SET\n  runs =`)) texts.push(statement.sql);
        return executor.execute(statement, options);
      },
      close: async () => {},
      ...(binds === undefined ? {} : { binds }),
    };
    const store = createSqlLeaseStore({ executor: recording, table: TABLE });
    const job = `store-${++sequence}`;
    expect((await store.claim({ job, holder: 'a', leaseMs: 60_000 })).acquired).toBe(true);
    expect((await store.claim({ job, holder: 'b', leaseMs: 60_000, owner: 'east' })).acquired).toBe(false);
    return texts;
  }

  it('leaves out the cluster where the executor binds nothing, and affinity for a claim without an owner', async () => {
    // The first claim heals the missing row: the owner-less text twice, then the one with an owner.
    expect(await sent([])).toEqual([
      claimSql(TABLE, NO_CLUSTER_NO_OWNER),
      claimSql(TABLE, NO_CLUSTER_NO_OWNER),
      claimSql(TABLE, NO_CLUSTER),
    ]);
    expect(executor.binds).toEqual([]);
  });

  it('keeps the cluster where the executor binds it, and sends the general text where it does not say', async () => {
    const cluster = await sent(['cluster']);
    expect(cluster.every((text) => text.includes(':cluster'))).toBe(true);
    expect(cluster.at(-1)).toBe(claimSql(TABLE, GENERAL_CLAIM));
    expect(await sent(undefined)).toEqual(Array(3).fill(claimSql(TABLE, GENERAL_CLAIM)));
  });
});
