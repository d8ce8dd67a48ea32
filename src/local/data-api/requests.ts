/**
 * The request shapes of the five operations (data-api.md section (a)). The SDK does not check
 * required members client-side, so the server does: a missing member is a BadRequestException
 * naming it, a member of the wrong JSON type a SerializationException, a value outside an enum a
 * ValidationException. Unknown members are dropped, as the service does.
 */
import * as z from 'zod';
import { DataApiError } from './errors.js';

const Arn = z.string().min(1);

const ArrayValue: z.ZodType<unknown> = z.lazy(() =>
  z.object({
    booleanValues: z.array(z.boolean()).optional(),
    longValues: z.array(z.number().int()).optional(),
    doubleValues: z.array(z.number()).optional(),
    stringValues: z.array(z.string()).optional(),
    arrayValues: z.array(ArrayValue).optional(),
  }),
);

export const FieldInput = z.object({
  isNull: z.boolean().optional(),
  booleanValue: z.boolean().optional(),
  longValue: z.number().int().optional(),
  doubleValue: z.number().optional(),
  stringValue: z.string().optional(),
  blobValue: z.string().optional(),
  arrayValue: ArrayValue.optional(),
});
export type FieldInput = z.infer<typeof FieldInput>;

export const TypeHint = z.enum(['DATE', 'DECIMAL', 'JSON', 'TIME', 'TIMESTAMP', 'UUID']);
export type TypeHint = z.infer<typeof TypeHint>;

export const SqlParameterInput = z.object({
  name: z.string().optional(),
  value: FieldInput.optional(),
  typeHint: TypeHint.optional(),
});
export type SqlParameterInput = z.infer<typeof SqlParameterInput>;

const Target = {
  resourceArn: Arn,
  secretArn: Arn,
  database: z.string().optional(),
  schema: z.string().optional(),
};

export const ExecuteStatementRequest = z.object({
  ...Target,
  sql: z.string().min(1),
  parameters: z.array(SqlParameterInput).optional(),
  transactionId: z.string().optional(),
  includeResultMetadata: z.boolean().optional(),
  continueAfterTimeout: z.boolean().optional(),
  resultSetOptions: z
    .object({
      decimalReturnType: z.enum(['STRING', 'DOUBLE_OR_LONG']).optional(),
      longReturnType: z.enum(['LONG', 'STRING']).optional(),
    })
    .optional(),
  formatRecordsAs: z.enum(['NONE', 'JSON']).optional(),
});
export type ExecuteStatementRequest = z.infer<typeof ExecuteStatementRequest>;

export const BatchExecuteStatementRequest = z.object({
  ...Target,
  sql: z.string().min(1),
  parameterSets: z.array(z.array(SqlParameterInput)).optional(),
  transactionId: z.string().optional(),
});
export type BatchExecuteStatementRequest = z.infer<typeof BatchExecuteStatementRequest>;

export const BeginTransactionRequest = z.object(Target);
export type BeginTransactionRequest = z.infer<typeof BeginTransactionRequest>;

export const EndTransactionRequest = z.object({
  resourceArn: Arn,
  secretArn: Arn,
  transactionId: z.string().min(1),
});
export type EndTransactionRequest = z.infer<typeof EndTransactionRequest>;

/** Parses a request body against its shape, or throws the service's error for the first problem. */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const member = issue ? memberPath(issue.path) : 'request';
  if (!issue || (issue.code === 'invalid_type' && valueAt(body, issue.path) === undefined)) {
    throw new DataApiError('BadRequestException', `The request is missing the required member '${member}'.`);
  }
  if (issue.code === 'too_small') {
    throw new DataApiError('BadRequestException', `The member '${member}' must not be empty.`);
  }
  if (issue.code === 'invalid_value') {
    throw new DataApiError(
      'ValidationException',
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: ${issue.message}`,
    );
  }
  throw new DataApiError('SerializationException', `Invalid value for member '${member}': ${issue.message}`);
}

function memberPath(path: readonly PropertyKey[]): string {
  return path
    .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
    .join('')
    .replace(/^\./, '');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
