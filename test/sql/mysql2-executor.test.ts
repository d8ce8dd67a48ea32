/**
 * The mysql2 executor's own handling of `:name` placeholders: converted once per statement text
 * to positions the way mysql2 itself converts them, and executed by a prepared statement kept per
 * connection. Checked against mysql2's converter and, end to end, against a real MariaDB.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lease from '../../src/lease/sql.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { toPositional } from '../../src/sql/placeholders.js';
import { freshDatabase } from '../support/database.js';

// mysql2's own conversion, the reference (a dependency of mysql2, resolved from it).
const fromMysql2 = createRequire(createRequire(import.meta.url).resolve('mysql2'))('named-placeholders')() as (
  sql: string,
  params: Record<string, unknown>,
) => [string, unknown[] | undefined];

function sameAsMysql2(text: string): void {
  const names = [...new Set([...text.matchAll(/:([a-zA-Z]\w*)/g)].map((m) => m[1] as string))];
  const params = Object.fromEntries(names.map((name) => [name, `value of ${name}`]));
  const ours = toPositional(text);
  const [sql, values] = fromMysql2(text, params);
  expect(ours?.sql).toBe(sql);
  expect(ours?.names.map((name) => params[name])).toEqual(values ?? []);
}

describe('toPositional', () => {
  it('converts every lease statement as mysql2 does', () => {
    const texts = Object.entries(lease)
      .filter(([name, value]) => name.endsWith('Sql') && typeof value === 'function')
      .map(([, value]) => (value as (table: string) => string)('lease_guard'));
    expect(texts.length).toBeGreaterThan(5);
    for (const text of texts) sameAsMysql2(text);
  });

  it('leaves placeholders inside quoted text alone, as mysql2 does', () => {
    sameAsMysql2(`UPDATE t SET a = CONCAT(':a', :b, "x:c", 'it''s :d', 'back\\' :e', :b) WHERE id = :id`);
  });

  it('leaves texts it would convert differently to mysql2', () => {
    expect(toPositional('UPDATE t SET a = ? WHERE id = :id')).toBeUndefined();
    expect(toPositional('UPDATE t SET a = :1')).toBeUndefined();
    expect(toPositional('UPDATE t SET a = ::b')).toBeUndefined();
  });
});

describe('createMysql2Executor prepared writes', () => {
  let url: string;
  // One connection: every statement below shares its cache of prepared statements.
  let executor: ReturnType<typeof createMysql2Executor>;

  beforeAll(async () => {
    url = await freshDatabase('executor');
    executor = createMysql2Executor({ url, connectionLimit: 1 });
    await executor.execute({ sql: 'CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(200))' });
    await executor.execute({ sql: 'INSERT INTO t VALUES (1, NULL)' });
  });
  afterAll(async () => {
    await executor?.close();
  });

  const read = async (): Promise<unknown> =>
    (await executor.execute({ sql: 'SELECT a FROM t WHERE id = 1' })).rows[0]?.a;

  it('binds a name used several times, and not one inside a literal', async () => {
    const sql = `UPDATE t SET a = CONCAT(':b ', :b, '/', :b, '/it''s :c') WHERE id = :id`;
    for (const b of ['first', 'second']) {
      const result = await executor.execute({ sql, params: { b, id: 1 } });
      expect(result.affectedRows).toBe(1);
      expect(await read()).toBe(`:b ${b}/${b}/it's :c`);
    }
  });

  it('refuses a missing parameter with mysql2’s own error, and keeps the connection usable', async () => {
    await expect(executor.execute({ sql: 'UPDATE t SET a = :a WHERE id = :id', params: { id: 1 } })).rejects.toThrow(
      /undefined/,
    );
    await executor.execute({ sql: 'UPDATE t SET a = :a WHERE id = :id', params: { a: 'after', id: 1 } });
    expect(await read()).toBe('after');
  });

  it('keeps its prepared statements working past its per-connection bound of texts', async () => {
    const first = 'UPDATE t SET a = :a WHERE id = :id AND 0 = 0';
    await executor.execute({ sql: first, params: { a: 'first', id: 1 } });
    // More distinct texts than the executor keeps per connection (256): the rest are prepared
    // for their call only, so the kept ones stay valid.
    for (let i = 1; i <= 300; i++) {
      await executor.execute({
        sql: `UPDATE t SET a = :a WHERE id = :id AND ${i} = ${i}`,
        params: { a: `n${i}`, id: 1 },
      });
    }
    expect(await read()).toBe('n300');
    await executor.execute({ sql: first, params: { a: 'first again', id: 1 } });
    expect(await read()).toBe('first again');
  });
});
