import type { SqlExecutor } from '../../src/sql/executor.js';

export interface CountingExecutor extends SqlExecutor {
  /** Statements sent since the last `reset()`. */
  readonly count: number;
  /** The SQL of each statement since the last reset, first word only (UPDATE, SELECT, INSERT). */
  readonly kinds: readonly string[];
  reset(): void;
}

/** Wraps an executor to count round trips; the claim path's cost is measured, not assumed. */
export function countingExecutor(inner: SqlExecutor): CountingExecutor {
  let kinds: string[] = [];
  return {
    get count() {
      return kinds.length;
    },
    get kinds() {
      return kinds;
    },
    reset() {
      kinds = [];
    },
    execute(statement, options) {
      kinds.push(statement.sql.trimStart().split(/\s/, 1)[0] ?? '');
      return inner.execute(statement, options);
    },
    close: () => inner.close(),
  };
}
