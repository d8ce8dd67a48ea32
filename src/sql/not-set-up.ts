/**
 * MySQL errors that mean "not set up yet" rather than "broken": no lease table, a table from an
 * older version, no database. Their messages name the command that fixes them.
 */
const MIGRATE = 'run `lease-guard migrate` (with the same connection settings) or deploy the LeaseTable construct';

const HINTS: ReadonlyMap<number, string> = new Map([
  [1146, `The lease table does not exist: ${MIGRATE} to create it.`],
  [1054, `The lease table lacks a column this version uses: ${MIGRATE} to upgrade it.`],
  [
    1049,
    `The database does not exist: create it, or point LEASE_GUARD_DATABASE (--database) at the one that should hold the lease table; then ${MIGRATE}.`,
  ],
]);

/** The errno a mysql2 error carries, or the one the Data API writes into its message (`Error code: N`). */
const DATA_API_ERRNO = /Error code: (\d+)/;
/** Some Data API front ends answer an unknown database before MySQL does, without an errno. */
const UNKNOWN_DATABASE = /Unknown database/i;

/** The error's message, followed by the fix when the error means "not set up". */
export function withSetUpHint(message: string, errno?: number): string {
  const number = errno ?? Number(DATA_API_ERRNO.exec(message)?.[1]);
  const hint = HINTS.get(number) ?? (UNKNOWN_DATABASE.test(message) ? HINTS.get(1049) : undefined);
  return hint ? `${message.replace(/[.\s]+$/, '')}. ${hint}` : message;
}
