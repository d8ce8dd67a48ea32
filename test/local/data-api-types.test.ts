import { type ColumnMetadata, ExecuteStatementCommand, type Field, type SqlParameter } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from './data-api-fixture.js';

/**
 * One row per type of the mapping table (data-api.md section (b)): the column's DDL, the value
 * sent (with its type hint), the Field that comes back, and the column metadata in Connector/J terms.
 */
interface TypeCase {
  readonly column: string;
  readonly ddl: string;
  readonly param: Pick<SqlParameter, 'value' | 'typeHint'>;
  readonly field: Field;
  readonly meta: Partial<ColumnMetadata>;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const b64 = (...values: number[]) => Buffer.from(values).toString('base64');

const CASES: readonly TypeCase[] = [
  {
    column: 'c_bool',
    ddl: 'BOOLEAN',
    param: { value: { booleanValue: true } },
    field: { booleanValue: true },
    meta: { type: -7, typeName: 'BIT', precision: 1, isSigned: false },
  },
  {
    column: 'c_tinyint1',
    ddl: 'TINYINT(1)',
    param: { value: { longValue: 0 } },
    field: { booleanValue: false },
    meta: { type: -7, typeName: 'BIT' },
  },
  {
    column: 'c_tinyint',
    ddl: 'TINYINT',
    param: { value: { longValue: -5 } },
    field: { longValue: -5 },
    meta: { type: -6, typeName: 'TINYINT', isSigned: true, precision: 4 },
  },
  {
    column: 'c_tinyint_u',
    ddl: 'TINYINT UNSIGNED',
    param: { value: { longValue: 250 } },
    field: { longValue: 250 },
    meta: { type: -6, typeName: 'TINYINT UNSIGNED', isSigned: false, precision: 3 },
  },
  {
    column: 'c_smallint',
    ddl: 'SMALLINT',
    param: { value: { longValue: -300 } },
    field: { longValue: -300 },
    meta: { type: 5, typeName: 'SMALLINT' },
  },
  {
    column: 'c_mediumint',
    ddl: 'MEDIUMINT',
    param: { value: { longValue: 70_000 } },
    field: { longValue: 70_000 },
    meta: { type: 4, typeName: 'MEDIUMINT' },
  },
  {
    column: 'c_int',
    ddl: 'INT NOT NULL',
    param: { value: { longValue: 123 } },
    field: { longValue: 123 },
    meta: { type: 4, typeName: 'INT', nullable: 0, isSigned: true, precision: 11 },
  },
  {
    column: 'c_int_u',
    ddl: 'INT UNSIGNED',
    param: { value: { longValue: 4_000_000_000 } },
    field: { longValue: 4_000_000_000 },
    meta: { type: 4, typeName: 'INT UNSIGNED', isSigned: false, precision: 10 },
  },
  {
    column: 'c_bigint',
    ddl: 'BIGINT',
    param: { value: { longValue: 2 ** 53 - 1 } },
    field: { longValue: 2 ** 53 - 1 },
    meta: { type: -5, typeName: 'BIGINT', precision: 20 },
  },
  {
    column: 'c_float',
    ddl: 'FLOAT',
    param: { value: { doubleValue: 3.5 } },
    field: { doubleValue: 3.5 },
    meta: { type: 7, typeName: 'FLOAT', scale: 0 },
  },
  {
    column: 'c_double',
    ddl: 'DOUBLE',
    param: { value: { doubleValue: 1234.5678 } },
    field: { doubleValue: 1234.5678 },
    meta: { type: 8, typeName: 'DOUBLE' },
  },
  {
    column: 'c_decimal',
    ddl: 'DECIMAL(10,4)',
    param: { value: { stringValue: '123456.789' }, typeHint: 'DECIMAL' },
    field: { stringValue: '123456.7890' },
    meta: { type: 3, typeName: 'DECIMAL', precision: 10, scale: 4, isSigned: true },
  },
  {
    column: 'c_char',
    ddl: 'CHAR(10)',
    param: { value: { stringValue: 'pad  ' } },
    field: { stringValue: 'pad' },
    meta: { type: 1, typeName: 'CHAR', precision: 10, isCaseSensitive: false },
  },
  {
    column: 'c_varchar',
    ddl: 'VARCHAR(100)',
    param: { value: { stringValue: 'héllo' } },
    field: { stringValue: 'héllo' },
    meta: { type: 12, typeName: 'VARCHAR', precision: 100, isSigned: false, isCaseSensitive: false },
  },
  {
    column: 'c_varchar_bin',
    ddl: 'VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin',
    param: { value: { stringValue: 'Ab' } },
    field: { stringValue: 'Ab' },
    meta: { type: 12, typeName: 'VARCHAR', precision: 20, isCaseSensitive: true },
  },
  {
    column: 'c_text',
    ddl: 'TEXT',
    param: { value: { stringValue: 'text' } },
    field: { stringValue: 'text' },
    meta: { type: -1, typeName: 'TEXT', precision: 65_535 },
  },
  {
    column: 'c_enum',
    ddl: "ENUM('a','b')",
    param: { value: { stringValue: 'b' } },
    field: { stringValue: 'b' },
    meta: { type: 1, typeName: 'ENUM' },
  },
  {
    column: 'c_json',
    ddl: 'JSON',
    param: { value: { stringValue: '{"a": [1, 2]}' }, typeHint: 'JSON' },
    field: { stringValue: '{"a": [1, 2]}' },
    meta: { typeName: 'JSON' },
  },
  {
    column: 'c_binary',
    ddl: 'BINARY(4)',
    param: { value: { blobValue: bytes(1, 2, 3, 4) } },
    field: { blobValue: bytes(1, 2, 3, 4) },
    meta: { type: -2, typeName: 'BINARY', precision: 4, isCaseSensitive: true },
  },
  {
    column: 'c_varbinary',
    ddl: 'VARBINARY(10)',
    param: { value: { blobValue: bytes(10, 11) } },
    field: { blobValue: bytes(10, 11) },
    meta: { type: -3, typeName: 'VARBINARY', precision: 10 },
  },
  {
    column: 'c_blob',
    ddl: 'BLOB',
    param: { value: { blobValue: bytes(255, 0) } },
    field: { blobValue: bytes(255, 0) },
    meta: { type: -4, typeName: 'BLOB', precision: 65_535 },
  },
  {
    column: 'c_date',
    ddl: 'DATE',
    param: { value: { stringValue: '2024-02-29' }, typeHint: 'DATE' },
    field: { stringValue: '2024-02-29' },
    meta: { type: 91, typeName: 'DATE', precision: 10 },
  },
  {
    column: 'c_time',
    ddl: 'TIME(3)',
    param: { value: { stringValue: '12:34:56.120' }, typeHint: 'TIME' },
    field: { stringValue: '12:34:56.12' },
    meta: { type: 92, typeName: 'TIME' },
  },
  {
    column: 'c_datetime',
    ddl: 'DATETIME',
    param: { value: { stringValue: '2024-01-02 03:04:05' }, typeHint: 'TIMESTAMP' },
    field: { stringValue: '2024-01-02 03:04:05' },
    meta: { type: 93, typeName: 'DATETIME', precision: 19 },
  },
  {
    column: 'c_datetime6',
    ddl: 'DATETIME(6)',
    param: { value: { stringValue: '2024-01-02 03:04:05.120000' }, typeHint: 'TIMESTAMP' },
    field: { stringValue: '2024-01-02 03:04:05.12' },
    meta: { type: 93, typeName: 'DATETIME', precision: 26, scale: 0 },
  },
  {
    column: 'c_timestamp',
    ddl: 'TIMESTAMP NULL',
    param: { value: { stringValue: '2024-01-02 03:04:05' }, typeHint: 'TIMESTAMP' },
    field: { stringValue: '2024-01-02 03:04:05' },
    meta: { type: 93, typeName: 'TIMESTAMP', precision: 19 },
  },
  {
    column: 'c_year',
    ddl: 'YEAR',
    param: { value: { longValue: 2024 } },
    field: { stringValue: '2024' },
    meta: { type: 91, typeName: 'YEAR' },
  },
  {
    column: 'c_bit1',
    ddl: 'BIT(1)',
    param: { value: { longValue: 1 } },
    field: { booleanValue: true },
    meta: { type: -7, typeName: 'BIT', precision: 1, isSigned: false },
  },
  {
    column: 'c_bit8',
    ddl: 'BIT(8)',
    param: { value: { longValue: 5 } },
    field: { booleanValue: true },
    meta: { type: -7, typeName: 'BIT', precision: 8 },
  },
  {
    column: 'c_null',
    ddl: 'VARCHAR(5) NULL',
    param: { value: { isNull: true } },
    field: { isNull: true },
    meta: { nullable: 1 },
  },
];

describe('MySQL types through the Data API (records and columnMetadata)', () => {
  let local: LocalDataApi;
  const send = (input: Omit<ConstructorParameters<typeof ExecuteStatementCommand>[0], 'resourceArn' | 'secretArn'>) =>
    local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, ...input }));

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_types');
    const columns = CASES.map((c) => `${c.column} ${c.ddl}`).join(', ');
    await send({ sql: `CREATE TABLE types (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, ${columns})` });
    const inserted = await send({
      sql: `INSERT INTO types (${CASES.map((c) => c.column).join(', ')}) VALUES (${CASES.map((c) => `:${c.column}`).join(', ')})`,
      parameters: CASES.map((c) => ({ name: c.column, ...c.param })),
    });
    expect(inserted).toMatchObject({ numberOfRecordsUpdated: 1, generatedFields: [{ longValue: 1 }] });
  });
  afterAll(() => local?.close());

  it('round-trips every type to its Field and Connector/J-style metadata', async () => {
    const out = await send({
      sql: `SELECT id, ${CASES.map((c) => c.column).join(', ')} FROM types`,
      includeResultMetadata: true,
    });
    expect(out.numberOfRecordsUpdated).toBe(0);
    expect(out).not.toHaveProperty('generatedFields');
    const [row] = out.records ?? [];
    expect(row?.[0]).toEqual({ longValue: 1 });
    expect(out.columnMetadata?.[0]).toEqual({
      name: 'id',
      label: 'id',
      type: 4,
      typeName: 'INT UNSIGNED',
      schemaName: '',
      tableName: 'types',
      isAutoIncrement: true,
      isSigned: false,
      isCurrency: false,
      isCaseSensitive: false,
      nullable: 0,
      precision: 10,
      scale: 0,
      arrayBaseColumnType: 0,
    });
    CASES.forEach((c, index) => {
      expect({ column: c.column, field: row?.[index + 1] }).toEqual({ column: c.column, field: c.field });
      expect(out.columnMetadata?.[index + 1]).toMatchObject({ name: c.column, label: c.column, ...c.meta });
    });
  });

  it('leaves columnMetadata out unless includeResultMetadata is set', async () => {
    const out = await send({ sql: 'SELECT c_int FROM types' });
    expect(out.records).toEqual([[{ longValue: 123 }]]);
    expect(out.columnMetadata).toBeUndefined();
  });

  it('maps expressions by their result type and labels them by alias', async () => {
    const out = await send({
      sql: "SELECT 1 + 1 AS two, COUNT(*) AS n, 1.50 AS d, 1.5e0 AS f, NULL AS nothing, 'x' AS s",
      includeResultMetadata: true,
    });
    expect(out.records).toEqual([
      [
        { longValue: 2 },
        { longValue: 1 },
        { stringValue: '1.50' },
        { doubleValue: 1.5 },
        { isNull: true },
        { stringValue: 'x' },
      ],
    ]);
    expect(out.columnMetadata?.map((c) => [c.label, c.typeName, c.tableName])).toEqual([
      ['two', 'INT', ''],
      ['n', 'BIGINT', ''],
      ['d', 'DECIMAL', ''],
      ['f', 'DOUBLE', ''],
      ['nothing', 'NULL', ''],
      ['s', 'VARCHAR', ''],
    ]);
  });

  it('writes BIGINTs beyond 2^53 with all their digits on the wire', async () => {
    const response = await fetch(`${local.server.url}/Execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...LOCAL_ARNS,
        sql: 'SELECT CAST(9223372036854775807 AS SIGNED) AS max_long, CAST(18446744073709551615 AS UNSIGNED) AS max_unsigned',
      }),
    });
    expect(await response.text()).toBe(
      '{"numberOfRecordsUpdated":0,"records":[[{"longValue":9223372036854775807},{"longValue":18446744073709551615}]]}',
    );
  });

  it('honours resultSetOptions: BIGINT as text, DECIMAL as a number', async () => {
    const out = await send({
      sql: 'SELECT CAST(9223372036854775807 AS SIGNED) AS big, c_decimal, CAST(42 AS DECIMAL(5,0)) AS whole FROM types',
      resultSetOptions: { longReturnType: 'STRING', decimalReturnType: 'DOUBLE_OR_LONG' },
    });
    expect(out.records).toEqual([
      [{ stringValue: '9223372036854775807' }, { doubleValue: 123456.789 }, { longValue: 42 }],
    ]);
  });

  it('formats records as JSON objects keyed by label when asked', async () => {
    const out = await send({
      sql: 'SELECT id, c_bool, c_decimal, c_blob, c_null, c_datetime6, CAST(9223372036854775807 AS SIGNED) AS big FROM types',
      formatRecordsAs: 'JSON',
      includeResultMetadata: true,
    });
    expect(out.records).toBeUndefined();
    expect(out.columnMetadata).toBeUndefined();
    expect(out.numberOfRecordsUpdated).toBe(0);
    expect(out.formattedRecords).toBe(
      `[{"id":1,"c_bool":true,"c_decimal":"123456.7890","c_blob":"${b64(255, 0)}","c_null":null,"c_datetime6":"2024-01-02 03:04:05.12","big":9223372036854775807}]`,
    );
  });

  it('refuses to format duplicate column labels as JSON', async () => {
    const error = await send({ sql: 'SELECT 1 AS a, 2 AS a', formatRecordsAs: 'JSON' }).catch((e) => e);
    expect(error.name).toBe('UnsupportedResultException');
  });

  it('ignores formatRecordsAs for statements that return no rows', async () => {
    const out = await send({ sql: 'UPDATE types SET c_int = c_int WHERE id = 0', formatRecordsAs: 'JSON' });
    expect(out).toMatchObject({ numberOfRecordsUpdated: 0, generatedFields: [] });
    expect(out.formattedRecords).toBeUndefined();
  });

  it('returns an empty records array for an empty result', async () => {
    const out = await send({ sql: 'SELECT id FROM types WHERE id = 0' });
    expect(out.records).toEqual([]);
  });

  it('refuses a response over 1 MiB with the service message', async () => {
    const error = await send({ sql: "SELECT REPEAT('x', 600000) AS a, REPEAT('y', 600000) AS b" }).catch((e) => e);
    expect(error.name).toBe('BadRequestException');
    expect(error.message).toBe('Database returned more than the allowed response size limit');
  });
});
