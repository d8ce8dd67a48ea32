import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseStoreError } from '../errors.js';
import { withDeadline } from './deadline.js';
import type { ClaimRequest, ClaimResult, LeaseStore } from './lease-store.js';

export interface RetryPolicy {
  /** Total time for all attempts and waits; the caller bounds it by its own deadline. */
  readonly budgetMs: number;
  /** First backoff; each retry doubles it, up to `maxDelayMs`, with full jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Deadline of one attempt; an attempt that hits it is ambiguous and is re-issued. */
  readonly attemptTimeoutMs: number;
  /** For tests: a seeded source of jitter. @default Math.random */
  readonly random?: () => number;
}

export type ClaimOutcome =
  | {
      readonly kind: 'decided';
      readonly result: ClaimResult;
      readonly attempts: number;
      readonly latencyMs: number;
      /** `performance.now()` when the deciding attempt was sent: the lease counts from no earlier. */
      readonly sentAt: number;
    }
  | {
      readonly kind: 'unavailable';
      readonly error: LeaseStoreError;
      readonly attempts: number;
      readonly latencyMs: number;
    };

/**
 * Claims with retries for transient failures. Re-issuing the same claim (same holder) is what
 * settles an ambiguous attempt: if the lost attempt committed, the re-issue matches its own live
 * lease and returns the same fence. Permanent failures and an exhausted budget fail closed.
 */
export async function claimWithRetry(
  store: LeaseStore,
  request: ClaimRequest,
  policy: RetryPolicy,
): Promise<ClaimOutcome> {
  const started = performance.now();
  const random = policy.random ?? Math.random;
  const left = (): number => policy.budgetMs - (performance.now() - started);
  for (let attempt = 1; ; attempt++) {
    const timeoutMs = Math.max(1, Math.floor(Math.min(policy.attemptTimeoutMs, left())));
    const sentAt = performance.now();
    try {
      const result = await withDeadline(timeoutMs, (execOptions) => store.claim(request, execOptions));
      return { kind: 'decided', result, attempts: attempt, latencyMs: performance.now() - started, sentAt };
    } catch (error) {
      if (!(error instanceof LeaseStoreError)) throw error;
      const delay = backoffDelay(policy, attempt, random);
      // Leave room for at least a short attempt after the wait, or stop now.
      if (!error.retryable || left() - delay < Math.min(50, policy.attemptTimeoutMs)) {
        return { kind: 'unavailable', error, attempts: attempt, latencyMs: performance.now() - started };
      }
      await sleep(delay);
    }
  }
}

/** Full-jitter exponential backoff after the given attempt. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}
