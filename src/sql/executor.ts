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
  /**
   * The same deadline as `signal`, for an executor that can wait on it without an AbortSignal:
   * making one costs more than the rest of a claim's own work, so the guard's attempts make
   * `signal` only when an executor reads it. An executor may ignore this and read `signal`.
   */
  readonly deadline?: Deadline;
}

/** A deadline that passes once; what `signal` would abort with is its `reason`. */
export interface Deadline {
  readonly expired: boolean;
  /** A `TimeoutError` DOMException once expired, as `AbortSignal.timeout` gives. */
  readonly reason: unknown;
  /** Calls `listener` once when the deadline passes, or at once if it has. */
  onExpire(listener: () => void): void;
  /** Stops a call `onExpire` asked for. */
  offExpire(listener: () => void): void;
}

export interface SqlExecutor {
  execute(statement: SqlStatement, options?: ExecuteOptions): Promise<SqlResult>;
  /**
   * The parameters this executor binds itself, over what a statement gives (a global database's
   * executor binds `cluster`); `[]` for none. Left out: unknown, and the lease store then sends
   * statements right for any executor. Declared, it lets the store leave out of the claim the
   * parts whose parameters stay NULL.
   */
  readonly binds?: readonly string[];
  /** Releases connections or clients the executor owns; a no-op for injected ones. */
  close(): Promise<void>;
}
