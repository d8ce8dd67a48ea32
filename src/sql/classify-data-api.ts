import { LeaseStoreError, StoreErrorKind } from '../errors.js';
import { abortedError } from './classify.js';
import { withSetUpHint } from './not-set-up.js';

/**
 * Data API exceptions after which the same call can succeed later. The SDK has already retried
 * the 5xx and throttling ones (three attempts by default) before they reach us.
 */
const TRANSIENT_EXCEPTIONS = new Set([
  'DatabaseResumingException',
  'DatabaseUnavailableException',
  'ServiceUnavailableError',
  'InternalServerErrorException',
  'StatementTimeoutException',
  'ThrottlingException',
  'TooManyRequestsException',
]);

/**
 * Failures where the statement may have run and committed without an answer reaching us: a
 * timeout on the server, or a 5xx from a service that had the request.
 */
const AMBIGUOUS_EXCEPTIONS = new Set([
  'StatementTimeoutException',
  'InternalServerErrorException',
  'ServiceUnavailableError',
  'DatabaseUnavailableException',
]);

/** Socket failures after the request may have been sent: the statement may have run. */
const AMBIGUOUS_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** Socket failures before anything was sent. */
const UNSENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The SDK's own request timeouts (NodeHttpHandler `requestTimeout`, `socketTimeout`). */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/**
 * MySQL errors the v2 service reports as DatabaseErrorException (`…; Error code: N; SQLState: S`)
 * that clear up by themselves, the same set the mysql2 adapter retries: deadlock, lock wait
 * timeout, too many connections, shutdown, interrupted or timed-out query.
 */
const TRANSIENT_MYSQL_ERRNOS = new Set([1213, 1205, 1040, 1053, 1317, 3024, 1969]);

interface SdkErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
}

/** Maps an error from `RDSDataClient.send` to a classified store error. */
export function classifyDataApiError(error: unknown, signal?: AbortSignal): LeaseStoreError {
  if (error instanceof LeaseStoreError) return error;
  // The call's own deadline or the caller's signal: the statement may still commit.
  if (signal?.aborted) return abortedError(signal.reason);
  const e = (error ?? {}) as SdkErrorLike;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : name;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const status = e.$metadata?.httpStatusCode;
  // Every retried attempt before the last one may have reached the database.
  const retried = (e.$metadata?.attempts ?? 1) > 1;

  let transient: boolean;
  let ambiguous: boolean;
  if (name === 'AbortError') {
    return abortedError(error);
  } else if (TRANSIENT_EXCEPTIONS.has(name)) {
    transient = true;
    ambiguous = AMBIGUOUS_EXCEPTIONS.has(name);
  } else if (name === 'DatabaseErrorException') {
    const errno = Number(/Error code: (\d+)/.exec(message)?.[1]);
    transient = TRANSIENT_MYSQL_ERRNOS.has(errno);
    ambiguous = false;
  } else if (AMBIGUOUS_NETWORK_CODES.has(code) || TIMEOUT_NAMES.has(name)) {
    transient = true;
    ambiguous = true;
  } else if (UNSENT_NETWORK_CODES.has(code)) {
    transient = true;
    ambiguous = false;
  } else if (status !== undefined && status >= 500) {
    // An unmodelled 5xx, e.g. a gateway's HTML page that the SDK could not parse.
    transient = true;
    ambiguous = true;
  } else {
    // Access, secrets, endpoint, missing database, bad requests, SQL errors, missing region or credentials.
    transient = false;
    ambiguous = false;
  }
  return new LeaseStoreError(
    `Data API call failed (${code}): ${transient ? message : withSetUpHint(message)}`,
    {
      kind: transient ? StoreErrorKind.TRANSIENT : StoreErrorKind.PERMANENT,
      code,
      ambiguous: ambiguous || (transient && retried),
    },
    { cause: error },
  );
}
