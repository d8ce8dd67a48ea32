import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CdkCustomResourceEvent, Context } from 'aws-lambda';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { excessGrants, handler } from '../../src/cdk/handlers/lease-table-migrate.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';

// The LeaseTable custom resource's handler, run as Lambda would run it: the real Data API client
// against the local Data API server, and a stand-in for the Parameters and Secrets extension.
describe('lease-table-migrate handler', () => {
  const USER_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:lease-user-AbC123';
  const SESSION_TOKEN = 'session-token';
  const user = `lg_${randomBytes(4).toString('hex')}`;
  const secrets = new Map<string, string>();
  let api: LocalDataApi;
  let extension: Server;
  let admin: mysql.Connection;

  beforeAll(async () => {
    api = await startLocalDataApi('migrate');
    // Answers like the extension: the secret as Secrets Manager returns it, only with the session token.
    extension = createServer((request, response) => {
      const secretId = new URL(request.url ?? '/', 'http://localhost').searchParams.get('secretId') ?? '';
      const secret = secrets.get(secretId);
      if (request.headers['x-aws-parameters-secrets-token'] !== SESSION_TOKEN) response.writeHead(401).end();
      else if (!secret) response.writeHead(400).end('not found');
      else response.writeHead(200).end(JSON.stringify({ ARN: secretId, SecretString: secret }));
    });
    await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));
    const url = new URL(inject('mysqlServerUrl'));
    url.pathname = `/${api.database}`;
    admin = await mysql.createConnection({ uri: url.toString() });
  });

  afterAll(async () => {
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin?.end();
    await new Promise((resolve) => extension?.close(resolve));
    await api?.close();
  });

  beforeEach(() => {
    vi.stubEnv('AWS_ENDPOINT_URL_RDS_DATA', api.server.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('AWS_SESSION_TOKEN', SESSION_TOKEN);
    vi.stubEnv('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', String((extension.address() as AddressInfo).port));
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

  function event(
    requestType: 'Create' | 'Update' | 'Delete',
    properties: Record<string, string> = {},
  ): CdkCustomResourceEvent {
    const common = {
      ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:provider',
      ResponseURL: 'https://example.invalid/response',
      StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/Database/1',
      RequestId: randomBytes(8).toString('hex'),
      LogicalResourceId: 'LeasesResource',
      ResourceType: 'Custom::LeaseGuardTable',
      ResourceProperties: {
        ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:provider',
        ResourceArn: LOCAL_ARNS.resourceArn,
        AdminSecretArn: LOCAL_ARNS.secretArn,
        Database: api.database,
        Table: 'lease_guard',
        Schema: '0123456789abcdef',
        ...properties,
      },
    };
    if (requestType === 'Create') return { ...common, RequestType: 'Create' };
    const physical = `${api.database}.lease_guard`;
    if (requestType === 'Update') {
      return {
        ...common,
        RequestType: 'Update',
        PhysicalResourceId: physical,
        OldResourceProperties: common.ResourceProperties,
      };
    }
    return { ...common, RequestType: 'Delete', PhysicalResourceId: physical };
  }

  async function columns(table = 'lease_guard'): Promise<string[]> {
    const [rows] = await admin.query(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    return (rows as { name: string }[]).map((row) => row.name);
  }

  it('creates the table on Create', async () => {
    const response = await handler(event('Create'), context);
    expect(response).toEqual({
      PhysicalResourceId: `${api.database}.lease_guard`,
      Data: { Table: 'lease_guard', Created: 'true', AddedColumns: '' },
    });
    expect(await columns()).toContain('fence');
  });

  it('adds the columns an older table lacks on Update, and changes nothing the second time', async () => {
    await admin.query('ALTER TABLE `lease_guard` DROP COLUMN `released_at`');
    const first = await handler(event('Update'), context);
    expect(first.Data).toEqual({ Table: 'lease_guard', Created: 'false', AddedColumns: 'released_at' });
    const second = await handler(event('Update'), context);
    expect(second.Data).toEqual({ Table: 'lease_guard', Created: 'false', AddedColumns: '' });
  });

  it('creates the lease user from its secret, allowed the lease table and nothing more', async () => {
    const password = `p'${randomBytes(9).toString('base64url')}`;
    secrets.set(USER_SECRET_ARN, JSON.stringify({ username: user, password, engine: 'mysql' }));
    await handler(event('Update', { UserSecretArn: USER_SECRET_ARN }), context);
    const url = new URL(inject('mysqlServerUrl'));
    url.pathname = `/${api.database}`;
    url.username = user;
    const connection = await mysql.createConnection({ uri: url.toString(), password });
    try {
      await connection.query("INSERT INTO `lease_guard` (job) VALUES ('migrate-test')");
      await connection.query("UPDATE `lease_guard` SET runs = runs + 1 WHERE job = 'migrate-test'");
      await expect(connection.query('DELETE FROM `lease_guard`')).rejects.toThrow(/denied/i);
    } finally {
      await connection.end();
    }
  });

  it('revokes what an existing lease user holds beyond SELECT, INSERT, UPDATE on the lease table', async () => {
    const password = randomBytes(12).toString('hex');
    secrets.set(USER_SECRET_ARN, JSON.stringify({ username: user, password }));
    await handler(event('Update', { UserSecretArn: USER_SECRET_ARN }), context);
    // Someone granted the user more by hand, on the lease table and on the whole database.
    await admin.query(`CREATE TABLE IF NOT EXISTS \`other\` (id INT PRIMARY KEY)`);
    await admin.query(`GRANT DELETE, DROP ON \`${api.database}\`.\`lease_guard\` TO '${user}'@'%'`);
    await admin.query(`GRANT SELECT ON \`${api.database}\`.* TO '${user}'@'%'`);
    const connectAs = async () => {
      const url = new URL(inject('mysqlServerUrl'));
      url.pathname = `/${api.database}`;
      url.username = user;
      return mysql.createConnection({ uri: url.toString(), password });
    };
    const before = await connectAs();
    try {
      // The negative control: the extra grants are real before the migration runs.
      await before.query("DELETE FROM `lease_guard` WHERE job = 'nothing'");
      await before.query('SELECT * FROM `other`');
    } finally {
      await before.end();
    }
    await handler(event('Update', { UserSecretArn: USER_SECRET_ARN }), context);
    const after = await connectAs();
    try {
      await after.query("UPDATE `lease_guard` SET runs = runs WHERE job = 'nothing'");
      await expect(after.query("DELETE FROM `lease_guard` WHERE job = 'nothing'")).rejects.toThrow(/denied/i);
      await expect(after.query('SELECT * FROM `other`')).rejects.toThrow(/denied/i);
    } finally {
      await after.end();
    }
    const [grants] = await admin.query(`SHOW GRANTS FOR '${user}'@'%'`);
    const lines = (grants as Record<string, string>[]).flatMap((row) => Object.values(row));
    expect(excessGrants(lines, { database: api.database, table: 'lease_guard' })).toEqual([]);
  });

  it('tells extra grants from the lease grant in MySQL 8 and MariaDB SHOW GRANTS forms', () => {
    const grant = { database: 'app', table: 'lease_guard' };
    const fine = [
      "GRANT USAGE ON *.* TO `lease_guard`@`%` IDENTIFIED BY PASSWORD '*ABC'",
      'GRANT USAGE ON *.* TO `lease_guard`@`%`',
      'GRANT SELECT, INSERT, UPDATE ON `app`.`lease_guard` TO `lease_guard`@`%`',
      'GRANT INSERT, SELECT, UPDATE ON `app`.`lease_guard` TO `lease_guard`@`%`',
    ];
    expect(excessGrants(fine, grant)).toEqual([]);
    const extra = [
      'GRANT SELECT ON *.* TO `lease_guard`@`%`',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON `app`.`lease_guard` TO `lease_guard`@`%`',
      'GRANT SELECT, INSERT, UPDATE ON `app`.`lease_guard` TO `lease_guard`@`%` WITH GRANT OPTION',
      'GRANT SELECT ON `app`.* TO `lease_guard`@`%`',
      'GRANT `admin_role`@`%` TO `lease_guard`@`%`',
    ];
    expect(excessGrants(extra, grant)).toEqual(extra);
  });

  it('does nothing on Delete: the table and its rows stay', async () => {
    await admin.query("INSERT IGNORE INTO `lease_guard` (job) VALUES ('kept')");
    const response = await handler(event('Delete'), context);
    expect(response).toEqual({ PhysicalResourceId: `${api.database}.lease_guard` });
    const [rows] = await admin.query("SELECT job FROM `lease_guard` WHERE job = 'kept'");
    expect(rows).toHaveLength(1);
  });

  it('fails on a user secret without a username, and on a password it cannot write safely, without echoing it', async () => {
    secrets.set(USER_SECRET_ARN, JSON.stringify({ password: 'x' }));
    await expect(handler(event('Update', { UserSecretArn: USER_SECRET_ARN }), context)).rejects.toThrow(
      /must be JSON with string "username" and "password"/,
    );
    const password = 'back\\slash-secret';
    secrets.set(USER_SECRET_ARN, JSON.stringify({ username: user, password }));
    const failure = handler(event('Update', { UserSecretArn: USER_SECRET_ARN }), context);
    await expect(failure).rejects.toThrow(/password must be printable ASCII without a backslash/);
    await expect(failure).rejects.not.toThrow(password);
  });

  it('fails when the extension refuses the secret', async () => {
    await expect(handler(event('Update', { UserSecretArn: `${USER_SECRET_ARN}-missing` }), context)).rejects.toThrow(
      /HTTP 400 from the secrets extension/,
    );
  });

  it('fails on a table name that is not an identifier, before any SQL', async () => {
    await expect(handler(event('Create', { Table: 'x; DROP TABLE y' }), context)).rejects.toThrow(
      /Table must be an SQL identifier/,
    );
  });
});
