import * as rdsData from '@aws-sdk/client-rds-data';
import { ExecuteStatementCommand, RDSDataServiceException } from '@aws-sdk/client-rds-data';
import { ConfiguredRetryStrategy, DEFAULT_MAX_ATTEMPTS } from '@smithy/core/retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_API_EXCEPTIONS, type DataApiExceptionName } from '../../src/local/data-api/index.js';
import { LOCAL_ARNS, type LocalDataApi, localClient, startLocalDataApi } from './data-api-fixture.js';

// Every exception the server can send, as the SDK sees it: its class (or the base class with the
// name, for the unmodelled ones), its fault, and the SDK's own retry decision, which follows the
// status code and the throttling names (data-api.md section (c)).
const MODELLED = new Set(
  Object.keys(DATA_API_EXCEPTIONS).filter((name) => typeof (rdsData as Record<string, unknown>)[name] === 'function'),
);
const RETRIED_BY_SDK = new Set<DataApiExceptionName>([
  'InternalServerErrorException',
  'ServiceUnavailableError',
  'DatabaseUnavailableException',
  'ThrottlingException',
]);

describe('Data API exceptions through the real SDK client', () => {
  let local: LocalDataApi;

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_exceptions');
  });
  afterAll(() => local?.close());

  it('knows the class of every modelled exception', () => {
    expect([...MODELLED].sort()).toEqual(
      [
        'AccessDeniedException',
        'BadRequestException',
        'DatabaseErrorException',
        'DatabaseNotFoundException',
        'DatabaseResumingException',
        'DatabaseUnavailableException',
        'ForbiddenException',
        'HttpEndpointNotEnabledException',
        'InternalServerErrorException',
        'InvalidResourceStateException',
        'InvalidSecretException',
        'NotFoundException',
        'SecretsErrorException',
        'ServiceUnavailableError',
        'StatementTimeoutException',
        'TransactionNotFoundException',
        'UnsupportedResultException',
      ].sort(),
    );
  });

  it.each(Object.keys(DATA_API_EXCEPTIONS) as DataApiExceptionName[])(
    '%s arrives as its SDK class with the SDK default retry decision',
    async (name) => {
      // The SDK's standard strategy and attempt count; only the back-off is shortened (throttling waits seconds).
      const client = localClient(local.server, { retryStrategy: new ConfiguredRetryStrategy(DEFAULT_MAX_ATTEMPTS, 1) });
      const fault = local.server.faults.inject({ exception: name, message: `injected ${name}`, match: /fault-probe/ });
      try {
        const error = await client
          .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: "SELECT 'fault-probe'" }))
          .then(
            () => undefined,
            (caught: unknown) => caught as RDSDataServiceException,
          );
        expect(error).toBeInstanceOf(RDSDataServiceException);
        const modelled = (rdsData as Record<string, unknown>)[name];
        if (MODELLED.has(name)) expect(error).toBeInstanceOf(modelled as typeof RDSDataServiceException);
        expect(error?.name).toBe(name);
        expect(error?.message).toBe(`injected ${name}`);
        expect(error?.$metadata.httpStatusCode).toBe(DATA_API_EXCEPTIONS[name]);
        expect(error?.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
        const attempts = RETRIED_BY_SDK.has(name) ? DEFAULT_MAX_ATTEMPTS : 1;
        expect(error?.$metadata.attempts).toBe(attempts);
        expect(fault.hits).toBe(attempts);
      } finally {
        fault.remove();
        client.destroy();
      }
    },
  );

  it('uses the SDK defaults as they are: three attempts for a 5xx, one for DatabaseResumingException', async () => {
    const client = localClient(local.server);
    try {
      const unavailable = local.server.faults.inject({ exception: 'DatabaseUnavailableException', count: 2 });
      const out = await client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1' }));
      expect(out.$metadata.attempts).toBe(3);
      expect(unavailable.hits).toBe(2);

      local.server.faults.inject({ exception: 'DatabaseResumingException', count: 1 });
      const resuming = await client
        .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1' }))
        .catch((e) => e);
      expect(resuming).toBeInstanceOf(rdsData.DatabaseResumingException);
      expect(resuming.$fault).toBe('client');
      expect(resuming.$metadata.attempts).toBe(1);
      expect(resuming.message).toMatch(/is resuming after being auto-paused/);
      expect((await client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1' }))).records).toEqual([
        [{ longValue: 1 }],
      ]);
    } finally {
      local.server.faults.clear();
      client.destroy();
    }
  });

  it('gives a StatementTimeoutException its dbConnectionId and a 5xx its server fault', async () => {
    const client = localClient(local.server, { maxAttempts: 1 });
    try {
      local.server.faults.inject({ exception: 'StatementTimeoutException', dbConnectionId: 4242, count: 1 });
      const timeout = await client
        .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1' }))
        .catch((e) => e);
      expect(timeout).toBeInstanceOf(rdsData.StatementTimeoutException);
      expect(timeout.dbConnectionId).toBe(4242);

      local.server.faults.inject({ exception: 'InternalServerErrorException', count: 1 });
      const internal = await client
        .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1' }))
        .catch((e) => e);
      expect(internal).toBeInstanceOf(rdsData.InternalServerErrorException);
      expect(internal.$fault).toBe('server');
    } finally {
      local.server.faults.clear();
      client.destroy();
    }
  });

  it('reports SQL errors as DatabaseErrorException with the MySQL error code and SQL state', async () => {
    const error = await local.client
      .send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT * FROM no_such_table' }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(rdsData.DatabaseErrorException);
    expect(error.message).toMatch(/no_such_table' doesn't exist; Error code: 1146; SQLState: 42S02$/);
    expect(error.$metadata.attempts).toBe(1);
  });
});
