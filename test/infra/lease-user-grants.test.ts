import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseGuardConfigError } from '../../src/errors.js';
import { leaseUserGrantSql, leaseUserSql, passwordLiteral } from '../../src/lease/grants.js';
import { migrate } from '../../src/lease/schema.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';

// The SQL the LeaseTable custom resource runs for the least-privilege user, proven on a real server:
// the user can do what the lease needs and nothing else.
describe('lease user grants', () => {
  const table = 'lease_guard';
  const user = `lg_${randomBytes(4).toString('hex')}`;
  let databaseUrl: URL;
  let database: string;
  let admin: mysql.Connection;

  beforeAll(async () => {
    databaseUrl = new URL(await freshDatabase('grants'));
    database = databaseUrl.pathname.slice(1);
    const executor = createMysql2Executor({ url: databaseUrl.toString() });
    await migrate(executor, table);
    await executor.close();
    admin = await mysql.createConnection({ uri: databaseUrl.toString() });
    await admin.query(`CREATE TABLE \`other\` (id INT PRIMARY KEY)`);
  });

  afterAll(async () => {
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin?.end();
  });

  async function apply(password: string): Promise<void> {
    for (const sql of leaseUserSql({ user, password, database, table })) await admin.query(sql);
  }

  async function connectAs(password: string): Promise<mysql.Connection> {
    const url = new URL(databaseUrl);
    url.username = user;
    url.password = '';
    // mysql2 takes the password as an option, so quotes and percent signs need no URL escaping.
    return mysql.createConnection({ uri: url.toString(), password });
  }

  it('creates a user that can select, insert and update the lease table', async () => {
    const password = `a'b"c%d${randomBytes(6).toString('hex')}`;
    await apply(password);
    const connection = await connectAs(password);
    try {
      await connection.query(`INSERT INTO \`${table}\` (job) VALUES ('grants-test')`);
      await connection.query(`UPDATE \`${table}\` SET runs = runs + 1 WHERE job = 'grants-test'`);
      const [rows] = await connection.query(`SELECT runs FROM \`${table}\` WHERE job = 'grants-test'`);
      expect(rows).toEqual([{ runs: 1 }]);
    } finally {
      await connection.end();
    }
  });

  it('denies delete, DDL and every other table', async () => {
    const password = randomBytes(12).toString('hex');
    await apply(password);
    const connection = await connectAs(password);
    try {
      await expect(connection.query(`DELETE FROM \`${table}\``)).rejects.toThrow(/denied/i);
      await expect(connection.query(`DROP TABLE \`${table}\``)).rejects.toThrow(/denied/i);
      await expect(connection.query(`ALTER TABLE \`${table}\` ADD COLUMN x INT`)).rejects.toThrow(/denied/i);
      await expect(connection.query('SELECT * FROM `other`')).rejects.toThrow(/denied/i);
      await expect(connection.query('CREATE TABLE `mine` (id INT)')).rejects.toThrow(/denied/i);
    } finally {
      await connection.end();
    }
  });

  it('is idempotent and moves an existing user to the new password', async () => {
    const first = randomBytes(12).toString('hex');
    const second = randomBytes(12).toString('hex');
    await apply(first);
    await apply(second);
    await expect(connectAs(first)).rejects.toThrow(/denied/i);
    const connection = await connectAs(second);
    await connection.end();
  });

  it('keeps the password out of the GRANT', () => {
    expect(leaseUserGrantSql({ user: 'lease_guard', database: 'app', table })).toBe(
      "GRANT SELECT, INSERT, UPDATE ON `app`.`lease_guard` TO 'lease_guard'@'%'",
    );
  });

  it('doubles quotes in the password literal', () => {
    expect(passwordLiteral(`it's`)).toBe(`'it''s'`);
  });

  it('fails on a backslash or a control character without echoing the password', () => {
    for (const password of ['se\\cret', 'new\nline', 'tab\there', '']) {
      let caught: unknown;
      try {
        passwordLiteral(password);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(LeaseGuardConfigError);
      if (password) expect((caught as Error).message).not.toContain(password);
    }
  });

  it('fails on user, database and table names that are not plain identifiers', () => {
    const password = 'x';
    expect(() => leaseUserSql({ user: "x'@'%", password, database, table })).toThrow(/user must be an SQL identifier/);
    expect(() => leaseUserSql({ user: 'u'.repeat(33), password, database, table })).toThrow(/at most 32/);
    expect(() => leaseUserSql({ user, password, database: 'a`b', table })).toThrow(/database must be/);
    expect(() => leaseUserSql({ user, password, database, table: 't;drop' })).toThrow(/table must be/);
  });
});
