/**
 * Runs one attempt with a signal that aborts `ms` from now, with the reason `AbortSignal.timeout`
 * gives (a `TimeoutError` DOMException). Unlike `AbortSignal.timeout`, whose timer fires and
 * dispatches an abort event even after the answer came, the timer is cleared the moment the
 * attempt settles: an answer in time costs one timer and nothing more.
 */
export async function withDeadline<T>(ms: number, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  // Like AbortSignal.timeout's, the timer alone does not keep the process alive.
  timer.unref();
  try {
    return await attempt(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
