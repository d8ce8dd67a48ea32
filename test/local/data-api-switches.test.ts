import { ExecuteStatementCommand, type ExecuteStatementCommandInput } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from './data-api-fixture.js';

// The two unknowns of data-api.md as switches, and the rules that hold whatever they say.
describe('numberOfRecordsUpdated and generatedFields', () => {
  let local: LocalDataApi;
  const send = (sql: string, input: Partial<ExecuteStatementCommandInput> = {}) =>
    local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql, ...input }));

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_switches');
    await send(
      'CREATE TABLE counters (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, token BIGINT NOT NULL DEFAULT 0)',
    );
  });
  afterAll(() => local?.close());

  it('reports an auto-increment key for an INSERT under every switch, and [] for DDL and DELETE', async () => {
    for (const generatedFieldsOnUpdate of ['jdbc', 'none'] as const) {
      local.server.setSwitches({ generatedFieldsOnUpdate });
      const inserted = await send('INSERT INTO counters (v) VALUES (1)');
      expect(inserted.numberOfRecordsUpdated).toBe(1);
      expect(inserted.generatedFields).toEqual([{ longValue: expect.any(Number) }]);
    }
    expect(await send('CREATE TABLE IF NOT EXISTS scratch (a INT)')).toMatchObject({
      numberOfRecordsUpdated: 0,
      generatedFields: [],
    });
    expect(await send('DELETE FROM scratch')).toMatchObject({ numberOfRecordsUpdated: 0, generatedFields: [] });
  });

  it("counts an UPDATE's matched rows or changed rows as the rowsCount switch says", async () => {
    await send('INSERT INTO counters (id, v) VALUES (100, 5)');
    local.server.setSwitches({ rowsCount: 'matched' });
    expect((await send('UPDATE counters SET v = 5 WHERE id = 100')).numberOfRecordsUpdated).toBe(1);
    local.server.setSwitches({ rowsCount: 'changed' });
    expect((await send('UPDATE counters SET v = 5 WHERE id = 100')).numberOfRecordsUpdated).toBe(0);
    expect((await send('UPDATE counters SET v = 6 WHERE id = 100')).numberOfRecordsUpdated).toBe(1);
    local.server.setSwitches({ rowsCount: 'matched' });
  });

  it('reports LAST_INSERT_ID(expr) of an UPDATE only under jdbc, and only when a row was affected', async () => {
    await send('INSERT INTO counters (id, v, token) VALUES (200, 0, 41)');
    const bump = 'UPDATE counters SET token = LAST_INSERT_ID(token + 1) WHERE id = :id';
    const id = (value: number) => ({ parameters: [{ name: 'id', value: { longValue: value } }] });

    local.server.setSwitches({ generatedFieldsOnUpdate: 'jdbc' });
    expect(await send(bump, id(200))).toMatchObject({
      numberOfRecordsUpdated: 1,
      generatedFields: [{ longValue: 42 }],
    });
    expect(await send(bump, id(999))).toMatchObject({ numberOfRecordsUpdated: 0, generatedFields: [] });
    // The lease claim's pattern: the WHERE clause sets LAST_INSERT_ID(reason) on a row it then refuses.
    const refused = await send('UPDATE counters SET v = v + 1 WHERE id = 200 AND LAST_INSERT_ID(token + 100) = 0');
    expect(refused).toMatchObject({ numberOfRecordsUpdated: 0, generatedFields: [] });
    // An UPDATE that does not touch LAST_INSERT_ID reports nothing.
    expect(await send('UPDATE counters SET v = v + 1 WHERE id = 200')).toMatchObject({ generatedFields: [] });

    local.server.setSwitches({ generatedFieldsOnUpdate: 'none' });
    expect(await send(bump, id(200))).toMatchObject({ numberOfRecordsUpdated: 1, generatedFields: [] });
    expect((await send('SELECT token FROM counters WHERE id = 200')).records).toEqual([[{ longValue: 43 }]]);
  });

  it('answers a SELECT with records and numberOfRecordsUpdated 0 and no generatedFields', async () => {
    const out = await send('SELECT v FROM counters WHERE id = 100');
    expect(out.numberOfRecordsUpdated).toBe(0);
    expect(out.generatedFields).toBeUndefined();
  });

  it('returns the first result set of a CALL', async () => {
    await send('CREATE PROCEDURE twice(IN x INT) SELECT x * 2 AS doubled');
    expect((await send('CALL twice(21)', { includeResultMetadata: true })).records).toEqual([[{ longValue: 42 }]]);
    await send('CREATE PROCEDURE touch() UPDATE counters SET v = v + 1 WHERE id = 100');
    expect(await send('CALL touch()')).toMatchObject({ numberOfRecordsUpdated: 1, generatedFields: [] });
  });

  it('refuses unknown switch values', () => {
    expect(() => local.server.setSwitches({ rowsCount: 'found' as never })).toThrow(/rowsCount/);
    expect(local.server.switches.rowsCount).toBe('matched');
  });
});
