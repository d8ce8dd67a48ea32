import { LeaseGuardConfigError } from '../errors.js';

/** Longest job name; the primary key column is VARCHAR of this length in the ASCII character set. */
export const MAX_JOB_NAME_LENGTH = 128;
/** Longest holder identity (region, function, request id and nonce). */
export const MAX_HOLDER_LENGTH = 255;
/** Longest affinity owner name (a region, by default). */
export const MAX_OWNER_LENGTH = 64;
export const DEFAULT_TABLE = 'lease_guard';

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
// MySQL identifiers are at most 64 characters; we allow only the unquoted-safe subset.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TOKEN = /^[\x21-\x7e]+$/;

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/**
 * Job names are keys, never truncated and never spliced into SQL: letters, digits and `._:/-`,
 * starting with a letter or digit, at most 128 characters.
 */
export function assertJobName(value: unknown, option = 'job'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new LeaseGuardConfigError(`${option} must be a non-empty string, got ${describe(value)}.`);
  }
  if (value.length > MAX_JOB_NAME_LENGTH) {
    throw new LeaseGuardConfigError(
      `${option} must be at most ${MAX_JOB_NAME_LENGTH} characters, got ${value.length} (${describe(value)}). Use a shorter name; names are never truncated.`,
    );
  }
  if (!JOB_NAME.test(value)) {
    throw new LeaseGuardConfigError(
      `${option} may contain only ASCII letters, digits and . _ : / - and must start with a letter or digit, got ${describe(value)}.`,
    );
  }
  return value;
}

/** Table names are identifiers: a letter or underscore, then letters, digits, underscores; 64 at most. */
export function assertTableName(value: unknown, option = 'table'): string {
  if (typeof value !== 'string' || !TABLE_NAME.test(value)) {
    throw new LeaseGuardConfigError(
      `${option} must be an SQL identifier (a letter or _, then letters, digits or _, at most 64 characters), got ${describe(value)}.`,
    );
  }
  return value;
}

/** Holders and owners are printable ASCII without spaces, bounded in length. */
export function assertToken(value: unknown, option: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !TOKEN.test(value)) {
    throw new LeaseGuardConfigError(
      `${option} must be 1 to ${max} printable ASCII characters without spaces, got ${describe(value)}.`,
    );
  }
  return value;
}

/** Backtick-quotes an identifier that has already passed `assertTableName`. */
export function quoteTable(table: string): string {
  return `\`${assertTableName(table)}\``;
}
