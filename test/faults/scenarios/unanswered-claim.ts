/**
 * Issue 14, failure 2: a claim commits, its answer is lost, and the Data API then stays
 * unavailable for the rest of the claim's budget. The invocation fails closed; Lambda retries it
 * with the same request id. While the first attempt's lease lives, the retry must fail again (so
 * the platform keeps retrying or dead-letters the event), never answer a skip; once that lease
 * ends, the next retry must run the tick. The control strips the invocation from the claim (the
 * behaviour before issue 14): the retry answers `skipped: held` and the tick is lost silently.
 */
import type { LeaseStore } from '../../../src/lease/lease-store.js';
import { until } from '../../support/until.js';
import {
  currentTick,
  delegate,
  EDGE_OPTIONS,
  edgeHandler,
  edgeStore,
  leaseStatements,
  schedulerEvent,
} from '../edge-handler.js';
import type { FaultViolation, Scenario, ScenarioContext, ScenarioReport } from '../scenario.js';

function invocationForgotten(store: LeaseStore): LeaseStore {
  return { ...delegate(store), claim: (request, options) => store.claim({ ...request, invocation: null }, options) };
}

async function runUnansweredClaim(context: ScenarioContext, control: boolean): Promise<ScenarioReport> {
  const { environment } = context;
  const { store: real, executor } = edgeStore(environment);
  const job = `unanswered-${context.runId}${control ? '-control' : ''}`;
  const violations: FaultViolation[] = [];
  const notes: string[] = [];
  const options = { job, store: control ? invocationForgotten(real) : real, ...EDGE_OPTIONS };
  const guarded = edgeHandler(options);
  // Lambda's retries land in another execution environment, which knows nothing of the first
  // attempt's unanswered claim (in the same one, the guard withdraws it first: life-cycle.test.ts).
  const elsewhere = edgeHandler(options);
  const requestId = `${job}-request`;
  const answers: string[] = [];
  try {
    const tick = await currentTick(environment);
    // The job's row exists already (a claim on a missing row commits nothing).
    const setup = await real.claim({ job, holder: 'setup', leaseMs: 60_000 });
    if (setup.acquired) await real.release({ job, holder: 'setup', fence: setup.fence, outcome: 'failure' });
    const { faults } = environment.dataApi;
    const claim = leaseStatements(environment.table).claim;
    // First the claim commits and its answer is lost; then the writer is gone past the budget.
    const lost = faults.inject({ dropResponseAfterCommit: true, match: claim, count: 1 });
    const down = faults.inject({ exception: 'DatabaseUnavailableException', forMs: 2500 });
    const first = await guarded.invoke(schedulerEvent(tick), { requestId, timeoutMs: 3000 });
    answers.push(first.kind);
    down.remove();
    const committed = (await real.inspect(job))?.holder ?? null;
    if (lost.hits === 0 || first.kind !== 'threw' || committed === null) {
      violations.push({
        invariant: 'not-exercised',
        job,
        message: `lost answers ${lost.hits}, first attempt ${first.kind}, committed holder ${committed}`,
      });
    }
    // Lambda's retry of the same request, while the first attempt's lease lives.
    const early = await elsewhere.invoke(schedulerEvent(tick), { requestId });
    answers.push(early.kind === 'skipped' ? `skipped ${early.reason}` : early.kind);
    if (early.kind === 'skipped') {
      violations.push({
        invariant: 'silent-loss',
        job,
        message: `a retry answered skipped (${early.reason}) while only its own earlier attempt held the lease, and nobody ran the tick`,
      });
    }
    // The platform retries again after that lease ended: the tick runs.
    await until(async () => (await real.inspect(job))?.held === false, { what: 'the lost claim’s lease to end' });
    const late = await elsewhere.invoke(schedulerEvent(tick), { requestId });
    answers.push(late.kind === 'skipped' ? `skipped ${late.reason}` : late.kind);
    if (late.kind !== 'ran' && guarded.runs.length + elsewhere.runs.length === 0) {
      violations.push({
        invariant: 'liveness',
        job,
        message: `tick ${tick.toISOString()} never ran (last retry: ${late.kind})`,
      });
    }
    notes.push(`attempts of one request id: ${answers.join(' → ')}`);
  } finally {
    await executor.close();
  }
  return {
    faults: 2,
    invocations: answers.length,
    runs: guarded.runs.length + elsewhere.runs.length,
    violations,
    notes,
  };
}

export const unansweredClaim: Scenario = {
  name: 'unanswered-claim',
  catalogue: 'F3 F4 (issue 14, failure 2)',
  proves:
    'A retry of an invocation whose claim committed unanswered fails again while that claim’s lease lives (never a silent skip), and runs the tick once it has ended.',
  run: (context) => runUnansweredClaim(context, false),
};

export const unansweredClaimControl: Scenario = {
  name: 'unanswered-claim-control',
  catalogue: 'F3 F4 (control)',
  proves: 'The check catches a claim that cannot tell its own earlier attempt (before issue 14): the retry skips.',
  control: true,
  run: (context) => runUnansweredClaim(context, true),
};
