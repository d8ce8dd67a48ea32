/**
 * Issue 14 items 3 and 4: an answer produced while the body may still run. A child process plays
 * the Lambda sandbox; its body ignores its signal and never settles, beating over IPC while it
 * runs. The handler answers early (the guard's deadline with middy's default 5 ms, or a custom
 * `timeoutEarlyResponse` that returns or throws), the sandbox is frozen right after (SIGSTOP, as
 * Lambda freezes it), the platform's retry and the next tick arrive in another environment at
 * once, and a later holder runs once the lease has ended, during which the sandbox thaws
 * (SIGCONT, as at its next invocation). Checked: no beat of the abandoned body lands inside any
 * later body, no two later bodies overlap, and a later holder did run.
 * The control runs today's behaviours: the middleware with a custom response (success recorded,
 * lease freed) and the middleware with the environment kept after an abandoned body.
 */
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import middy from '@middy/core';
import { schedulerEvent } from '../../../src/fleet/events.js';
import { fleetLambdaContext } from '../../../src/fleet/lambda-context.js';
import { createEngine } from '../../../src/guard/engine.js';
import { ExecutionModel } from '../../../src/guard/execution.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../../../src/guard/options.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import { leaseGuarded } from '../../../src/middleware/lease-guarded.js';
import { childModule } from '../../support/prebuilt.js';
import {
  SANDBOX_ENV,
  type SandboxConfig,
  type SandboxInvoke,
  type SandboxMessage,
} from '../frozen-sandbox-protocol.js';
import type { FaultViolation, Scenario, ScenarioContext, ScenarioReport } from '../scenario.js';

interface Case {
  readonly name: string;
  readonly shape: SandboxConfig['shape'];
  readonly response: SandboxConfig['response'];
  readonly keepEnvironment: boolean;
}

const LEASE_MARGIN_MS = 500;
const RELEASE_TIMEOUT_MS = 500;
/** How long the sandbox's invocation may run beyond its reserve: room for a claim on a loaded machine. */
const EXTRA_MS = 3_000;
const LATER_BODY_MS = 600;
const HOLDER_BODY_MS = 800;
const BOUND_MS = 20_000;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function guardOptions(context: ScenarioContext, job: string): LeaseGuardOptions {
  return {
    job,
    table: context.environment.table,
    executor: context.environment.executor,
    logger: false,
    metrics: false,
    leaseMarginMs: LEASE_MARGIN_MS,
    releaseTimeoutMs: RELEASE_TIMEOUT_MS,
  };
}

