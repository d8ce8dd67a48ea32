/**
 * The protected register: a resource the job body changes with a read-modify-write (it appends
 * its element to a list), in its own table beside the lease. Unfenced, a stale holder's write can
 * overwrite a newer holder's; fenced, the read announces the holder's token and the write is
 * refused once a higher token has been seen (Kleppmann's fencing, etcd's lock-etcd-set).
 */
import type { ExecuteOptions, SqlExecutor } from '../sql/executor.js';
import { RegisterVariant, RegisterWrite } from './history.js';

export const REGISTER_TABLE = 'fleet_register';

const CREATE_SQL = `CREATE TABLE IF NOT EXISTS ${REGISTER_TABLE} (
  job VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  items MEDIUMTEXT NOT NULL,
  max_fence BIGINT UNSIGNED NOT NULL DEFAULT 0,
  writes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (job)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** Creates the table and empties the job's register (a demo against a reused database starts clean). */
export async function resetRegister(executor: SqlExecutor, job: string): Promise<void> {
  await executor.execute({ sql: CREATE_SQL });
  await executor.execute({
    sql: `INSERT INTO ${REGISTER_TABLE} (job, items) VALUES (:job, '') ON DUPLICATE KEY UPDATE items = '', max_fence = 0, writes = 0`,
    params: { job },
  });
}

/** The register's elements, in the order they were appended. */
export async function readRegister(executor: SqlExecutor, job: string, options?: ExecuteOptions): Promise<string[]> {
  const { rows } = await executor.execute(
    { sql: `SELECT items FROM ${REGISTER_TABLE} WHERE job = :job`, params: { job } },
    options,
  );
  return parseItems(rows[0]?.items);
}

function parseItems(value: unknown): string[] {
  return typeof value === 'string' && value !== '' ? value.split(' ') : [];
}

export interface RegisterAppend {
  readonly variant: RegisterVariant;
  readonly job: string;
  readonly element: string;
  readonly fence: number;
  /** Between the read and the write: the window a stale holder can slip into. */
  readonly pause: () => Promise<void>;
}

/**
 * Appends the element with a read, a pause and a write. Returns `written` or `rejected` (fenced
 * only); throws if a statement fails, so the caller records the write as unknown.
 */
export async function appendToRegister(
  executor: SqlExecutor,
  append: RegisterAppend,
  options?: ExecuteOptions,
): Promise<RegisterWrite> {
  const { job, element, fence } = append;
  const fenced = append.variant === RegisterVariant.FENCED;
  if (fenced) {
    // Announce the token before reading, so an older holder's later write is refused.
    await executor.execute(
      {
        sql: `UPDATE ${REGISTER_TABLE} SET max_fence = GREATEST(max_fence, :fence) WHERE job = :job`,
        params: { job, fence },
      },
      options,
    );
  }
  const { rows } = await executor.execute(
    { sql: `SELECT items, max_fence FROM ${REGISTER_TABLE} WHERE job = :job`, params: { job } },
    options,
  );
  if (fenced && Number(rows[0]?.max_fence) > fence) return RegisterWrite.REJECTED;
  const items = [...parseItems(rows[0]?.items), element].join(' ');
  await append.pause();
  const result = await executor.execute(
    fenced
      ? {
          sql: `UPDATE ${REGISTER_TABLE} SET items = :items, max_fence = :fence, writes = writes + 1 WHERE job = :job AND max_fence <= :fence`,
          params: { job, items, fence },
        }
      : {
          sql: `UPDATE ${REGISTER_TABLE} SET items = :items, writes = writes + 1 WHERE job = :job`,
          params: { job, items },
        },
    options,
  );
  return result.affectedRows > 0 ? RegisterWrite.WRITTEN : RegisterWrite.REJECTED;
}
