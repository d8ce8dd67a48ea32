import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';
import { cli } from '../support/cli.js';

const MINUTE = 60_000;

/** Issue 22, "The CLI at 3 a.m.": status and the connection settings. */
describe('lease-guard status at 3 a.m.', () => {
  let local: LocalDataApi;
  let url: string;
  let executor: SqlExecutor;
  let store: LeaseStore;

  beforeAll(async () => {
    local = await startLocalDataApi('cli_status');
    url = local.mysqlUrl;
    expect((await cli('migrate', '--mysql-url', url)).code).toBe(0);
    executor = createMysql2Executor({ url });
    store = createSqlLeaseStore({ executor });
    // A per-tick job that completed a tick 10 minutes ago, a lease-only job that ran and finished,
    // and a job running now with a long holder and an error from an earlier run.
    const tick = new Date(Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE);
    const ticked = await store.claim({ job: 'send-invoices', holder: 'inv-1', leaseMs: MINUTE, tick });
    if (!ticked.acquired) throw new Error('claim lost');
    await store.release({ job: 'send-invoices', holder: 'inv-1', fence: ticked.fence, outcome: 'success', tick });
    const leaseOnly = await store.claim({ job: 'compact-logs', holder: 'compact-1', leaseMs: MINUTE });
    if (!leaseOnly.acquired) throw new Error('claim lost');
    await store.release({ job: 'compact-logs', holder: 'compact-1', fence: leaseOnly.fence, outcome: 'success' });
    const failed = await store.claim({ job: 'rotate-keys', holder: 'rotate-1', leaseMs: MINUTE });
    if (!failed.acquired) throw new Error('claim lost');
    await store.release({
      job: 'rotate-keys',
      holder: 'rotate-1',
      fence: failed.fence,
      outcome: 'failure',
      error: 'Error: the key service answered 503 Service Unavailable after three attempts',
    });
    const holder = 'c0ffee0c0ffee/ap-southeast-2/rotate-keys/11111111-2222-3333-4444-555555555555';
    expect((await store.claim({ job: 'rotate-keys', holder, leaseMs: MINUTE })).acquired).toBe(true);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    local.server.faults.clear();
  });
  afterAll(async () => {
    await executor.close();
    await local.close();
  });

  /** Sets stdout's width for the in-process CLI, as a terminal of that size would. */
  async function inTerminal<T>(columns: number | undefined, run: () => Promise<T>): Promise<T> {
    const own = Object.getOwnPropertyDescriptor(process.stdout, 'columns');
    Object.defineProperty(process.stdout, 'columns', { value: columns, configurable: true });
    try {
      return await run();
    } finally {
      if (own) Object.defineProperty(process.stdout, 'columns', own);
      else delete (process.stdout as { columns?: number }).columns;
    }
  }

  it('fits an 80-column terminal, and keeps the table where it fits or where stdout is not a terminal', async () => {
    const narrow = await inTerminal(80, () => cli('status', '--mysql-url', url));
    expect(narrow.code).toBe(0);
    const lines = narrow.out.trimEnd().split('\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(80);
    // Every job, every value, nothing cut: the holder's pieces join back into the whole holder.
    const block = narrow.out.split('\n\n').find((text) => text.startsWith('rotate-keys')) ?? '';
    const holder = block
      .split('\n')
      .filter(
        (line, index, all) => index > 0 && (line.startsWith('  holder') || all[index - 1]?.startsWith('  holder')),
      )
      .map((line) => line.slice(14))
      .join('');
    expect(holder).toBe('c0ffee0c0ffee/ap-southeast-2/rotate-keys/11111111-2222-3333-4444-555555555555');
    expect(block).toMatch(/^ {2}last error {2}\d+m?s ago: Error: the key service answered 503/m);
    expect(narrow.out).toMatch(/^compact-logs\n(.*\n)* {2}fence {7}1\n/m);

    const wide = await inTerminal(300, () => cli('status', '--mysql-url', url));
    expect(wide.out).toMatch(/^┌/);
    const piped = await inTerminal(undefined, () => cli('status', '--mysql-url', url));
    // Times differ between the two calls, and so may the padding after them: compare the layout
    // with every duration and run of spaces made the same.
    const times = (text: string): string =>
      text
        .replace(/\d+m?s ago/g, 'N ago')
        .replace(/ +/g, ' ')
        .replace(/─+/g, '─');
    expect(times(piped.out)).toBe(times(wide.out));
    expect(piped.out).toMatch(/^┌/);
  });

  it('says something true of a lease-only job that ran, and does not count the run in progress as done', async () => {
    const { out } = await inTerminal(80, () => cli('status', '--mysql-url', url));
    const block = (name: string): string => out.split('\n\n').find((text) => text.startsWith(name)) ?? '';
    expect(block('compact-logs')).toMatch(/last tick {3}no tick recorded, last released \d+m?s ago/);
    expect(block('compact-logs')).not.toContain('never');
    expect(block('compact-logs')).toMatch(/runs {8}1\n/);
    expect(block('rotate-keys')).toMatch(/runs {8}1 \+ 1 running\n/);
    const json = JSON.parse((await cli('status', '--json', '--mysql-url', url)).out) as Record<string, unknown>[];
    expect(json.find((row) => row.job === 'rotate-keys')).toMatchObject({ runs: 2, running: true });
    expect(json.find((row) => row.job === 'compact-logs')).toMatchObject({ runs: 1, running: false });
  });

  it('shows only the jobs named, and names a job it does not know', async () => {
    const one = await cli('status', 'send-invoices', '--json', '--mysql-url', url);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toMatchObject([{ job: 'send-invoices', tickDone: expect.any(String) }]);
    const two = await cli('status', 'send-invoices', 'compact-logs', '--json', '--mysql-url', url);
    expect(JSON.parse(two.out).map((row: { job: string }) => row.job)).toEqual(['compact-logs', 'send-invoices']);
    const unknown = await cli('status', 'send-invoice', '--mysql-url', url);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe(
      'lease-guard: no job named send-invoice in table lease_guard (its jobs: compact-logs, rotate-keys, send-invoices).\n',
    );
  });

  it('exits 2 when a job shown is OVERDUE, 0 when none is, and says so in --help', async () => {
    const overdue = await cli('status', 'send-invoices', '--period', '1m', '--mysql-url', url);
    expect(overdue.code).toBe(2);
    expect(overdue.out).toContain('OVERDUE');
    const json = await cli('status', 'send-invoices', '--json', '--period', '1m', '--mysql-url', url);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toMatchObject([{ overdue: true }]);
    expect((await cli('status', 'send-invoices', '--period', '1h', '--mysql-url', url)).code).toBe(0);
    const help = await cli('status', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 .*OVERDUE/);
    expect(help.out).toMatch(/status \[options\] \[jobs\.\.\.\]/);
  });

  /** The Data API settings as `lease-guard local` prints them, without a region unless given. */
  function dataApiEnv(overrides: Record<string, string | undefined> = {}): void {
    const env: Record<string, string | undefined> = {
      AWS_ENDPOINT_URL_RDS_DATA: local.server.url,
      LEASE_GUARD_RESOURCE_ARN: LOCAL_ARNS.resourceArn,
      LEASE_GUARD_SECRET_ARN: LOCAL_ARNS.secretArn,
      LEASE_GUARD_DATABASE: local.database,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: '/dev/null',
      LEASE_GUARD_REGION: undefined,
      ...overrides,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  }

  it('fails fast against a database that does not answer, saying that status changed nothing', async () => {
    dataApiEnv({ AWS_REGION: 'us-east-1' });
    // A paused database, as the client sees it: the call is never answered.
    local.server.faults.inject({ hangUntilClientGivesUp: true });
    const paused = await cli('status', '--timeout', '1s');
    expect(paused.code).toBe(1);
    expect(paused.err).toBe(
      'lease-guard: the database did not answer within 1s (paused, resuming or unreachable). status only reads: nothing was changed. Try again, or wait longer with --timeout 30s.\n',
    );
    expect(paused.err).not.toMatch(/may still commit/);
    local.server.faults.clear();
    // Aurora's own answer for an auto-paused cluster.
    local.server.faults.inject({ exception: 'DatabaseResumingException' });
    const resuming = await cli('status');
    expect(resuming.err).toBe(
      'lease-guard: the database is resuming after an automatic pause; try again in a few seconds. status only reads: nothing was changed.\n',
    );
    expect(await cli('status', '--timeout', 'soon')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/--timeout/),
    });
  });

  it('takes the region from the cluster ARN, and names --region when there is none', async () => {
    dataApiEnv();
    const fromArn = await cli('status', 'send-invoices');
    expect(fromArn).toMatchObject({ code: 0, err: '' });
    expect(fromArn.out).toContain('send-invoices');
    dataApiEnv({ LEASE_GUARD_RESOURCE_ARN: 'arn:aws:rds::000000000000:cluster:lease-guard-local' });
    const none = await cli('status');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/Region is missing.*--region/);
    expect((await cli('status', 'send-invoices', '--region', 'us-east-1')).code).toBe(0);
  });

  it('names the flag or the variable the user typed when an ARN or setting is wrong or missing', async () => {
    dataApiEnv({ AWS_REGION: 'us-east-1' });
    const flag = await cli('status', '--resource-arn', 'my-cluster');
    expect(flag.code).toBe(1);
    expect(flag.err).toMatch(
      /option '--resource-arn <arn>' argument 'my-cluster' is invalid\. expected an Aurora cluster ARN/,
    );
    dataApiEnv({ AWS_REGION: 'us-east-1', LEASE_GUARD_RESOURCE_ARN: 'my-cluster' });
    const variable = await cli('status');
    expect(variable.err).toMatch(/--resource-arn <arn>.*'my-cluster' from env 'LEASE_GUARD_RESOURCE_ARN' is invalid/);
    expect(variable.err).not.toMatch(/resourceArn option/);
    dataApiEnv({ AWS_REGION: 'us-east-1', LEASE_GUARD_SECRET_ARN: 'arn:aws:rds:x' });
    expect((await cli('status')).err).toMatch(/--secret-arn <arn>.*from env 'LEASE_GUARD_SECRET_ARN' is invalid/);
    dataApiEnv({ AWS_REGION: 'us-east-1', LEASE_GUARD_DATABASE: undefined });
    const missing = await cli('status');
    expect(missing.err).toMatch(
      /needs the database that holds the lease table: pass --database or set LEASE_GUARD_DATABASE/,
    );
    expect(missing.err).not.toMatch(/the database option/);
  });
});
