import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';
import { cli } from '../support/cli.js';

/** Issue 22: `migrate --database newdb` creates the database, and never advises running itself. */
describe('lease-guard migrate into a database that does not exist yet', () => {
  let local: LocalDataApi;
  const created: string[] = [];
  const name = (label: string): string => {
    const database = `cli_${label}_${randomBytes(4).toString('hex')}`;
    created.push(database);
    return database;
  };
  const on = (database: string, user = ''): string => {
    const url = new URL(local.mysqlUrl);
    if (user) {
      url.username = user;
      url.password = '';
    }
    url.pathname = `/${database}`;
    return url.toString();
  };

  beforeAll(async () => {
    local = await startLocalDataApi('cli_migrate');
  });
  afterEach(() => vi.unstubAllEnvs());
  afterAll(async () => {
    const connection = await mysql.createConnection({ uri: on('') });
    try {
      for (const database of created) await connection.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await connection.query("DROP USER IF EXISTS 'lease_guard_cli_limited'@'%'");
    } finally {
      await connection.end();
    }
    await local.close();
  });

  it('creates the database, then the table, over a MySQL URL', async () => {
    const database = name('direct');
    const result = await cli('migrate', '--mysql-url', on(database));
    expect(result).toMatchObject({
      code: 0,
      out: `Database ${database}: created.\nLease table lease_guard: created.\n`,
    });
    // (stderr may hold the AWS SDK's notice about Node versions, printed once per test process)
    expect(result.err).not.toMatch(/lease-guard/);
    expect((await cli('status', '--mysql-url', on(database))).out).toContain('No jobs yet');
    expect((await cli('migrate', '--mysql-url', on(database))).out).toBe(
      'Lease table lease_guard: already up to date.\n',
    );
  });

  it('creates the database, then the table, through the Data API (--database)', async () => {
    for (const [variable, value] of Object.entries({
      AWS_ENDPOINT_URL_RDS_DATA: local.server.url,
      LEASE_GUARD_RESOURCE_ARN: LOCAL_ARNS.resourceArn,
      LEASE_GUARD_SECRET_ARN: LOCAL_ARNS.secretArn,
      LEASE_GUARD_DATABASE: local.database,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    })) {
      vi.stubEnv(variable, value);
    }
    const database = name('data_api');
    const result = await cli('migrate', '--database', database);
    expect(result).toMatchObject({
      code: 0,
      out: `Database ${database}: created.\nLease table lease_guard: created.\n`,
    });
    // (stderr may hold the AWS SDK's notice about Node versions, printed once per test process)
    expect(result.err).not.toMatch(/lease-guard/);
    expect((await cli('status', '--database', database)).out).toContain('No jobs yet');
  });

  it('says exactly what to run when it may not create it, and never to run `lease-guard migrate`', async () => {
    // A user who may read the database once it exists, but not create it.
    const database = name('denied');
    const connection = await mysql.createConnection({ uri: on('') });
    try {
      await connection.query("CREATE USER IF NOT EXISTS 'lease_guard_cli_limited'@'%'");
      await connection.query(`GRANT SELECT ON \`${database}\`.* TO 'lease_guard_cli_limited'@'%'`);
    } finally {
      await connection.end();
    }
    const result = await cli('migrate', '--mysql-url', on(database, 'lease_guard_cli_limited'));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      new RegExp(
        `^lease-guard: The database ${database} does not exist and could not be created \\(.*denied.*\\)\\. Create it as a user allowed to \\(CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4\\), or point --mysql-url at the database that should hold the lease table; then run this again\\.\\n$`,
      ),
    );
    expect(result.err).not.toContain('lease-guard migrate');
  });
});
