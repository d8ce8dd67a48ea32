/**
 * Invocations that are not a job's run: warmup pings. They never claim a lease, whatever the
 * middleware order, so a ping can never hold the lease while the real tick arrives.
 */

/** `@middy/warmup`'s default ping (and serverless-plugin-warmup's, which it follows). */
const WARMUP_SOURCE = 'serverless-plugin-warmup';

export function isWarmupPing(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { source?: unknown }).source === WARMUP_SOURCE;
}
