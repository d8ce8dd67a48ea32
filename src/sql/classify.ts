import { LeaseStoreError, StoreErrorKind } from '../errors.js';
import { withSetUpHint } from './not-set-up.js';

/** Network and server states after which retrying the same statement can succeed. */
const TRANSIENT_MYSQL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_QUERY_TIMEOUT',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);

/** Failures where the statement may have reached the server and committed without us hearing. */
const AMBIGUOUS_MYSQL_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
]);

/**
 * A server running read-only: what an old writer is for a moment after a failover. The statement
 * did not run; a retry reaches the new writer once the endpoint moves. ER_OPTION_PREVENTS_STATEMENT
 * is raised for other server options too, which stay permanent.
 */
function readOnlyServer(code: string, message: unknown): boolean {
  return code === 'ER_OPTION_PREVENTS_STATEMENT' && typeof message === 'string' && /read[-_ ]only/i.test(message);
}

/** Maps a mysql2 (or Node socket) error to a classified store error. */
export function classifyMysqlError(error: unknown): LeaseStoreError {
  if (error instanceof LeaseStoreError) return error;
  const e = error as { code?: unknown; errno?: unknown; message?: unknown; fatal?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'UNKNOWN';
  const transient = TRANSIENT_MYSQL_CODES.has(code) || readOnlyServer(code, e?.message);
  const message = withSetUpHint(
    typeof e?.message === 'string' ? e.message : String(error),
    typeof e?.errno === 'number' ? e.errno : undefined,
  );
  return new LeaseStoreError(
    `MySQL statement failed (${code}): ${message}`,
    {
      kind: transient ? StoreErrorKind.TRANSIENT : StoreErrorKind.PERMANENT,
      code,
      ambiguous: AMBIGUOUS_MYSQL_CODES.has(code),
    },
    { cause: error },
  );
}

/** The error raised when a caller's deadline aborts a statement: transient and ambiguous. */
export function abortedError(reason: unknown): LeaseStoreError {
  return new LeaseStoreError(
    'The statement was abandoned at its deadline; it may still commit.',
    { kind: StoreErrorKind.TRANSIENT, code: 'Aborted', ambiguous: true },
    { cause: reason },
  );
}
