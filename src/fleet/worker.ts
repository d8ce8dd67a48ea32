/**
 * A fleet worker: one Lambda execution environment of one region, as a process the supervisor
 * forks, so it can be killed at its deadline, frozen and started with a skewed clock. It runs one
 * invocation at a time, as Lambda does, and reports over IPC; the supervisor keeps the clock.
 */
import { writeSync } from 'node:fs';
import type { LeaseSkipped } from '../guard/types.js';
import { createDataApiExecutor } from '../sql/data-api-executor.js';
import { createFleetHandler, type FleetContext, type FleetJobHooks } from './fleet-job.js';
import { sendToParent } from './ipc.js';
import { createIpcLeaseStore } from './ipc-store.js';
import { fleetLambdaContext } from './lambda-context.js';
import {
  GIVEN_UP_EXIT_LINE,
  type HandlerAnswer,
  type InvokeMessage,
  type SupervisorMessage,
  WORKER_ENV,
  type WorkerConfig,
  type WorkerMessage,
} from './messages.js';

function send(message: WorkerMessage): Promise<void> {
  return sendToParent(message, 'the fleet worker');
}

function readConfig(): WorkerConfig {
  const text = process.env[WORKER_ENV.CONFIG];
  if (!text || !process.send) {
    throw new Error(`the fleet worker must be forked by the supervisor with ${WORKER_ENV.CONFIG} set`);
  }
  return JSON.parse(text) as WorkerConfig;
}

function isSkipped(result: unknown): result is LeaseSkipped {
  return typeof result === 'object' && result !== null && (result as LeaseSkipped).status === 'skipped';
}

function startWorker(): void {
  const config = readConfig();
  let current: string | undefined;

  const forwardDecision = (_message: string, ...extra: Record<string, unknown>[]): void => {
    const fields = Object.assign({}, ...extra) as { attempts?: unknown };
    // Only the claim's line carries attempts; releases are visible in the outcome already.
    if (current === undefined || typeof fields.attempts !== 'number') return;
    send({ type: 'decision', invocationId: current, attempts: fields.attempts }).catch(exitOnLostSupervisor);
  };
  const hooks: FleetJobHooks = {
    bodyStarted: (invocationId, lease) =>
      send({ type: 'body-start', invocationId, fence: lease.fence, holder: lease.holder }),
    bodyEnded: (invocationId, register) => send({ type: 'body-end', invocationId, register }),
    logger: { info: forwardDecision, warn: forwardDecision, error: forwardDecision },
  };
  const needsRegister = config.jobs.some((job) => job.register);
  const registerExecutor = needsRegister ? createDataApiExecutor() : undefined;
  const ipcStore = config.store === 'supervisor' ? createIpcLeaseStore(send) : undefined;
  const handlers = new Map(
    config.jobs.map((job) => [job.job, createFleetHandler(job, hooks, registerExecutor, ipcStore?.store)]),
  );

  async function invoke(message: InvokeMessage): Promise<void> {
    const handler = handlers.get(message.job);
    current = message.invocationId;
    await send({ type: 'started', invocationId: message.invocationId });
    let answer: HandlerAnswer;
    if (!handler) {
      answer = { kind: 'threw', name: 'UnknownJob', message: `this worker hosts no job ${message.job}` };
    } else {
      const context = Object.assign(
        fleetLambdaContext({
          functionName: `fleet-${message.job}`,
          region: config.region,
          requestId: message.requestId,
          timeoutMs: message.timeoutMs,
        }),
        { fleet: { invocationId: message.invocationId, body: message.body } },
      ) as FleetContext;
      try {
        const result = await handler(message.event, context);
        answer = isSkipped(result)
          ? { kind: 'returned', skipped: true, reason: result.reason }
          : { kind: 'returned', skipped: false };
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        answer = { kind: 'threw', name: e.name, message: e.message };
      }
    }
    current = undefined;
    await send({ type: 'finished', invocationId: message.invocationId, answer });
  }

  process.on('message', (message: SupervisorMessage) => {
    if (message.type === 'invoke') invoke(message).catch(exitOnLostSupervisor);
    else if (message.type === 'store-reply') ipcStore?.onReply(message);
  });
  // The guard ends the environment (exit 1) when it gives a body up mid-run; a crash or a lost
  // supervisor also exits 1, but not from inside an invocation without an exception first.
  process.on('uncaughtExceptionMonitor', () => {
    crashed = true;
  });
  process.on('exit', (code) => {
    if (code === 1 && current !== undefined && !crashed) writeSync(2, `${GIVEN_UP_EXIT_LINE}\n`);
  });
  // Without its supervisor a worker has no purpose: never outlive it.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C reaches the whole process group; the supervisor decides when workers stop.
  process.on('SIGINT', () => undefined);
  send({ type: 'ready', clockMs: Date.now() }).catch(exitOnLostSupervisor);
}

let crashed = false;

function exitOnLostSupervisor(error: unknown): void {
  crashed = true;
  process.stderr.write(`fleet worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

startWorker();
