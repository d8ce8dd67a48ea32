/**
 * P1 and L1: bursts of 200 concurrent contenders (async invocations of the real guarded handler
 * in a few processes) claim the same job's tick at once, round after round; then 50 jobs with 4
 * contenders each at once. Every round must have exactly one winner per job and the fencing
 * token must rise by exactly one per round.
 */
import { holdersInOrder } from '../../../src/fleet/checker.js';
import type { BurstOutcome } from '../burst-fleet.js';
import { runBurst } from '../burst-fleet.js';
import { FAST_RETRY, fleetJob, fleetReport, mergeReports } from '../fleet-run.js';
import type { FaultViolation, Scenario, ScenarioContext } from '../scenario.js';

/**
 * 200 claims on one row queue behind each other: on a loaded machine the last of them waits
 * seconds. Attempts may take most of the invocation's 10 s, so only a real failure fails closed.
 */
export const BURST_RETRY = { ...FAST_RETRY, attemptTimeoutMs: 8000 } as const;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** L1's pass criterion beyond the checker's: tokens rise by one per round, since each round has one winner. */
function fenceSteps(outcome: BurstOutcome): FaultViolation[] {
  const violations: FaultViolation[] = [];
  for (const job of outcome.history.jobs) {
    const holders = holdersInOrder(outcome.history.invocations.filter((record) => record.job === job.job));
    for (let i = 1; i < holders.length; i++) {
      const previous = holders[i - 1]?.fence ?? 0;
      const next = holders[i]?.fence ?? 0;
      if (next !== previous + 1) {
        violations.push({
          invariant: 'fence-step',
          job: job.job,
          message: `fence went from ${previous} to ${next} in one round`,
        });
      }
    }
  }
  return violations;
}

export function burstNote(outcome: BurstOutcome, label: string): string {
  const latencies = outcome.skipLatenciesMs;
  return `${label}: ${latencies.length} skipped invocations, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (claim round trip through the SDK and the local Data API, plus IPC)`;
}

async function oneJob(context: ScenarioContext) {
  // Quick: two rounds, the fewest that show the fence rising by one from round to round.
  const rounds = context.profile === 'quick' ? 2 : 15;
  const outcome = await runBurst(context, {
    jobs: [fleetJob(`burst-${context.runId}`, { retry: BURST_RETRY })],
    rounds,
    contenders: 200,
    processes: context.profile === 'quick' ? 2 : 4,
  });
  return fleetReport(outcome, {
    strictLiveness: true,
    extraViolations: fenceSteps(outcome),
    notes: [burstNote(outcome, `1 job × 200 contenders × ${rounds} rounds`)],
  });
}

async function manyJobs(context: ScenarioContext) {
  const jobs = Array.from({ length: 50 }, (_, index) =>
    fleetJob(`burst-${context.runId}-${index}`, { retry: BURST_RETRY }),
  );
  const outcome = await runBurst(context, { jobs, rounds: 5, contenders: 4, processes: 4 });
  const report = fleetReport(outcome, {
    strictLiveness: true,
    extraViolations: fenceSteps(outcome),
    notes: [burstNote(outcome, '50 jobs × 4 contenders × 5 rounds')],
  });
  // Fifty jobs' notes say the same thing; keep the burst's own.
  return { ...report, notes: report.notes.slice(-1) };
}

export const burst: Scenario = {
  name: 'burst',
  catalogue: 'P1 L1',
  proves:
    '200 contenders at once on one job, and 50 jobs × 4 at once, give exactly one winner per job per round, with the fence rising by one each round.',
  async run(context) {
    const single = await oneJob(context);
    return context.profile === 'quick' ? single : mergeReports(single, await manyJobs(context));
  },
};
