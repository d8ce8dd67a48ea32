/**
 * A Lambda execution environment as a child process, for the abandoned-body scenario: it hosts one
 * guarded handler whose body ignores its abort signal and never settles (a job JavaScript cannot
 * stop), and reports over IPC when the body starts, every beat while it runs, and when the handler
 * answered. The parent freezes it (SIGSTOP) right after the answer, as Lambda does, and thaws it
 * (SIGCONT) while a later holder runs.
 *
 * `keepEnvironment` replaces process.exit with a no-op: the behaviour before lease-guard ended the
 * environment after an abandoned body (the negative control).
 */
import middy from '@middy/core';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { leaseGuarded } from '../../src/middleware/lease-guarded.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { SANDBOX_ENV, type SandboxConfig, type SandboxInvoke, type SandboxMessage } from './frozen-sandbox-protocol.js';

const BEAT_MS = 20;

function send(message: SandboxMessage): void {
  process.send?.(message);
}

function start(): void {
  const config = JSON.parse(process.env[SANDBOX_ENV] ?? '') as SandboxConfig;
  if (config.keepEnvironment) process.exit = (() => undefined) as never;
  const executor = createMysql2Executor({ url: config.mysqlUrl });
  const options: LeaseGuardOptions = {
    job: config.job,
    table: config.table,
    executor,
    logger: false,
    metrics: false,
    leaseMarginMs: config.leaseMarginMs,
    releaseTimeoutMs: config.releaseTimeoutMs,
  };
  // Never settles and never looks at its signal: only ending the process stops it.
  const body = (): Promise<never> => {
    send({ type: 'body-start' });
    setInterval(() => send({ type: 'alive' }), BEAT_MS);
    return new Promise<never>(() => undefined);
  };

  process.on('message', (message: SandboxInvoke) => {
    if (message.type !== 'invoke') return;
    const custom =
      config.response === 'default'
        ? {}
        : {
            timeoutEarlyInMillis: message.earlyMs,
            timeoutEarlyResponse:
              config.response === 'value'
                ? () => ({ statusCode: 504 })
                : () => {
                    throw new Error('gateway timeout');
                  },
          };
    const handler =
      config.shape === 'wrapper'
        ? middy(leaseGuarded(options, body), custom)
        : middy(body, custom).use(leaseGuard(options));
    const context = fleetLambdaContext({
      functionName: 'frozen-sandbox',
      region: 'us-east-1',
      requestId: `sandbox-${process.pid}`,
      timeoutMs: message.timeoutMs,
    });
    handler(message.event, context as never).then(
      (value) => send({ type: 'answered', how: 'returned', detail: JSON.stringify(value) ?? 'undefined' }),
      (error: unknown) => send({ type: 'answered', how: 'threw', detail: String(error) }),
    );
  });
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  send({ type: 'ready' });
}

start();
