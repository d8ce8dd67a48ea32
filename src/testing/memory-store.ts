import type {
  ClaimRequest,
  ClaimResult,
  ForceReleaseRequest,
  LeaseState,
  LeaseStore,
  ReleaseRequest,
  RenewRequest,
  WithdrawRequest,
} from '../lease/lease-store.js';
import { SkipReason } from '../lease/lease-store.js';
import { assertJobName, assertToken, MAX_HOLDER_LENGTH } from '../lease/names.js';
import {
  assertDuration,
  assertHolderRef,
  assertTick,
  errorText,
  normalizeClaim,
  normalizeForceRelease,
} from '../lease/validate.js';

export interface MemoryLeaseStoreOptions {
  /** The "database clock" in epoch milliseconds. Inject a fake one to step time in tests. @default Date.now */
  readonly now?: () => number;
}

interface Row {
  job: string;
  holder: string | null;
  fence: number;
  leaseUntil: number;
  claimedAt: number | null;
  tick: number | null;
  tickDone: number | null;
  owner: string | null;
  ownerSeen: number | null;
  runs: number;
  failures: number;
  lastError: string | null;
  lastErrorAt: number | null;
  releasedAt: number | null;
  version: number;
  createdAt: number;
}

/**
 * The lease protocol in memory, with the SQL store's exact rules, for unit-testing guarded
 * handlers without a database. It passes the same contract suite as the SQL store. One process
 * only: it is not a lock between processes.
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly #rows = new Map<string, Row>();
  readonly #now: () => number;

  constructor(options: MemoryLeaseStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const c = normalizeClaim(request);
    const now = this.#now();
    const row = this.#rows.get(c.job) ?? this.#create(c.job, now);
    const tick = c.tick?.getTime() ?? null;
    const sameLiveHolder = row.holder === c.holder && row.leaseUntil > now;
    let refusal: SkipReason | undefined;
    if (sameLiveHolder) refusal = undefined;
    else if (tick !== null && tick > now + c.maxTickAheadMs) refusal = SkipReason.FUTURE_TICK;
    else if (tick !== null && tick < now - c.maxTickAgeMs) refusal = SkipReason.STALE_TICK;
    else if (tick !== null && row.tickDone !== null && row.tickDone >= tick) refusal = SkipReason.TICK_DONE;
    else if (row.leaseUntil > now && c.invocation !== null && row.holder?.endsWith(`/${c.invocation}`))
      refusal = SkipReason.SAME_INVOCATION;
    else if (row.leaseUntil > now) refusal = SkipReason.HELD;
    else if (
      c.owner !== null &&
      row.owner !== null &&
      row.owner !== c.owner &&
      row.ownerSeen !== null &&
      row.ownerSeen > now - c.failoverAfterMs
    )
      refusal = SkipReason.STANDBY;
    if (refusal) return { acquired: false, reason: refusal };

    if (!sameLiveHolder) {
      row.fence += 1;
      row.runs += 1;
      row.claimedAt = now;
    }
    row.holder = c.holder;
    row.leaseUntil = now + c.leaseMs;
    row.tick = tick;
    if (c.owner !== null) {
      row.owner = c.owner;
      row.ownerSeen = now;
    }
    row.version += 1;
    return { acquired: true, fence: row.fence };
  }

  async release(request: ReleaseRequest): Promise<boolean> {
    assertHolderRef(request);
    const tick = request.outcome === 'success' && request.tick != null ? assertTick(request.tick).getTime() : null;
    if (request.outcome === 'success') assertDuration(request.minHoldMs ?? 0, 'minHoldMs');
    const row = this.#own(request) ?? this.#released(request);
    if (!row) {
      // Not this holder's any more: a success still counts its tick, forward only.
      const stale = this.#rows.get(request.job);
      if (stale && tick !== null && (stale.tickDone === null || stale.tickDone < tick)) {
        stale.tickDone = tick;
        stale.version += 1;
      }
      return false;
    }
    const now = this.#now();
    if (request.outcome === 'success') {
      const minHoldMs = assertDuration(request.minHoldMs ?? 0, 'minHoldMs');
      if (row.tick !== null && (row.tickDone === null || row.tick > row.tickDone)) row.tickDone = row.tick;
      row.leaseUntil = Math.max(now, (row.claimedAt ?? now) + minHoldMs);
    } else {
      row.failures += 1;
      row.lastError = errorText(request.error);
      row.lastErrorAt = now;
      row.leaseUntil = request.keepLease
        ? Math.max(row.leaseUntil, now + assertDuration(request.keepForMs ?? 0, 'keepForMs'))
        : now;
    }
    row.releasedAt = now;
    row.holder = null;
    row.tick = null;
    row.version += 1;
    return true;
  }

  async renew(request: RenewRequest): Promise<boolean> {
    assertHolderRef(request);
    const leaseMs = assertDuration(request.leaseMs, 'leaseMs', { min: 1 });
    const row = this.#own(request);
    const now = this.#now();
    if (!row || row.leaseUntil <= now) return false;
    row.leaseUntil = now + leaseMs;
    row.version += 1;
    return true;
  }

  async withdraw(request: WithdrawRequest): Promise<boolean> {
    const row = this.#rows.get(assertJobName(request.job));
    assertToken(request.holder, 'holder', MAX_HOLDER_LENGTH);
    if (!row || row.holder !== request.holder) return false;
    row.runs = Math.max(row.runs, 1) - 1;
    row.leaseUntil = Math.min(row.leaseUntil, this.#now());
    row.holder = null;
    row.tick = null;
    row.version += 1;
    return true;
  }

  async inspect(job: string): Promise<LeaseState | undefined> {
    const row = this.#rows.get(assertJobName(job));
    return row ? this.#state(row) : undefined;
  }

  async list(): Promise<LeaseState[]> {
    return [...this.#rows.values()].sort((a, b) => (a.job < b.job ? -1 : 1)).map((row) => this.#state(row));
  }

  async forceRelease(request: string | ForceReleaseRequest): Promise<boolean> {
    const expected = normalizeForceRelease(request);
    const row = this.#rows.get(expected.job);
    if (!row) return false;
    // Keyed on what the operator saw: nothing changes when the holder or the fence did.
    if (expected.fence !== null && (row.fence !== expected.fence || row.holder !== expected.holder)) return false;
    const now = this.#now();
    row.fence += 1;
    row.leaseUntil = Math.min(row.leaseUntil, now);
    row.releasedAt = now;
    row.holder = null;
    row.tick = null;
    row.version += 1;
    return true;
  }

  #own(ref: { job: string; holder: string; fence: number }): Row | undefined {
    const row = this.#rows.get(ref.job);
    return row && row.holder === ref.holder && row.fence === ref.fence ? row : undefined;
  }

  /** A success release re-issued after it landed: this fence, no holder (see releaseSuccessSql). */
  #released(request: ReleaseRequest): Row | undefined {
    const row = this.#rows.get(request.job);
    return request.outcome === 'success' && row && row.holder === null && row.fence === request.fence ? row : undefined;
  }

  #create(job: string, now: number): Row {
    const row: Row = {
      job,
      holder: null,
      fence: 0,
      leaseUntil: 0,
      claimedAt: null,
      tick: null,
      tickDone: null,
      owner: null,
      ownerSeen: null,
      runs: 0,
      failures: 0,
      lastError: null,
      lastErrorAt: null,
      releasedAt: null,
      version: 0,
      createdAt: now,
    };
    this.#rows.set(job, row);
    return row;
  }

  #state(row: Row): LeaseState {
    const now = this.#now();
    const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
    return {
      job: row.job,
      holder: row.holder,
      fence: row.fence,
      leaseUntil: new Date(row.leaseUntil),
      claimedAt: date(row.claimedAt),
      tick: date(row.tick),
      tickDone: date(row.tickDone),
      owner: row.owner,
      ownerSeen: date(row.ownerSeen),
      runs: row.runs,
      failures: row.failures,
      lastError: row.lastError,
      lastErrorAt: date(row.lastErrorAt),
      releasedAt: date(row.releasedAt),
      version: row.version,
      createdAt: new Date(row.createdAt),
      dbNow: new Date(now),
      held: row.leaseUntil > now,
    };
  }
}
