/**
 * The HTTP side of the local Data API: restJson1 routing, request size limits, the error envelope
 * the SDK decodes (status, `x-amzn-ErrorType`, `{"message"}`), request ids, and fault hooks. A bad
 * request is answered with the service's error and never stops the server.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type * as z from 'zod';
import { DataApiError } from './errors.js';
import {
  batchExecuteStatement,
  beginTransaction,
  commitTransaction,
  type ExecutionContext,
  executeStatement,
  rollbackTransaction,
} from './execute.js';
import { DataApiOperation, type FaultPlan, type FaultTable } from './faults.js';
import { stringifyJson } from './json.js';
import {
  BatchExecuteStatementRequest,
  BeginTransactionRequest,
  EndTransactionRequest,
  ExecuteStatementRequest,
  parseRequest,
} from './requests.js';

interface Route<T> {
  readonly operation: DataApiOperation;
  readonly schema: z.ZodType<T>;
  readonly sql: (request: T) => string | undefined;
  readonly handle: (ctx: ExecutionContext, request: T) => Promise<string>;
}

function route<T>(route: Route<T>): Route<unknown> {
  return route as unknown as Route<unknown>;
}

/** restJson1 paths of rds-data; the SDK posts to `<endpoint path>/<Operation path>`. */
const ROUTES: Readonly<Record<string, Route<unknown>>> = {
  Execute: route({
    operation: DataApiOperation.EXECUTE_STATEMENT,
    schema: ExecuteStatementRequest,
    sql: (request) => request.sql,
    handle: executeStatement,
  }),
  BatchExecute: route({
    operation: DataApiOperation.BATCH_EXECUTE_STATEMENT,
    schema: BatchExecuteStatementRequest,
    sql: (request) => request.sql,
    handle: batchExecuteStatement,
  }),
  BeginTransaction: route({
    operation: DataApiOperation.BEGIN_TRANSACTION,
    schema: BeginTransactionRequest,
    sql: () => undefined,
    handle: beginTransaction,
  }),
  CommitTransaction: route({
    operation: DataApiOperation.COMMIT_TRANSACTION,
    schema: EndTransactionRequest,
    sql: () => undefined,
    handle: commitTransaction,
  }),
  RollbackTransaction: route({
    operation: DataApiOperation.ROLLBACK_TRANSACTION,
    schema: EndTransactionRequest,
    sql: () => undefined,
    handle: rollbackTransaction,
  }),
};

export interface HttpOptions {
  readonly maxRequestBytes: number;
  readonly log: (line: string) => void;
  /** Refuses a call before it runs, as a cluster without a writer does (see cluster-role.ts). */
  readonly checkCluster?: (resourceArn: string) => Promise<void>;
}

/** A request body over the limit is read to its end (so the client hears the answer) up to this many bytes. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

export function createDataApiHttpServer(ctx: ExecutionContext, faults: FaultTable, options: HttpOptions): Server {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      options.log(`lease-guard local Data API: unexpected failure: ${String(error)}`);
      if (!res.headersSent) sendError(res, new DataApiError('InternalServerErrorException', 'Internal error'));
      else res.destroy();
    });
  });
  // Malformed HTTP is answered by Node; a socket error must not take the server down.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-amzn-RequestId', randomUUID());
    const body = await readBody(req, options.maxRequestBytes);
    if (body === CLIENT_GONE) return;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const name = path.slice(path.lastIndexOf('/') + 1);
    const selected = req.method === 'POST' && Object.hasOwn(ROUTES, name) ? ROUTES[name] : undefined;
    try {
      if (body === TOO_LARGE) {
        throw new DataApiError(
          'BadRequestException',
          `The request is larger than the ${options.maxRequestBytes}-byte limit.`,
        );
      }
      if (req.method === 'POST' && name === 'ExecuteSql') {
        throw new DataApiError(
          'BadRequestException',
          "ExecuteSql isn't supported for Aurora Serverless v2 and provisioned DB clusters. Use ExecuteStatement.",
        );
      }
      if (!selected) {
        throw new DataApiError('UnknownOperationException', `Unknown operation ${req.method} ${path || '/'}`);
      }
      const request = parseRequest(selected.schema, parseJson(body));
      await options.checkCluster?.((request as { resourceArn: string }).resourceArn);
      const plan = faults.plan(selected.operation, selected.sql(request));
      await respond(res, plan, () => selected.handle(ctx, request));
    } catch (error) {
      if (error instanceof DataApiError) sendError(res, error);
      else throw error;
    }
  }

  return server;
}

async function respond(res: ServerResponse, plan: FaultPlan, work: () => Promise<string>): Promise<void> {
  if (plan.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, plan.latencyMs));
  if (plan.hang) {
    if (!res.socket?.destroyed) await once(res, 'close');
    return;
  }
  if (plan.exception) {
    const { name, message, dbConnectionId } = plan.exception;
    const extra = dbConnectionId === undefined ? undefined : { dbConnectionId };
    throw new DataApiError(name, message, extra ? { extra } : undefined);
  }
  const body = await work();
  if (plan.dropResponse) {
    res.socket?.destroy();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, error: DataApiError): void {
  if (res.headersSent || res.socket?.destroyed) return;
  const body = stringifyJson({ message: error.message, ...(error.extra as Record<string, string | number>) });
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    // The service's form; the SDK keeps the part before the colon.
    'x-amzn-ErrorType': `${error.exception}:http://internal.amazon.com/coral/com.amazon.rdsdataservice/`,
  });
  res.end(body);
}

const TOO_LARGE = Symbol('too large');
const CLIENT_GONE = Symbol('client gone');

/** The body as text; over the limit it is still read (up to the drain limit) so the client hears the answer. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE | typeof CLIENT_GONE> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > DRAIN_LIMIT_BYTES) {
        req.destroy();
        return CLIENT_GONE;
      }
      if (size <= limit) chunks.push(chunk as Buffer);
    }
  } catch {
    // The client hung up mid-body: nobody is left to answer.
    return CLIENT_GONE;
  }
  return size > limit ? TOO_LARGE : Buffer.concat(chunks).toString('utf8');
}

function parseJson(body: string): unknown {
  if (body.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new DataApiError('SerializationException', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DataApiError('SerializationException', 'The request body must be a JSON object.');
  }
  return value;
}
