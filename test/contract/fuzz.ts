import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimRequest, ClaimResult, ReleaseRequest } from '../../src/lease/lease-store.js';

/** The two operations the fuzz needs; a broken claim can stand in for the real one. */
export interface Claimer {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  release(request: ReleaseRequest): Promise<boolean>;
}

export interface FuzzResult {
  /** The non-atomic counters after the run, per job. */
  readonly counters: Record<string, number>;
  /** What the counters must be if no two bodies of a job ever overlapped. */
  readonly expected: Record<string, number>;
  /** Bodies that started while another body of the same job was running. */
  readonly overlaps: number;
  readonly claims: number;
}

/**
 * ShedLock's FuzzTester, ported: 8 workers on 2 jobs (even workers job A, odd job B). Each worker
 * claims until its body has run `runsPerWorker` times (worker 0 stops after a tenth, a short task);
 * the body reads a shared counter, yields for 1 ms and writes counter + 1. Any overlap loses an
 * update. Bounded: each worker gives up after `maxClaimsPerWorker` attempts.
 */
export async function fuzzLease(
  claimer: Claimer,
  { jobPrefix = 'fuzz', workers = 8, runsPerWorker = 100, maxClaimsPerWorker = 50_000 } = {},
): Promise<FuzzResult> {
  const jobs = [`${jobPrefix}-a`, `${jobPrefix}-b`] as const;
  const counters: Record<string, number> = { [jobs[0]]: 0, [jobs[1]]: 0 };
  const expected: Record<string, number> = { [jobs[0]]: 0, [jobs[1]]: 0 };
  const active: Record<string, number> = { [jobs[0]]: 0, [jobs[1]]: 0 };
  let overlaps = 0;
  let claims = 0;

  async function worker(index: number): Promise<void> {
    const job = jobs[index % 2] as string;
    const target = index === 0 ? Math.ceil(runsPerWorker / 10) : runsPerWorker;
    expected[job] = (expected[job] ?? 0) + target;
    let runs = 0;
    for (let attempt = 0; runs < target; attempt++) {
      if (attempt >= maxClaimsPerWorker) throw new Error(`worker ${index} gave up after ${attempt} claims`);
      const holder = `w${index}-${attempt}`;
      claims++;
      const result = await claimer.claim({ job, holder, leaseMs: 5 * 60_000 });
      if (!result.acquired) {
        await sleep(0);
        continue;
      }
      if ((active[job] ?? 0) > 0) overlaps++;
      active[job] = (active[job] ?? 0) + 1;
      const read = counters[job] ?? 0;
      await sleep(1);
      counters[job] = read + 1;
      active[job] = (active[job] ?? 0) - 1;
      runs++;
      await claimer.release({ job, holder, fence: result.fence, outcome: 'success' });
    }
  }

  await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  return { counters, expected, overlaps, claims };
}