async function runCase(context: ScenarioContext, spec: Case, violations: FaultViolation[], notes: string[]) {
  const { environment } = context;
  const job = `abandoned-${spec.name}-${context.runId}`;
  const reserveMs = createEngine(parseLeaseGuardOptions(guardOptions(context, job)), {
    model: ExecutionModel.LAMBDA,
  }).releaseReserveMs;
  const store = createSqlLeaseStore({ executor: environment.executor, table: environment.table });
  const config: SandboxConfig = {
    mysqlUrl: environment.mysqlUrl,
    table: environment.table,
    job,
    shape: spec.shape,
    response: spec.response,
    keepEnvironment: spec.keepEnvironment,
    leaseMarginMs: LEASE_MARGIN_MS,
    releaseTimeoutMs: RELEASE_TIMEOUT_MS,
  };
  const sandbox = childModule('test/faults/frozen-sandbox.ts');
  const child = fork(sandbox.file, [], {
    execArgv: sandbox.execArgv,
    cwd: ROOT,
    env: { ...process.env, [SANDBOX_ENV]: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  // A send to a sandbox that has just ended fails here; its exit is what the case looks at.
  child.on('error', () => undefined);
  const beats: number[] = [];
  let started = false;
  let answer: string | undefined;
  let exited = false;
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message: SandboxMessage) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'body-start') started = true;
      if (message.type === 'alive') beats.push(performance.now());
      if (message.type === 'answered') answer = `${message.how} ${message.detail}`;
    });
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    exited = true;
  });
  const windows: { label: string; from: number; to: number }[] = [];
  const laterBody = (label: string, ms: number, during?: () => void) => async () => {
    const from = performance.now();
    during?.();
    await sleep(ms);
    windows.push({ label, from, to: performance.now() });
    return 'ran';
  };
  const later = (label: string, ms: number, during?: () => void) =>
    middy(leaseGuarded(guardOptions(context, job), laterBody(label, ms, during)));
  const invokeLater = (handler: ReturnType<typeof later>, tick: Date) =>
    handler(
      schedulerEvent(tick),
      fleetLambdaContext({
        functionName: 'later',
        region: 'eu-west-1',
        requestId: `${job}-later`,
        timeoutMs: 10_000,
      }) as never,
    ).catch((error: unknown) => `threw ${String(error)}`);

  try {
    await Promise.race([ready, gone, sleep(BOUND_MS)]);
    const now = await environment.databaseNow();
    const minute = Math.floor(now.getTime() / 60_000) * 60_000;
    const [t0, t1, t2] = [3, 2, 1].map((back) => new Date(minute - back * 60_000)) as [Date, Date, Date];
    const invoke: SandboxInvoke = {
      type: 'invoke',
      event: schedulerEvent(t0),
      timeoutMs: reserveMs + EXTRA_MS,
      earlyMs: reserveMs + EXTRA_MS / 2,
    };
    if (!exited) child.send(invoke);
    // The answer, or the environment ending instead of answering.
    for (let waited = 0; answer === undefined && !exited && waited < BOUND_MS; waited += 10) await sleep(10);
    if (!started) {
      violations.push({ invariant: 'not-exercised', job, message: `the sandbox’s body never started. ${stderr}` });
      return;
    }
    // Lambda freezes the sandbox once it has answered.
    const frozen = !exited;
    if (frozen) child.kill('SIGSTOP');
    notes.push(`${spec.name}: ${exited ? 'environment ended' : `answered (${answer}), frozen`}`);
    // The platform's retry of the tick and the next tick, at once, in another environment.
    await Promise.all([
      invokeLater(later('retry', LATER_BODY_MS), t0),
      invokeLater(later('next tick', LATER_BODY_MS), t1),
    ]);
    const row = await store.inspect(job);
    if (row?.tickDone && row.tickDone.getTime() >= t0.getTime()) {
      violations.push({
        invariant: 'success-recorded',
        job,
        message: `${spec.name}: the abandoned run was recorded as a success (tick done ${row.tickDone.toISOString()})`,
      });
    }
    // Once the lease has ended, a later holder; the sandbox thaws while it runs.
    for (let waited = 0; waited < BOUND_MS; waited += 50) {
      if (!(await store.inspect(job))?.held) break;
      await sleep(50);
    }
    await invokeLater(
      later('later holder', HOLDER_BODY_MS, () => {
        if (frozen && !exited) child.kill('SIGCONT');
      }),
      t2,
    );
    if (!windows.some((w) => w.label === 'later holder')) {
      violations.push({ invariant: 'liveness', job, message: 'no later holder ran after the lease ended' });
    }
  } finally {
    if (!exited) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await gone;
  }
  for (const window of windows) {
    const inside = beats.filter((at) => at > window.from && at < window.to).length;
    if (inside > 0) {
      violations.push({
        invariant: 'overlap',
        job,
        message: `${spec.name}: the abandoned body ran beside the ${window.label}'s body (${inside} beats inside it)`,
      });
    }
  }
  windows.forEach((a, i) => {
    for (const b of windows.slice(i + 1)) {
      if (a.from < b.to && b.from < a.to) {
        violations.push({
          invariant: 'overlap',
          job,
          message: `${spec.name}: the ${a.label} and the ${b.label} overlapped`,
        });
      }
    }
  });
  return windows.length;
}

async function runCases(context: ScenarioContext, cases: readonly Case[], control = false): Promise<ScenarioReport> {
  const violations: FaultViolation[] = [];
  const notes: string[] = [];
  let runs = 0;
  for (const spec of cases) {
    const before = violations.length;
    runs += (await runCase(context, spec, violations, notes)) ?? 0;
    const found = violations.slice(before);
    // A control passes only by catching the overlap it exists for, never by a case that did not run.
    const caught = (v: FaultViolation) => v.invariant === 'overlap' || v.invariant === 'success-recorded';
    if (control && !(found.some((v) => v.invariant === 'overlap') && found.every(caught))) {
      throw new Error(`control case ${spec.name} did not catch its overlap: ${JSON.stringify(found)}`);
    }
  }
  return { faults: cases.length, invocations: cases.length * 4, runs, violations, notes };
}

export const abandonedBody: Scenario = {
  name: 'abandoned-body',
  catalogue: 'F8 F11 T6',
  proves:
    'An answer produced while the body may still run (the guard’s deadline under middy’s default, a custom timeoutEarlyResponse returning or throwing) records no success, frees no lease, and ends the environment, so the body never runs beside a retry, the next tick or a later holder, even after a freeze.',
  run: (context) =>
    runCases(context, [
      { name: 'wrapper-default', shape: 'wrapper', response: 'default', keepEnvironment: false },
      { name: 'wrapper-value', shape: 'wrapper', response: 'value', keepEnvironment: false },
      { name: 'wrapper-throw', shape: 'wrapper', response: 'throw', keepEnvironment: false },
      { name: 'middleware-default', shape: 'middleware', response: 'default', keepEnvironment: false },
    ]),
};

export const abandonedBodyControl: Scenario = {
  name: 'abandoned-body-control',
  catalogue: 'F8 F11 T6 (control)',
  proves:
    'The checks can fail: the middleware with a custom response frees the lease while the body runs, and an environment kept after an abandoned body resumes it beside a later holder.',
  control: true,
  run: (context) =>
    runCases(
      context,
      [
        { name: 'middleware-value', shape: 'middleware', response: 'value', keepEnvironment: false },
        { name: 'middleware-kept', shape: 'middleware', response: 'default', keepEnvironment: true },
      ],
      true,
    ),
};
