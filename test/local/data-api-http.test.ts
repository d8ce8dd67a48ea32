import { once } from 'node:events';
import { ExecuteStatementCommand } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from './data-api-fixture.js';

interface Answer {
  readonly status: number;
  readonly errorType: string | null;
  readonly requestId: string | null;
  readonly body: unknown;
}

/** Malformed input must get the service's error and leave the server serving. */
describe('the local Data API over raw HTTP', () => {
  let local: LocalDataApi;

  async function post(path: string, body: string, method = 'POST'): Promise<Answer> {
    const response = await fetch(`${local.server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      errorType: response.headers.get('x-amzn-errortype')?.split(':')[0] ?? null,
      requestId: response.headers.get('x-amzn-requestid'),
      body: text ? JSON.parse(text) : undefined,
    };
  }

  async function stillServes(): Promise<void> {
    const out = await local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql: 'SELECT 1' }));
    expect(out.records).toEqual([[{ longValue: 1 }]]);
  }

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_http');
  });
  afterAll(() => local?.close());

  it.each([
    ['bad JSON', '/Execute', '{"sql": ', 400, 'SerializationException', /not valid JSON/],
    ['a JSON array', '/Execute', '[1]', 400, 'SerializationException', /must be a JSON object/],
    ['no sql', '/Execute', JSON.stringify({ ...LOCAL_ARNS }), 400, 'BadRequestException', /'sql'/],
    [
      'no resourceArn',
      '/Execute',
      JSON.stringify({ secretArn: 'x', sql: 'SELECT 1' }),
      400,
      'BadRequestException',
      /'resourceArn'/,
    ],
    [
      'no secretArn',
      '/BeginTransaction',
      JSON.stringify({ resourceArn: 'x' }),
      400,
      'BadRequestException',
      /'secretArn'/,
    ],
    [
      'no transactionId',
      '/CommitTransaction',
      JSON.stringify(LOCAL_ARNS),
      400,
      'BadRequestException',
      /'transactionId'/,
    ],
    ['an empty body', '/RollbackTransaction', '', 400, 'BadRequestException', /'resourceArn'/],
    [
      'sql of the wrong type',
      '/Execute',
      JSON.stringify({ ...LOCAL_ARNS, sql: 5 }),
      400,
      'SerializationException',
      /'sql'/,
    ],
    [
      'a nested member of the wrong type',
      '/Execute',
      JSON.stringify({ ...LOCAL_ARNS, sql: 'SELECT :a', parameters: [{ name: 'a', value: { longValue: 'x' } }] }),
      400,
      'SerializationException',
      /parameters\[0\]\.value\.longValue/,
    ],
    [
      'an unknown enum value',
      '/Execute',
      JSON.stringify({ ...LOCAL_ARNS, sql: 'SELECT 1', formatRecordsAs: 'XML' }),
      400,
      'ValidationException',
      /formatRecordsAs/,
    ],
    ['an unknown path', '/Nope', '{}', 404, 'UnknownOperationException', /Nope/],
    ['a path named like an object member', '/constructor', '{}', 404, 'UnknownOperationException', /constructor/],
    ['the deprecated ExecuteSql', '/ExecuteSql', '{}', 400, 'BadRequestException', /ExecuteSql isn't supported/],
  ])('answers %s with the service error', async (_what, path, body, status, errorType, message) => {
    const answer = await post(path, body);
    expect(answer).toMatchObject({ status, errorType });
    expect((answer.body as { message: string }).message).toMatch(message);
    expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await stillServes();
  });

  it('answers a wrong method with UnknownOperationException', async () => {
    expect(await post('/Execute', '', 'GET')).toMatchObject({ status: 404, errorType: 'UnknownOperationException' });
    await stillServes();
  });

  it('refuses a body over 4 MiB with BadRequestException and keeps serving', async () => {
    const sql = `SELECT '${'x'.repeat(4 * 1024 * 1024)}'`;
    const answer = await post('/Execute', JSON.stringify({ ...LOCAL_ARNS, sql }));
    expect(answer).toMatchObject({ status: 400, errorType: 'BadRequestException' });
    expect((answer.body as { message: string }).message).toMatch(/larger than the 4194304-byte limit/);
    await stillServes();
  });

  it('survives garbage that is not HTTP', async () => {
    const { connect } = await import('node:net');
    const socket = connect(local.server.port, '127.0.0.1');
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('\u0000\u0001 not http at all\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it('survives a client that hangs up in the middle of a body', async () => {
    const { connect } = await import('node:net');
    const socket = connect(local.server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'POST /Execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"sql":',
    );
    socket.destroy();
    await stillServes();
  });

  it('answers under an endpoint with a path prefix, as the SDK sends it', async () => {
    const answer = await post('/prefix/Execute', JSON.stringify({ ...LOCAL_ARNS, sql: 'SELECT 2 AS two' }));
    expect(answer).toMatchObject({ status: 200, body: { numberOfRecordsUpdated: 0, records: [[{ longValue: 2 }]] } });
  });
});
