import { ExecuteStatementCommand, type SqlParameter } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataApiError } from '../../src/local/data-api/errors.js';
import { bindParameters, parseSql } from '../../src/local/data-api/params.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from './data-api-fixture.js';

const MARIADB = { jsonCast: false };

function bind(sql: string, parameters: SqlParameter[] = []): string {
  return bindParameters(parseSql(sql), parameters as Parameters<typeof bindParameters>[1], MARIADB);
}

function failure(run: () => unknown): DataApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof DataApiError) return error;
    throw error;
  }
  throw new Error('expected a DataApiError');
}

describe('named parameters in SQL text', () => {
  it('replaces :name outside quotes, backticks and comments, and leaves := alone', () => {
    const sql = [
      'SELECT :a, \':a\', ":a", `:a`, \'it\'\'s :a\', "say \\":a\\"" -- :a',
      '# :a',
      '/* :a */ @v := :a, :a_b',
    ].join('\n');
    expect(
      bind(sql, [
        { name: 'a', value: { longValue: 1 } },
        { name: 'a_b', value: { longValue: 2 } },
      ]),
    ).toBe(
      ['SELECT 1, \':a\', ":a", `:a`, \'it\'\'s :a\', "say \\":a\\"" -- :a', '# :a', '/* :a */ @v := 1, 2'].join('\n'),
    );
  });

  it('fills a name used several times with the same value', () => {
    expect(bind('SELECT :x + :x', [{ name: 'x', value: { longValue: 2 } }])).toBe('SELECT 2 + 2');
  });

  it('does not take a dash-dash without a blank after it for a comment', () => {
    expect(bind('SELECT 1--:x', [{ name: 'x', value: { longValue: 2 } }])).toBe('SELECT 1--2');
  });

  it('writes each Field as the literal MySQL reads back as the same value', () => {
    const literal = (parameter: Omit<SqlParameter, 'name'>) => bind('SELECT :p', [{ name: 'p', ...parameter }]);
    expect(literal({ value: { isNull: true } })).toBe('SELECT NULL');
    expect(literal({ value: { booleanValue: true } })).toBe('SELECT TRUE');
    expect(literal({ value: { longValue: -42 } })).toBe('SELECT -42');
    expect(literal({ value: { doubleValue: 1.5 } })).toBe('SELECT 1.5e+0');
    expect(literal({ value: { stringValue: "it's \\ fine" } })).toBe("SELECT 'it\\'s \\\\ fine'");
    expect(literal({ value: { blobValue: Buffer.from([0, 255]).toString('base64') as never } })).toBe("SELECT X'00ff'");
    expect(literal({ value: { stringValue: '2024-01-02' }, typeHint: 'DATE' })).toBe(
      "SELECT CAST('2024-01-02' AS DATE)",
    );
    expect(literal({ value: { stringValue: '12:00:01.5' }, typeHint: 'TIME' })).toBe(
      "SELECT CAST('12:00:01.5' AS TIME(6))",
    );
    expect(literal({ value: { stringValue: '2024-01-02 03:04:05.123' }, typeHint: 'TIMESTAMP' })).toBe(
      "SELECT CAST('2024-01-02 03:04:05.123' AS DATETIME(6))",
    );
    expect(literal({ value: { stringValue: '-12.50' }, typeHint: 'DECIMAL' })).toBe('SELECT -12.50');
    expect(literal({ value: { stringValue: '{"a":1}' }, typeHint: 'JSON' })).toBe(`SELECT '{\\"a\\":1}'`);
    expect(
      bindParameters(parseSql('SELECT :p'), [{ name: 'p', value: { stringValue: '{}' }, typeHint: 'JSON' }], {
        jsonCast: true,
      }),
    ).toBe("SELECT CAST('{}' AS JSON)");
  });

  it('rejects ISO 8601 timestamps, as the service does', () => {
    for (const text of ['2024-01-02T03:04:05', '2024-01-02 03:04:05Z', '2024-01-02T03:04:05.000Z']) {
      const error = failure(() =>
        bind('SELECT :t', [{ name: 't', value: { stringValue: text }, typeHint: 'TIMESTAMP' }]),
      );
      expect(error.exception).toBe('BadRequestException');
      expect(error.message).toMatch(/^Timestamp format must be yyyy-mm-dd hh:mm:ss/);
    }
  });

  it('rejects missing, unnamed, repeated and array parameters and values with no or two members', () => {
    const cases: [string, SqlParameter[], RegExp][] = [
      ['SELECT :a, :b', [{ name: 'a', value: { longValue: 1 } }], /No value specified for parameter: b/],
      ['SELECT 1', [{ value: { longValue: 1 } }], /no name/],
      [
        'SELECT :a',
        [
          { name: 'a', value: { longValue: 1 } },
          { name: 'a', value: { longValue: 2 } },
        ],
        /more than once/,
      ],
      ['SELECT :a', [{ name: 'a', value: { arrayValue: { longValues: [1] } } }], /Array parameters are not supported/],
      ['SELECT :a', [{ name: 'a' }], /exactly one member/],
      ['SELECT :a', [{ name: 'a', value: { longValue: 1, stringValue: 'x' } as never }], /exactly one member/],
    ];
    for (const [sql, parameters, message] of cases) {
      const error = failure(() => bind(sql, parameters));
      expect(error.exception).toBe('BadRequestException');
      expect(error.message).toMatch(message);
    }
  });

  it('rejects a second statement, but not a trailing semicolon or comment', () => {
    for (const sql of ['SELECT 1; SELECT 2', 'SELECT 1;DROP TABLE t', "UPDATE t SET a = ';' ; DELETE FROM t"]) {
      const error = failure(() => parseSql(sql));
      expect(error.exception).toBe('ValidationException');
      expect(error.message).toBe("Multistatements aren't supported.");
    }
    expect(bind('SELECT 1;')).toBe('SELECT 1');
    expect(bind('SELECT 1 ; -- done\n ; /* really */ ')).toBe('SELECT 1 ');
    expect(bind("SELECT ';' AS semicolon")).toBe("SELECT ';' AS semicolon");
  });

  it('finds the first keyword after comments and parentheses', () => {
    expect(parseSql('/* x */ -- y\n (SELECT 1)').keyword).toBe('SELECT');
    expect(parseSql('update t set a = 1').keyword).toBe('UPDATE');
  });
});

