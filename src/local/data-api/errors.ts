/**
 * The exceptions the Data API models, with the HTTP status the SDK's retry decisions depend on
 * (data-api.md section (c)), plus the unmodelled ones the service and its front door send.
 */
export const DATA_API_EXCEPTIONS = {
  AccessDeniedException: 403,
  BadRequestException: 400,
  DatabaseErrorException: 400,
  DatabaseNotFoundException: 404,
  DatabaseResumingException: 400,
  DatabaseUnavailableException: 504,
  ForbiddenException: 403,
  HttpEndpointNotEnabledException: 400,
  InternalServerErrorException: 500,
  InvalidResourceStateException: 400,
  InvalidSecretException: 400,
  NotFoundException: 404,
  SecretsErrorException: 400,
  ServiceUnavailableError: 503,
  StatementTimeoutException: 400,
  TransactionNotFoundException: 404,
  UnsupportedResultException: 400,
  // Not in the rds-data model; sent by the service or the AWS front door.
  ValidationException: 400,
  SerializationException: 400,
  UnknownOperationException: 404,
  ThrottlingException: 400,
} as const;

export type DataApiExceptionName = keyof typeof DATA_API_EXCEPTIONS;

/** An error the server answers with: the exception name, its status and any extra body members. */
export class DataApiError extends Error {
  readonly exception: DataApiExceptionName;
  readonly status: number;
  /** Extra members of the JSON body, e.g. `dbConnectionId` for StatementTimeoutException. */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    exception: DataApiExceptionName,
    message: string,
    options?: ErrorOptions & { extra?: Record<string, unknown> },
  ) {
    super(message, options);
    this.name = exception;
    this.exception = exception;
    this.status = DATA_API_EXCEPTIONS[exception];
    this.extra = options?.extra ?? {};
  }
}

export function badRequest(message: string): DataApiError {
  return new DataApiError('BadRequestException', message);
}

interface MysqlErrorLike {
  readonly errno?: unknown;
  readonly sqlState?: unknown;
  readonly sqlMessage?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
}

/**
 * An error from MySQL as the v2 service reports it: DatabaseErrorException ending in
 * `; Error code: <errno>; SQLState: <state>` (the form cloud-utils/aurora-data-api parses).
 * Errors without an SQL state (refused or lost connections) become DatabaseUnavailableException,
 * the 504 the service sends while the writer is unreachable (the SDK retries it).
 */
export function databaseError(error: unknown): DataApiError {
  if (error instanceof DataApiError) return error;
  const e = (error ?? {}) as MysqlErrorLike;
  const text = typeof e.sqlMessage === 'string' ? e.sqlMessage : typeof e.message === 'string' ? e.message : '';
  if (typeof e.errno === 'number' && typeof e.sqlState === 'string') {
    return new DataApiError('DatabaseErrorException', `${text}; Error code: ${e.errno}; SQLState: ${e.sqlState}`, {
      cause: error,
    });
  }
  return new DataApiError('DatabaseUnavailableException', `The database is unavailable: ${text || String(error)}`, {
    cause: error,
  });
}
