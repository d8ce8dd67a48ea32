import { DEFAULTS, MAX_LEASE_MS } from '../constants.js';
import { LeaseGuardConfigError } from '../errors.js';
import type { ClaimRequest, ForceReleaseRequest, HolderRef } from './lease-store.js';
import { assertJobName, assertToken, MAX_HOLDER_LENGTH, MAX_OWNER_LENGTH } from './names.js';

/** A claim with every default filled in and every value checked; both stores start from this. */
export interface NormalizedClaim {
  readonly job: string;
  readonly holder: string;
  readonly invocation: string | null;
  readonly leaseMs: number;
  readonly tick: Date | null;
  readonly maxTickAgeMs: number;
  readonly maxTickAheadMs: number;
  readonly owner: string | null;
  readonly failoverAfterMs: number;
  readonly failoverQuarantineMs: number;
}

export function assertDuration(value: unknown, option: string, { min = 0, max = MAX_LEASE_MS } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new LeaseGuardConfigError(
      `${option} must be a number of milliseconds from ${min} to ${max}, got ${String(value)}.`,
    );
  }
  return value;
}

export function assertTick(tick: unknown): Date {
  if (!(tick instanceof Date) || Number.isNaN(tick.getTime())) {
    throw new LeaseGuardConfigError(`tick must be a valid Date or null, got ${String(tick)}.`);
  }
  return tick;
}

export function normalizeClaim(request: ClaimRequest): NormalizedClaim {
  const tick = request.tick == null ? null : assertTick(request.tick);
  const holder = assertToken(request.holder, 'holder', MAX_HOLDER_LENGTH);
  const invocation =
    request.invocation == null ? null : assertToken(request.invocation, 'invocation', MAX_HOLDER_LENGTH);
  if (invocation !== null && !holder.endsWith(`/${invocation}`)) {
    throw new LeaseGuardConfigError(
      `holder must end with "/" and the invocation (${JSON.stringify(invocation)}), got ${JSON.stringify(holder)}.`,
    );
  }
  return {
    job: assertJobName(request.job),
    holder,
    invocation,
    leaseMs: assertDuration(request.leaseMs, 'leaseMs', { min: 1 }),
    tick,
    maxTickAgeMs: assertDuration(request.maxTickAgeMs ?? DEFAULTS.maxTickAgeMs, 'maxTickAgeMs'),
    maxTickAheadMs: assertDuration(request.maxTickAheadMs ?? DEFAULTS.maxTickAheadMs, 'maxTickAheadMs'),
    owner: request.owner == null ? null : assertToken(request.owner, 'owner', MAX_OWNER_LENGTH),
    failoverAfterMs: assertDuration(request.failoverAfterMs ?? DEFAULTS.failoverAfterMs, 'failoverAfterMs'),
    failoverQuarantineMs: assertDuration(request.failoverQuarantineMs ?? request.leaseMs, 'failoverQuarantineMs'),
  };
}

export function assertHolderRef(ref: HolderRef): void {
  assertJobName(ref.job);
  assertToken(ref.holder, 'holder', MAX_HOLDER_LENGTH);
  if (!Number.isSafeInteger(ref.fence) || ref.fence < 1) {
    throw new LeaseGuardConfigError(`fence must be a positive integer from a claim, got ${String(ref.fence)}.`);
  }
}

/**
 * A force release's target, checked: the job, and the holder and fence it is conditional on, or
 * null for both when given only a job name (whoever holds it).
 */
export function normalizeForceRelease(request: string | ForceReleaseRequest): {
  readonly job: string;
  readonly holder: string | null;
  readonly fence: number | null;
} {
  if (typeof request === 'string') return { job: assertJobName(request), holder: null, fence: null };
  if (!Number.isSafeInteger(request.fence) || request.fence < 0) {
    throw new LeaseGuardConfigError(`fence must be the integer the row showed, got ${String(request.fence)}.`);
  }
  return {
    job: assertJobName(request.job),
    holder: request.holder === null ? null : assertToken(request.holder, 'holder', MAX_HOLDER_LENGTH),
    fence: request.fence,
  };
}

/** Error texts are stored for operators, bounded so a huge message cannot fail the release. */
export function errorText(error: string | undefined, max = 1000): string | null {
  if (error === undefined) return null;
  return error.length > max ? `${error.slice(0, max - 1)}…` : error;
}
