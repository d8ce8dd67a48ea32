import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseStoreError } from '../errors.js';
import { backoffDelay, type RetryPolicy } from './claim-with-retry.js';
import { withDeadline } from './deadline.js';
import type { LeaseStore, ReleaseRequest } from './lease-store.js';

export type ReleaseOutcome =
  /** This holder's release is in the row (sent now, or by an attempt whose answer was lost). */
  | { readonly kind: 'released'; readonly attempts: number }
  /** The lease was no longer this holder's; a success still counted its tick. */
  | { readonly kind: 'stale'; readonly attempts: number }
  /** Nothing is known to have landed: the budget ran out or the store refused for good. */
  | { readonly kind: 'unrecorded'; readonly attempts: number; readonly error: unknown };

/**
 * Releases with retries for transient failures, inside the budget. Re-issuing settles an
 * ambiguous attempt: the release is idempotent for its holder (see releaseSuccessSql), so a
 * re-issue after a lost answer reports the row as released if the first one landed.
 */
export async function releaseWithRetry(
  store: LeaseStore,
  request: ReleaseRequest,
  policy: RetryPolicy,
): Promise<ReleaseOutcome> {
  const started = performance.now();
  const random = policy.random ?? Math.random;
  const left = (): number => policy.budgetMs - (performance.now() - started);
  for (let attempt = 1; ; attempt++) {
    const timeoutMs = Math.max(1, Math.floor(Math.min(policy.attemptTimeoutMs, left())));
    try {
      const released = await withDeadline(timeoutMs, (execOptions) => store.release(request, execOptions));
      return { kind: released ? 'released' : 'stale', attempts: attempt };
    } catch (error) {
      const delay = backoffDelay(policy, attempt, random);
      const retryable = error instanceof LeaseStoreError && error.retryable;
      if (!retryable || left() - delay < Math.min(50, policy.attemptTimeoutMs)) {
        return { kind: 'unrecorded', attempts: attempt, error };
      }
      await sleep(delay);
    }
  }
}
