import type { SqlExecutor } from '../src/sql/executor.js';

export interface CountingExecutor extends SqlExecutor {
  /** Statements sent since the last `reset()`: round trips, measured rather than assumed. */
  readonly count: number;
  /** Milliseconds spent waiting on those statements, to separate a contender's own overhead. */
  readonly busyMs: number;
  reset(): void;
}

/** Counts and times one execution environment's statements; an environment runs one invocation at a time. */
export function countingExecutor(inner: SqlExecutor): CountingExecutor {
  let count = 0;
  let busyMs = 0;
  return {
    get count() {
      return count;
    },
    get busyMs() {
      return busyMs;
    },
    reset() {
      count = 0;
      busyMs = 0;
    },
    async execute(statement, options) {
      count++;
      const started = performance.now();
      try {
        return await inner.execute(statement, options);
      } finally {
        busyMs += performance.now() - started;
      }
    },
    // The environment shares the transport; closing it is the run's job.
    close: async () => {},
    // What the transport binds itself, so the store sends the claim it would send over it directly.
    ...(inner.binds === undefined ? {} : { binds: inner.binds }),
  };
}
