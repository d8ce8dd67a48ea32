import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';
import { cli } from '../support/cli.js';

/** A column of a one-row `status` table, its wrapped pieces joined. */
function column(table: string, name: string, joiner: string): string {
  const rows = table.split('\n').filter((line) => line.startsWith('│'));
  const cells = (line: string): string[] => line.split('│').slice(1, -1);
  const index = cells(rows[0] as string).findIndex((cell) => cell.trim() === name);
  return rows
    .slice(1)
    .map((line) => cells(line)[index]?.trim() ?? '')
    .filter(Boolean)
    .join(joiner);
}

describe('lease-guard CLI', () => {
  let local: LocalDataApi;
  let url: string;

  beforeAll(async () => {
    local = await startLocalDataApi('cli');
    url = local.mysqlUrl;
  });
  afterEach(() => {
    for (const key of ['LEASE_GUARD_RESOURCE_ARN', 'LEASE_GUARD_SECRET_ARN', 'LEASE_GUARD_DATABASE'])
      delete process.env[key];
  });
  afterAll(() => local.close());

  it('migrates, shows status, and force-releases a job over a direct MySQL URL', async () => {
    expect(await cli('migrate', '--mysql-url', url)).toMatchObject({
      code: 0,
      out: 'Lease table lease_guard: created.\n',
    });
    expect((await cli('migrate', '--mysql-url', url)).out).toContain('already up to date');
    expect((await cli('status', '--mysql-url', url)).out).toContain('No jobs yet');

    const executor = createMysql2Executor({ url });
    const store = createSqlLeaseStore({ executor });
    const claimed = performance.now();
    await store.claim({ job: 'nightly-report', holder: 'abc/us-east-1/fn/req', leaseMs: 60_000, owner: 'us-east-1' });
    const status = await cli('status', '--mysql-url', url);
    const shown = /nightly-report.*abc\/us-east-1\/fn\/req.*us-east-1.*1.*in (\d+)s/s.exec(status.out);
    expect(shown, status.out).not.toBeNull();
    // However long the claim and the status took here, the lease shown is what is left of 60 s.
    const elapsed = Math.ceil((performance.now() - claimed) / 1000);
    expect(Number(shown?.[1])).toBeLessThanOrEqual(60);
    expect(Number(shown?.[1])).toBeGreaterThanOrEqual(60 - elapsed - 1);
    const json = JSON.parse((await cli('status', '--json', '--mysql-url', url)).out);
    expect(json).toMatchObject([{ job: 'nightly-report', fence: 1, held: true, owner: 'us-east-1' }]);

    // Without a terminal and without --yes, it refuses and changes nothing.
    expect(await cli('release', 'nightly-report', '--mysql-url', url)).toMatchObject({
      code: 1,
      err: expect.stringContaining('--yes'),
    });
    expect((await store.inspect('nightly-report'))?.held).toBe(true);
    expect((await cli('release', 'nightly-report', '--yes', '--mysql-url', url)).out).toContain(
      'fencing token is now 2',
    );
    expect(await store.inspect('nightly-report')).toMatchObject({ held: false, fence: 2, holder: null });
    await executor.close();
  });

  it('reads the Data API settings from the environment, as `lease-guard local` prints them', async () => {
    process.env.AWS_ENDPOINT_URL_RDS_DATA = local.server.url;
    Object.assign(process.env, {
      LEASE_GUARD_RESOURCE_ARN: LOCAL_ARNS.resourceArn,
      LEASE_GUARD_SECRET_ARN: LOCAL_ARNS.secretArn,
      LEASE_GUARD_DATABASE: local.database,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    try {
      expect((await cli('migrate', '--table', 'via_data_api')).out).toContain('via_data_api: created');
      expect((await cli('status', '--table', 'via_data_api')).out).toContain('No jobs yet');
    } finally {
      delete process.env.AWS_ENDPOINT_URL_RDS_DATA;
    }
  });

  it('status shows whole holders, the last error with its time, and the lag since the last completed tick', async () => {
    const table = 'status_lag';
    expect((await cli('migrate', '--mysql-url', url, '--table', table)).code).toBe(0);
    const executor = createMysql2Executor({ url });
    const store = createSqlLeaseStore({ executor, table });
    const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
    const first = 'a1b2c3d4e5f6/us-east-1/send-invoices/096f2ef3-c359-4744-bcb6-c42e9017947c';
    const won = await store.claim({ job: 'send-invoices', holder: first, leaseMs: 60_000, tick });
    if (!won.acquired) throw new Error('the first claim must win');
    await store.release({ job: 'send-invoices', holder: first, fence: won.fence, outcome: 'success', tick });
    const second = 'f6e5d4c3b2a1/eu-west-1/send-invoices/7c5ad5ec-39b5-4870-9568-f69e21e881d3';
    const again = await store.claim({ job: 'send-invoices', holder: second, leaseMs: 60_000 });
    if (!again.acquired) throw new Error('the second claim must win');
    await store.release({
      job: 'send-invoices',
      holder: second,
      fence: again.fence,
      outcome: 'failure',
      error: 'Error: the invoice service answered 503',
    });
    const third = 'c0ffee0c0ffee/ap-southeast-2/send-invoices/11111111-2222-3333-4444-555555555555';
    await store.claim({ job: 'send-invoices', holder: third, leaseMs: 60_000 });
    await executor.close();

    const { out, code } = await cli('status', '--mysql-url', url, '--table', table, '--period', '1m');
    // A job is OVERDUE: the exit code says so to a script (or a cron wrapper) too.
    expect(code).toBe(2);
    // Cells wrap onto more lines; read a column back by joining its pieces.
    expect(column(out, 'holder', '')).toBe(third);
    expect(column(out, 'last tick done', ' ')).toMatch(
      new RegExp(`^${tick.toISOString().replace(/\./g, '\\.')} 1[01]m ago OVERDUE$`),
    );
    // (where a piece breaks at a space, the space is lost to the cell's padding: compare without spaces)
    expect(column(out, 'last error', '').replace(/\s/g, '')).toMatch(
      /^\d+(ms|s)ago:Error:theinvoiceserviceanswered503$/,
    );

    const relaxed = await cli('status', '--mysql-url', url, '--table', table, '--period', '1h');
    expect(relaxed.out).not.toContain('OVERDUE');
    expect(relaxed.code).toBe(0);
    const json = JSON.parse(
      (await cli('status', '--json', '--mysql-url', url, '--table', table, '--period', '5m')).out,
    );
    expect(json).toMatchObject([{ job: 'send-invoices', holder: third, overdue: true, lagMs: expect.any(Number) }]);
    expect(json[0].lagMs).toBeGreaterThanOrEqual(10 * 60_000);
    expect((await cli('status', '--mysql-url', url, '--period', 'soon')).err).toMatch(/expected a duration like/);
  });

  it('names the command that sets the table up when it or its database is missing, over both drivers', async () => {
    const server = new URL(url);
    server.pathname = '/lease_guard_never_created';
    const direct = [
      await cli('status', '--mysql-url', url, '--table', 'never_migrated'),
      await cli('status', '--mysql-url', server.toString()),
    ];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_RDS_DATA: local.server.url,
      LEASE_GUARD_RESOURCE_ARN: LOCAL_ARNS.resourceArn,
      LEASE_GUARD_SECRET_ARN: LOCAL_ARNS.secretArn,
      LEASE_GUARD_DATABASE: local.database,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    let viaDataApi: Awaited<ReturnType<typeof cli>>[];
    try {
      viaDataApi = [
        await cli('status', '--table', 'never_migrated'),
        await cli('status', '--database', 'lease_guard_never_created'),
      ];
    } finally {
      delete process.env.AWS_ENDPOINT_URL_RDS_DATA;
    }
    const [noTable, noDatabase, noTableDataApi, noDatabaseDataApi] = [...direct, ...viaDataApi];
    for (const result of [noTable, noTableDataApi]) {
      expect(result?.code).toBe(1);
      expect(result?.err).toMatch(/never_migrated.*doesn't exist.*run `lease-guard migrate`/s);
    }
    for (const result of [noDatabase, noDatabaseDataApi]) {
      expect(result?.code).toBe(1);
      expect(result?.err).toMatch(/lease_guard_never_created.*database does not exist.*`lease-guard migrate`/s);
    }
  });

  it('says what is wrong in one line, with a non-zero exit and no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['status'], /LEASE_GUARD_RESOURCE_ARN/],
      [['status', '--mysql-url', 'http://nope'], /expected a mysql:\/\/ URL/],
      [['status', '--mysql-url', url, '--table', 'bad table'], /SQL identifier/],
      [['release', "x'; DROP TABLE lease_guard; --", '--yes', '--mysql-url', url], /may contain only/],
      [['release', 'never-seen', '--yes', '--mysql-url', url], /no job named never-seen/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.err, args.join(' ')).toMatch(message);
      expect(result.err).not.toMatch(/\n\s+at /);
    }
  });
});
