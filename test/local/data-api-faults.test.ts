import {
  BeginTransactionCommand,
  DatabaseResumingException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
} from '@aws-sdk/client-rds-data';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataApiOperation } from '../../src/local/data-api/index.js';
import { until } from '../support/until.js';
import { LOCAL_ARNS, type LocalDataApi, localClient, startLocalDataApi } from './data-api-fixture.js';

describe('fault hooks of the local Data API', () => {
  let local: LocalDataApi;
  let direct: mysql.Connection;
  const send = (
    input: Omit<ExecuteStatementCommandInput, 'resourceArn' | 'secretArn'>,
    options?: { abortSignal?: AbortSignal },
  ) => local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, ...input }), options);
  const count = async () =>
    Number((await direct.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM hits'))[0][0]?.n);

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_faults');
    direct = await mysql.createConnection({ uri: local.mysqlUrl });
    await direct.query('CREATE TABLE hits (id INT AUTO_INCREMENT PRIMARY KEY)');
  });
  afterEach(() => local.server.faults.clear());
  afterAll(async () => {
    await direct?.end();
    await local?.close();
  });

  it('fails exactly count matching calls, then lets them through', async () => {
    const fault = local.server.faults.inject({ exception: 'DatabaseResumingException', count: 2 });
    await expect(send({ sql: 'SELECT 1' })).rejects.toBeInstanceOf(DatabaseResumingException);
    await expect(send({ sql: 'SELECT 1' })).rejects.toBeInstanceOf(DatabaseResumingException);
    expect((await send({ sql: 'SELECT 1' })).records).toEqual([[{ longValue: 1 }]]);
    expect(fault.hits).toBe(2);
  });

  it('matches on SQL text and on operations', async () => {
    local.server.faults.inject({ exception: 'DatabaseResumingException', match: /UPDATE/ });
    expect((await send({ sql: 'SELECT 1' })).records).toEqual([[{ longValue: 1 }]]);
    await expect(send({ sql: 'UPDATE hits SET id = id' })).rejects.toBeInstanceOf(DatabaseResumingException);

    local.server.faults.clear();
    local.server.faults.inject({
      exception: 'DatabaseResumingException',
      operations: [DataApiOperation.BEGIN_TRANSACTION],
    });
    expect((await send({ sql: 'SELECT 1' })).records).toEqual([[{ longValue: 1 }]]);
    await expect(local.client.send(new BeginTransactionCommand(LOCAL_ARNS))).rejects.toBeInstanceOf(
      DatabaseResumingException,
    );
  });

  it('retires a fault after forMs', async () => {
    const fault = local.server.faults.inject({ exception: 'DatabaseResumingException', forMs: 50 });
    await expect(send({ sql: 'SELECT 1' })).rejects.toBeInstanceOf(DatabaseResumingException);
    await until(
      async () =>
        await send({ sql: 'SELECT 1' }).then(
          () => true,
          () => false,
        ),
      { what: 'the fault to retire' },
    );
    const hits = fault.hits;
    await send({ sql: 'SELECT 1' });
    expect(fault.hits).toBe(hits);
  });

  it('stops a fault when removed', async () => {
    const fault = local.server.faults.inject({ exception: 'DatabaseResumingException' });
    await expect(send({ sql: 'SELECT 1' })).rejects.toBeInstanceOf(DatabaseResumingException);
    fault.remove();
    expect((await send({ sql: 'SELECT 1' })).records).toEqual([[{ longValue: 1 }]]);
  });

  it('drops the response after the statement committed: the SDK retries and the statement runs twice', async () => {
    const before = await count();
    const fault = local.server.faults.inject({ dropResponseAfterCommit: true, count: 1, match: /INSERT/ });
    const out = await send({ sql: 'INSERT INTO hits () VALUES ()' });
    expect(out.$metadata.attempts).toBe(2);
    expect(fault.hits).toBe(1);
    expect(await count()).toBe(before + 2);
  });

  it('drops the response: a client that does not retry sees a network error after the commit', async () => {
    const client = localClient(local.server, { maxAttempts: 1 });
    try {
      const before = await count();
      local.server.faults.inject({ dropResponseAfterCommit: true, count: 1 });
      const error = await client
        .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'INSERT INTO hits () VALUES ()' }))
        .catch((e) => e);
      expect(error.code ?? error.name).toMatch(/ECONNRESET|socket hang up/);
      expect(await count()).toBe(before + 1);
    } finally {
      client.destroy();
    }
  });

  it('hangs until the client gives up, without running the call, and keeps serving', async () => {
    const before = await count();
    const fault = local.server.faults.inject({ hangUntilClientGivesUp: true, count: 1 });
    const controller = new AbortController();
    const call = send({ sql: 'INSERT INTO hits () VALUES ()' }, { abortSignal: controller.signal }).catch((e) => e);
    await fault.waitForHits(1);
    controller.abort();
    expect((await call).name).toBe('AbortError');
    expect(await count()).toBe(before);
    expect((await send({ sql: 'SELECT 1' })).records).toEqual([[{ longValue: 1 }]]);
  });

  it('delays calls by latencyMs and still runs them', async () => {
    const fault = local.server.faults.inject({ latencyMs: 20, count: 1 });
    expect((await send({ sql: 'SELECT 1' })).records).toEqual([[{ longValue: 1 }]]);
    expect(fault.hits).toBe(1);
  });

  it('rejects a rule with no effect or several', () => {
    expect(() => local.server.faults.inject({ count: 1 } as never)).toThrow(/exactly one/);
    expect(() => local.server.faults.inject({ latencyMs: 1, exception: 'BadRequestException' } as never)).toThrow(
      /exactly one/,
    );
  });
});
