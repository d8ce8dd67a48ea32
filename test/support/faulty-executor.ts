import { LeaseStoreError, StoreErrorKind } from '../../src/errors.js';
import type { SqlExecutor } from '../../src/sql/executor.js';

export interface FaultPlan {
  /** Which statements the fault applies to, by SQL text. @default every statement */
  readonly match?: RegExp;
  /** How many matching statements fail. */
  readonly times: number;
  /** Fail before sending (nothing happened) or after the statement committed (the answer is lost). */
  readonly when: 'before' | 'after-commit';
  readonly kind?: StoreErrorKind;
}

/**
 * Wraps a real executor and fails chosen statements, for the executor-agnostic middleware tests;
 * the Data API server has its own fault hooks for the wire-level ones.
 */
export function faultyExecutor(
  inner: SqlExecutor,
): SqlExecutor & { plan(fault: FaultPlan): void; readonly injected: number } {
  let fault: (FaultPlan & { left: number }) | undefined;
  let injected = 0;
  return {
    get injected() {
      return injected;
    },
    plan(next) {
      fault = { ...next, left: next.times };
    },
    async execute(statement, options) {
      const hit = fault && fault.left > 0 && (!fault.match || fault.match.test(statement.sql));
      if (!hit || !fault) return inner.execute(statement, options);
      fault.left--;
      injected++;
      const error = new LeaseStoreError(`injected ${fault.when} fault`, {
        kind: fault.kind ?? StoreErrorKind.TRANSIENT,
        code: 'InjectedFault',
        ambiguous: fault.when === 'after-commit',
      });
      if (fault.when === 'after-commit') await inner.execute(statement, options);
      throw error;
    },
    close: () => inner.close(),
  };
}
