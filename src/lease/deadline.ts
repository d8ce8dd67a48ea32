import type { Deadline, ExecuteOptions } from '../sql/executor.js';

/**
 * One attempt's deadline. The executor port's `deadline` is waited on with a plain callback; the
 * `signal` form is made only when something reads it (an executor that knows only signals), and
 * aborts with the same reason when the deadline passes, or at once if it has.
 */
class AttemptDeadline implements Deadline {
  expired = false;
  reason: unknown;
  private controller: AbortController | undefined;
  private listeners: (() => void)[] | undefined;

  /** The options an attempt passes down: `signal` is an own getter, so a spread of them keeps it. */
  readonly options: ExecuteOptions;

  constructor() {
    const deadline = this;
    this.options = {
      deadline,
      get signal(): AbortSignal {
        return deadline.signal();
      },
    };
  }

  signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.expired) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  onExpire(listener: () => void): void {
    if (this.expired) {
      listener();
      return;
    }
    this.listeners ??= [];
    this.listeners.push(listener);
  }

  offExpire(listener: () => void): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners?.splice(index, 1);
  }

  expire(): void {
    this.expired = true;
    this.reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    this.controller?.abort(this.reason);
    for (const listener of this.listeners?.splice(0) ?? []) listener();
  }
}

/**
 * Runs one attempt with a deadline `ms` from now. Unlike `AbortSignal.timeout`, whose timer fires
 * and dispatches an abort event even after the answer came, the timer is cleared the moment the
 * attempt settles, and no AbortSignal is made unless an executor asks for one: an answer in time
 * costs one timer and nothing more.
 */
export async function withDeadline<T>(ms: number, attempt: (options: ExecuteOptions) => Promise<T>): Promise<T> {
  const deadline = new AttemptDeadline();
  const timer = setTimeout(() => deadline.expire(), ms);
  // Like AbortSignal.timeout's, the timer alone does not keep the process alive.
  timer.unref();
  try {
    return await attempt(deadline.options);
  } finally {
    clearTimeout(timer);
  }
}
