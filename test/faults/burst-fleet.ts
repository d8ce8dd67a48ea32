/**
 * Bursts of concurrent contenders: a few burst processes (burst-worker.ts) each start their share
 * of a round's invocations at once. The parent sends every round, keeps the one observer clock,
 * and records each invocation in a fleet history, so the fleet's checker judges the burst as it
 * judges the fleet. Bounded: a fixed number of rounds, each with a deadline.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { checkHistory } from '../../src/fleet/checker.js';
import { schedulerEvent } from '../../src/fleet/events.js';
import {
  createHistory,
  Delivery,
  InvocationOutcome,
  type InvocationRecord,
  observerNow,
} from '../../src/fleet/history.js';
import type { FleetJobConfig } from '../../src/fleet/messages.js';
import { childModule } from '../support/prebuilt.js';
import { BURST_ENV, type BurstConfig, type BurstInvocation, type BurstReport } from './burst-messages.js';
import type { FleetOutcome } from './fleet-run.js';
import type { ScenarioContext } from './scenario.js';
import { planTicks } from './ticks.js';

export interface BurstPlan {
  readonly jobs: readonly FleetJobConfig[];
  readonly rounds: number;
  /** Contenders per job per round. */
  readonly contenders: number;
  readonly processes: number;
  /** Another Data API endpoint (the negative control's broken claim). */
  readonly endpoint?: string;
}

export interface BurstOutcome extends FleetOutcome {
  /** Observer milliseconds of each skipped invocation: one claim round trip plus IPC. */
  readonly skipLatenciesMs: readonly number[];
}

const READY_TIMEOUT_MS = 30_000;
const ROUND_TIMEOUT_MS = 60_000;
/**
 * Each invocation's Lambda timeout. The guard enforces it in-process (a body still running
 * releaseReserveMs before it is abandoned and its process ended), so it must stay out of reach of
 * 200 claims on a loaded machine, or the burst would measure the machine.
 */
const TIMEOUT_MS = 30_000;
const REGION = 'us-east-1';

interface Pending {
  readonly invocation: BurstInvocation;
  readonly tick: Date;
  readonly delivery: Delivery;
  readonly pid: number;
  readonly startObs: number;
  bodyStartObs: number | null;
  bodyEndObs: number | null;
  fence: number | null;
  holder: string | null;
  readonly done: () => void;
}

function startProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const worker = childModule('test/faults/burst-worker.ts');
  const child = fork(worker.file, [], {
    execArgv: worker.execArgv,
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a burst process did not start within ${READY_TIMEOUT_MS} ms. ${stderr}`));
    }, READY_TIMEOUT_MS);
    child.once('message', () => {
      clearTimeout(timer);
      resolve(child);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a burst process exited (${code}) during start-up. ${stderr}`));
    });
  });
}

export async function runBurst(context: ScenarioContext, plan: BurstPlan): Promise<BurstOutcome> {
  const { environment } = context;
  const history = createHistory(plan.jobs.map((job) => ({ job: job.job, mode: 'per-tick', register: null })));
  const config: BurstConfig = { region: REGION, jobs: plan.jobs };
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const env = {
    ...inherited,
    ...environment.workerEnv,
    ...(plan.endpoint ? { AWS_ENDPOINT_URL_RDS_DATA: plan.endpoint } : {}),
    AWS_REGION: REGION,
    [BURST_ENV]: JSON.stringify(config),
  };
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  const pending = new Map<string, Pending>();
  const harnessErrors: unknown[] = [];
  const skipLatenciesMs: number[] = [];

  function onReport(report: BurstReport): void {
    if (report.type === 'ready') return;
    const entry = pending.get(report.invocationId);
    if (!entry) return;
    const at = observerNow();
    if (report.type === 'body-start') {
      entry.bodyStartObs = at;
      entry.fence = report.fence;
      entry.holder = report.holder;
    } else if (report.type === 'body-end') {
      entry.bodyEndObs = at;
    } else {
      const { answer } = report;
      const outcome =
        answer.kind === 'returned'
          ? answer.skipped
            ? InvocationOutcome.SKIPPED
            : InvocationOutcome.RAN
          : answer.name === 'LeaseUnavailableError'
            ? InvocationOutcome.UNAVAILABLE
            : InvocationOutcome.FAILED;
      const reason =
        answer.kind === 'threw' ? `${answer.name}: ${answer.message}` : answer.skipped ? answer.reason : null;
      if (outcome === InvocationOutcome.SKIPPED) skipLatenciesMs.push(at - entry.startObs);
      const record: InvocationRecord = {
        invocationId: entry.invocation.invocationId,
        job: entry.invocation.job,
        region: REGION,
        tick: entry.tick.toISOString(),
        attempt: 1,
        requestId: entry.invocation.requestId,
        delivery: entry.delivery,
        pid: entry.pid,
        outcome,
        reason,
        fence: entry.fence,
        holder: entry.holder,
        claimAttempts: null,
        startObs: entry.startObs,
        endObs: at,
        bodyStartObs: entry.bodyStartObs,
        bodyEndObs: entry.bodyEndObs,
        register: null,
      };
      history.recordInvocation(record);
      pending.delete(report.invocationId);
      entry.done();
    }
  }

  try {
    for (let i = 0; i < plan.processes; i++) {
      const child = await startProcess(env);
      children.push(child);
      child.on('message', onReport);
    }
    const ticks = await planTicks(environment, plan.rounds, 1000);
    let sequence = 0;
    for (const tick of ticks) {
      const batches: BurstInvocation[][] = children.map(() => []);
      const finished: Promise<void>[] = [];
      for (const job of plan.jobs) {
        for (let n = 0; n < plan.contenders; n++) {
          const index = sequence % children.length;
          const child = children[index] as ChildProcess;
          const invocation: BurstInvocation = {
            invocationId: `b${++sequence}`,
            job: job.job,
            event: schedulerEvent(tick),
            requestId: randomUUID(),
            timeoutMs: TIMEOUT_MS,
            body: { bodyMs: 50, registerDelayMs: 0 },
          };
          batches[index]?.push(invocation);
          finished.push(
            new Promise<void>((done) =>
              pending.set(invocation.invocationId, {
                invocation,
                tick,
                delivery: n === 0 ? Delivery.SCHEDULED : Delivery.DUPLICATE,
                pid: child.pid as number,
                startObs: observerNow(),
                bodyStartObs: null,
                bodyEndObs: null,
                fence: null,
                holder: null,
                done,
              }),
            ),
          );
        }
      }
      children.forEach((child, index) => {
        child.send({ type: 'round', invocations: batches[index] });
      });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), ROUND_TIMEOUT_MS);
      });
      const result = await Promise.race([Promise.all(finished), late]);
      clearTimeout(timer);
      if (result === 'late') {
        harnessErrors.push(
          new Error(`${pending.size} burst invocation(s) did not finish within ${ROUND_TIMEOUT_MS} ms`),
        );
        break;
      }
    }
  } finally {
    for (const child of children) if (child.connected) child.disconnect();
    killAll();
    process.off('exit', killAll);
  }
  const snapshot = history.snapshot();
  return { history: snapshot, check: checkHistory(snapshot), harnessErrors, skipLatenciesMs };
}
