/**
 * Issue 14, failure 5: `withLease` trusted its lease from when the claim's ANSWER arrived. Here
 * the claim commits at once but its answer is held back 1 s (a proxy in front of the local Data
 * API), and every renewal is black-holed. A contender polls from the moment the holder starts.
 * The holder must stop (its signal aborts) before the contender can win: its window counts from
 * when the claim was sent. The control's holder keeps the window the old code computed (from the
 * answer): the contender wins while it still runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { observerNow } from '../../../src/fleet/history.js';
import { leaseStatements } from '../../../src/fleet/nemeses.js';
import { renewSql } from '../../../src/lease/sql.js';
import { LOCAL_ARNS } from '../../../src/local/local-command.js';
import { withLease } from '../../../src/middleware/with-lease.js';
import { createDataApiExecutor } from '../../../src/sql/data-api-executor.js';
import { startAnswerProxy } from '../answer-proxy.js';
import { edgeStore } from '../edge-handler.js';
import type { FaultViolation, Scenario, ScenarioContext, ScenarioReport } from '../scenario.js';

const LEASE_MS = 2000;
const MARGIN_MS = 500;
const ANSWER_DELAY_MS = 1000;
const POLL_MS = 50;

async function runSlowAnswer(context: ScenarioContext, control: boolean): Promise<ScenarioReport> {
  const { environment } = context;
  const job = `with-lease-slow-${context.runId}${control ? '-control' : ''}`;
  const proxy = await startAnswerProxy(environment.dataApi.url, {
    match: leaseStatements(environment.table).claim,
    delayMs: ANSWER_DELAY_MS,
  });
  const client = new RDSDataClient({
    endpoint: proxy.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const executor = createDataApiExecutor({ client, ...LOCAL_ARNS, database: environment.database });
  const contender = edgeStore(environment);
  const renewals = environment.dataApi.faults.inject({
    hangUntilClientGivesUp: true,
    match: new RegExp(`^${renewSql(environment.table).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
  });
  // The job's row exists, so the claim is one statement (a missing row costs two more).
  const setup = await contender.store.claim({ job, holder: 'setup', leaseMs: LEASE_MS });
  if (setup.acquired) await contender.store.release({ job, holder: 'setup', fence: setup.fence, outcome: 'failure' });
  const violations: FaultViolation[] = [];
  let started: number | null = null;
  let stopped: number | null = null;
  let wonAt: number | null = null;
  try {
    let polling: Promise<void> = Promise.resolve();
    const result = await withLease(
      {
        job,
        executor,
        table: environment.table,
        leaseMs: LEASE_MS,
        leaseMarginMs: MARGIN_MS,
        renewEveryMs: 300,
        retry: { attemptTimeoutMs: 3 * ANSWER_DELAY_MS, budgetMs: 5000 },
        logger: false,
        metrics: false,
      },
      async (lease) => {
        started = observerNow();
        const until = control ? started + LEASE_MS - MARGIN_MS : Number.POSITIVE_INFINITY;
        polling = (async () => {
          for (let polls = 0; wonAt === null && polls < 200; polls++) {
            const claim = await contender.store.claim({ job, holder: `contender-${polls}`, leaseMs: LEASE_MS });
            if (claim.acquired) wonAt = observerNow();
            else await sleep(POLL_MS);
          }
        })();
        while (!(control ? observerNow() >= until : lease.signal.aborted) && observerNow() - started < 10_000) {
          await sleep(10);
        }
        stopped = observerNow();
      },
    );
    await polling;
    if (result.status !== 'ran' || proxy.delayed === 0 || started === null || stopped === null) {
      violations.push({
        invariant: 'not-exercised',
        job,
        message: `withLease ${result.status}, ${proxy.delayed} claim answer(s) held back`,
      });
    } else if (wonAt === null) {
      violations.push({ invariant: 'liveness', job, message: 'the contender never took over' });
    } else if (wonAt < stopped) {
      violations.push({
        invariant: 'overlap',
        job,
        message: `the contender won ${(stopped - wonAt).toFixed(0)} ms before the holder stopped`,
      });
    }
    const at = (t: number | null) => (t === null || started === null ? '-' : `${(t - started).toFixed(0)} ms`);
    return {
      faults: 2,
      invocations: 1,
      runs: result.status === 'ran' ? 1 : 0,
      violations,
      notes: [
        `claim answer held ${ANSWER_DELAY_MS} ms; holder stopped at ${at(stopped)}, contender won at ${at(wonAt)} (from the holder's start)`,
      ],
    };
  } finally {
    renewals.remove();
    await proxy.close();
    client.destroy();
    await contender.executor.close();
  }
}

export const withLeaseSlowAnswer: Scenario = {
  name: 'with-lease-slow-answer',
  catalogue: 'L2 T5 (issue 14.5)',
  proves:
    'withLease counts its lease from when the claim was sent: with the claim’s answer held back and renewals lost, its body stops before a contender can win.',
  run: (context) => runSlowAnswer(context, false),
};

export const withLeaseSlowAnswerControl: Scenario = {
  name: 'with-lease-slow-answer-control',
  catalogue: 'L2 T5 (control)',
  proves:
    'The check catches a holder that trusts its lease from the answer (before issue 14): the contender overlaps it.',
  control: true,
  run: (context) => runSlowAnswer(context, true),
};
