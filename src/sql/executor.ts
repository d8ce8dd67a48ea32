/**
 * The executor port: the only thing the lease protocol knows about a database. A statement is SQL
 * text with `:name` parameters; the result gives affected rows, the value of `LAST_INSERT_ID(expr)`
 * when the driver reports it, and rows. The mysql2 and RDS Data API adapters implement it.
 */

/** A parameter value. `Date` is not accepted: times travel as `YYYY-MM-DD HH:MM:SS.ffffff` UTC text. */
export type SqlValue = string | number | boolean | null;

export interface SqlStatement {
  /** SQL text with `:name` placeholders; one statement, never several. */
  readonly sql: string;
  readonly params?: Readonly<Record<string, SqlValue>>;
}

/** A cell as the adapters return it: integers as numbers, DATETIME and DECIMAL as text. */
export type SqlCell = string | number | boolean | null | Uint8Array;
export type SqlRow = Readonly<Record<string, SqlCell>>;

export interface SqlResult {
  /**
   * Rows the statement matched (found rows) or changed, depending on the driver. The protocol is
   * written so that both give the same answer: every row it matches, it also changes.
   */
  readonly affectedRows: number;
  /**
   * The value the statement set with `LAST_INSERT_ID(expr)`, or `undefined` when the driver does
   * not report it for this statement. mysql2 reports 0 when nothing set it.
   */
  readonly insertId: number | undefined;
  readonly rows: readonly SqlRow[];
}

export interface ExecuteOptions {
  /** Aborts the wait for the answer. The statement's outcome is then unknown (it may still commit). */
  readonly signal?: AbortSignal;
}

export interface SqlExecutor {
  execute(statement: SqlStatement, options?: ExecuteOptions): Promise<SqlResult>;
  /** Releases connections or clients the executor owns; a no-op for injected ones. */
  close(): Promise<void>;
}
