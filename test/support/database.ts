import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';

/** A new, empty database on the suite's server; test files never share tables. */
export async function freshDatabase(prefix: string): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(4).toString('hex')}`;
  const serverUrl = inject('mysqlServerUrl');
  const connection = await mysql.createConnection({ uri: serverUrl });
  try {
    await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await connection.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