describe('parameters through the SDK', () => {
  let local: LocalDataApi;
  const send = (sql: string, parameters?: SqlParameter[]) =>
    local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql, parameters }));

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_params');
  });
  afterAll(() => local?.close());

  it('binds each kind of value with the type MySQL sees', async () => {
    const out = await send(
      "SELECT :s = 'x' AND :i = 42 AND :d = 1.5 AND :b IS TRUE AND :n IS NULL AND :blob = X'0102' AS ok, :i + :i AS sum, CAST(:ts AS CHAR) AS ts",
      [
        { name: 's', value: { stringValue: 'x' } },
        { name: 'i', value: { longValue: 42 } },
        { name: 'd', value: { doubleValue: 1.5 } },
        { name: 'b', value: { booleanValue: true } },
        { name: 'n', value: { isNull: true } },
        { name: 'blob', value: { blobValue: new Uint8Array([1, 2]) } },
        { name: 'ts', value: { stringValue: '2024-01-02 03:04:05' }, typeHint: 'TIMESTAMP' },
      ],
    );
    expect(out.records).toEqual([[{ longValue: 1 }, { longValue: 84 }, { stringValue: '2024-01-02 03:04:05.000000' }]]);
  });

  it('answers a missing parameter with BadRequestException and a second statement with ValidationException', async () => {
    const missing = await send('SELECT :nope').catch((e) => e);
    expect(missing.name).toBe('BadRequestException');
    const multi = await send('SELECT 1; SELECT 2').catch((e) => e);
    expect(multi.name).toBe('ValidationException');
    expect(multi.message).toBe("Multistatements aren't supported.");
  });

  it('rejects the schema parameter, as v2 does', async () => {
    const error = await local.client
      .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1', schema: 'public' }))
      .catch((e) => e);
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe("The schema parameter isn't supported");
  });
});
