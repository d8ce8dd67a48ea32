import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';

/** Runs the CLI in-process and returns what it printed and its exit code. */
async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    await main(['node', 'lease-guard', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
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
