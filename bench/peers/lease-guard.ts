/**
 * lease-guard as users run it: a middy handler with the `leaseGuard` middleware, one handler per
 * job, fed an EventBridge Scheduler event for the tick. The claim is the middleware's `before`, the
 * release its `after`; the body waits on a gate so the benchmark can hold the lease while it "runs".
 */
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import type { LeaseGuardLogger, LeaseGuardMetrics } from '../../src/guard/observe.js';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import { migrate } from '../../src/lease/schema.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { type Claim, type Invoker, type InvokerEnv, LOST, type Peer, type Transport } from './peer.js';

/** The function's timeout the context reports; the guard derives the lease length from it. */
const FUNCTION_TIMEOUT_MS = 60_000;

// Serialised like Powertools' JSON lines, then dropped: the observer's work is kept, stdout is not flooded.
const sink = (line: unknown): void => {
  JSON.stringify(line);
};
const logger: LeaseGuardLogger = { info: sink, warn: sink, error: sink };
const metrics: LeaseGuardMetrics = {
  singleMetric: () => ({ addDimension: sink, addMetric: sink }),
};

interface Gate {
  readonly started: () => void;
  readonly done: Promise<void>;
}

function lambdaContext(functionName: string): Context {
  return fleetLambdaContext({
    functionName,
    region: 'us-east-1',
    requestId: randomUUID(),
    timeoutMs: FUNCTION_TIMEOUT_MS,
  });
}

export function leaseGuardPeer(transport: Transport, table: string): Peer {
  return {
    name: `lease-guard (${transport === 'data-api' ? 'Data API' : 'mysql2'})`,
    transport,
    // Deploy time creates the table; a job's row is created by its first claim, once ever.
    async prepare(executor: SqlExecutor) {
      await migrate(executor, table);
    },
    invoker(env: InvokerEnv): Invoker {
      const gates = new WeakMap<object, Gate>();
      const handlers = new Map<string, ReturnType<typeof guardedHandler>>();

      function guardedHandler(job: string) {
        return middy<{ scheduledTime: string }, unknown, Error, LeaseGuardContext>()
          .use(leaseGuard({ job, table, executor: env.executor, logger, metrics }))
          .handler(async (_event, context) => {
            const gate = gates.get(context);
            if (!gate) throw new Error('bench: an invocation without a gate');
            gate.started();
            await gate.done;
            return { ran: true };
          });
      }

      return {
        async claim(job: string, tick: Date): Promise<Claim> {
          let handler = handlers.get(job);
          if (!handler) {
            handler = guardedHandler(job);
            handlers.set(job, handler);
          }
          const context = lambdaContext(`bench-${job}`) as LeaseGuardContext;
          let started!: () => void;
          let finish!: () => void;
          const running = new Promise<'won'>((resolve) => {
            started = () => resolve('won');
          });
          const done = new Promise<void>((resolve) => {
            finish = resolve;
          });
          gates.set(context, { started, done });
          const result = handler({ scheduledTime: tick.toISOString() }, context);
          // Settles either way so a rejection after the race is still observed, by `release` or below.
          const returned = result.then(
            () => 'returned' as const,
            () => 'returned' as const,
          );
          if ((await Promise.race([running, returned])) === 'returned') {
            await result; // a skip resolves; a store failure (LeaseUnavailableError) throws here
            return LOST;
          }
          return {
            won: true,
            async release() {
              finish();
              await result;
            },
          };
        },
      };
    },
  };
}
