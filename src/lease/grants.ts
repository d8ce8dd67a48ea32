import { LeaseGuardConfigError } from '../errors.js';
import { assertTableName, quoteTable } from './names.js';

/**
 * The database user guarded functions run as. IAM cannot restrict which SQL a Data API caller runs,
 * so the user's grants are the real boundary: the claim and release are UPDATEs, a missing row heals
 * with an INSERT, and the fence and the CLI read with SELECT. No DELETE, no DDL, no other table.
 */
export const LEASE_USER_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE'] as const;

/** MySQL 8 allows user names of 32 characters (MariaDB allows more; we keep to the smaller). */
export const MAX_USER_NAME_LENGTH = 32;

export interface LeaseUserGrant {
  /** The user name; an identifier-like name (letters, digits, `_`), at most 32 characters. */
  readonly user: string;
  readonly database: string;
  readonly table: string;
}

export interface LeaseUserCredentials extends LeaseUserGrant {
  /** Printable ASCII without a backslash; the statements carry it as a quoted literal. */
  readonly password: string;
}

/** `'user'@'%'`: the Data API connects from the service's own hosts, never from a fixed address. */
function account(user: string): string {
  const name = assertTableName(user, 'user');
  if (name.length > MAX_USER_NAME_LENGTH) {
    throw new LeaseGuardConfigError(
      `user must be at most ${MAX_USER_NAME_LENGTH} characters (the MySQL 8 limit), got ${name.length} (${JSON.stringify(name)}).`,
    );
  }
  return `'${name}'@'%'`;
}

/**
 * A password as an SQL string literal. MySQL accepts no placeholder in `IDENTIFIED BY`, so the value
 * is written into the text. A doubled quote means one quote in every SQL mode; a backslash means
 * different things with and without NO_BACKSLASH_ESCAPES, so it is refused rather than guessed.
 * The message never shows the password.
 */
export function passwordLiteral(password: string): string {
  if (password.length === 0 || password.length > 256) {
    throw new LeaseGuardConfigError(`password must be 1 to 256 characters, got ${password.length}.`);
  }
  if (!/^[\x20-\x5b\x5d-\x7e]+$/.test(password)) {
    throw new LeaseGuardConfigError(
      'password must be printable ASCII without a backslash; generate it with the backslash excluded (the RDS default excludes it).',
    );
  }
  return `'${password.replaceAll("'", "''")}'`;
}

/** The GRANT alone: no secret in it, so it can be shown, logged or hashed. */
export function leaseUserGrantSql(grant: LeaseUserGrant): string {
  const table = `\`${assertTableName(grant.database, 'database')}\`.${quoteTable(grant.table)}`;
  return `GRANT ${LEASE_USER_PRIVILEGES.join(', ')} ON ${table} TO ${account(grant.user)}`;
}

/**
 * Creates the user, sets its password to the given one (also when the user already existed) and
 * grants it the lease table. Idempotent; runs on MySQL 8 (Aurora MySQL 3) and MariaDB 10.4+. The
 * table must exist first: MySQL refuses a table grant on a missing table.
 */
export function leaseUserSql(credentials: LeaseUserCredentials): string[] {
  const user = account(credentials.user);
  const password = passwordLiteral(credentials.password);
  return [
    `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${password}`,
    `ALTER USER ${user} IDENTIFIED BY ${password}`,
    leaseUserGrantSql(credentials),
  ];
}
