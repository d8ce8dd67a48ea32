import { LeaseGuardError } from '../errors.js';

/**
 * The body did not settle by the guard's deadline (or middy's early timeout answered first).
 * JavaScript cannot stop it, so it may still run, and after a Lambda freeze it may resume at
 * this environment's next invocation, long after its lease ended.
 */
export class LeaseBodyAbandonedError extends LeaseGuardError {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseBodyAbandonedError';
  }
}

/**
 * Ends this execution environment. In Lambda a process that exits is replaced by a fresh one for
 * the next invocation (the current one fails with Runtime.ExitError, so the platform retries it),
 * so an abandoned body can never resume beside a later holder. Called only after the guard's own
 * log line is written: other middlewares' `after`/`onError` do not run for this invocation.
 */
export function endEnvironment(): void {
  process.exit(1);
}
