/** What the job body did, as a middleware can know it. */
export type BodyOutcome =
  | { readonly kind: 'returned' }
  | { readonly kind: 'threw'; readonly error: unknown }
  /** A middleware registered after the guard answered from `before`: the body never ran. */
  | { readonly kind: 'not-run' };

interface WatchedRequest {
  response?: unknown;
  error?: unknown;
}

/**
 * middy (6 and 7) assigns the handler's result to `request.response` the moment it settles. When
 * the handler (or a `before` after ours) throws, middy's catch assigns `undefined` and then, before
 * any other assignment, `request.error`. So the first assignment decides: followed by `error`, the
 * body threw; followed by another assignment (an `after`, or the catch after an `after` threw, even
 * synchronously as middy 7 runs sync middlewares) or by nothing within a microtask, it returned.
 * This tells the guard what the body did before any other middleware's `after` or `onError` can
 * throw, answer or stop the chain. The plain properties are put back once it is known.
 *
 * It cannot tell a custom `timeoutEarlyResponse` value from the body's own result: that needs
 * `leaseGuarded`, which owns the body.
 */
export function watchBody(request: WatchedRequest, onSettled: (outcome: BodyOutcome) => void): void {
  let response = request.response;
  let error = request.error;
  let state: 'waiting' | 'first-seen' | 'decided' = 'waiting';
  const decide = (outcome: BodyOutcome): void => {
    if (state === 'decided') return;
    state = 'decided';
    Object.defineProperty(request, 'response', {
      value: response,
      writable: true,
      configurable: true,
      enumerable: true,
    });
    Object.defineProperty(request, 'error', { value: error, writable: true, configurable: true, enumerable: true });
    onSettled(outcome);
  };
  Object.defineProperty(request, 'error', {
    configurable: true,
    enumerable: true,
    get: () => error,
    set(next) {
      error = next;
      if (state === 'first-seen') decide({ kind: 'threw', error: next });
    },
  });
  Object.defineProperty(request, 'response', {
    configurable: true,
    enumerable: true,
    get: () => response,
    set(next) {
      response = next;
      if (state === 'first-seen') {
        decide({ kind: 'returned' });
        return;
      }
      if (state !== 'waiting') return;
      if ('earlyResponse' in request) {
        decide({ kind: 'not-run' });
        return;
      }
      state = 'first-seen';
      queueMicrotask(() => decide({ kind: 'returned' }));
    },
  });
}
