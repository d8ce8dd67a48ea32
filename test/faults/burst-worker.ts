/**
 * A burst process: many concurrent invocations of the fleet's guarded handler (the real
 * `middy(body).use(leaseGuard(...))` over the Data API, with a Lambda-like context and deadline)
 * inside one Node process, as a burst of warm Lambda environments would send them. The parent
 * keeps the observer clock; this process only reports when each body starts and ends.
 */

import { createFleetHandler, type FleetContext } from '../../src/fleet/fleet-job.js';
import { sendToParent } from '../../src/fleet/ipc.js';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import type { HandlerAnswer } from '../../src/fleet/messages.js';
import type { LeaseGuardLogger } from '../../src/guard/observe.js';
import {
  BURST_ENV,
  type BurstConfig,
  type BurstInvocation,
  type BurstMessage,
  type BurstReport,
} from './burst-messages.js';

function send(message: BurstReport): Promise<void> {
  return sendToParent(message, 'the burst process');
}

const quiet: LeaseGuardLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function start(): void {
  const text = process.env[BURST_ENV];
  if (!text || !process.send) throw new Error(`a burst process must be forked with ${BURST_ENV} set`);
  const config = JSON.parse(text) as BurstConfig;
  const handlers = new Map(
    config.jobs.map((job) => [
      job.job,
      createFleetHandler(
        job,
        {
          bodyStarted: (invocationId, lease) =>
            send({ type: 'body-start', invocationId, fence: lease.fence, holder: lease.holder }),
          bodyEnded: (invocationId) => send({ type: 'body-end', invocationId }),
          logger: quiet,
        },
        undefined,
      ),
    ]),
  );

  async function invoke(invocation: BurstInvocation): Promise<void> {
    const handler = handlers.get(invocation.job);
    let answer: HandlerAnswer;
    if (!handler) {
      answer = { kind: 'threw', name: 'UnknownJob', message: `no job ${invocation.job}` };
    } else {
      const context = Object.assign(
        fleetLambdaContext({
          functionName: `burst-${invocation.job}`,
          region: config.region,
          requestId: invocation.requestId,
          timeoutMs: invocation.timeoutMs,
        }),
        { fleet: { invocationId: invocation.invocationId, body: invocation.body } },
      ) as FleetContext;
      try {
        const result = await handler(invocation.event, context);
        answer =
          'status' in result && result.status === 'skipped'
            ? { kind: 'returned', skipped: true, reason: result.reason }
            : { kind: 'returned', skipped: false };
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        answer = { kind: 'threw', name: e.name, message: e.message };
      }
    }
    await send({ type: 'finished', invocationId: invocation.invocationId, answer });
  }

  process.on('message', (message: BurstMessage) => {
    // All of a round's invocations start at once: the burst.
    for (const invocation of message.invocations) invoke(invocation).catch(lostParent);
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' }).catch(lostParent);
}

function lostParent(error: unknown): void {
  process.stderr.write(`burst process: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

start();
