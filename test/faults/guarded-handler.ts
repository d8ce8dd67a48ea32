/**
 * An in-process guarded handler for the bad-input scenarios: the real middy middleware over the
 * real SDK client and the local Data API server, with a Lambda-like context, counting its runs.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import middy from '@middy/core';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseGuardContext, LeaseSkipped } from '../../src/guard/types.js';
import { LOCAL_ARNS } from '../../src/local/local-command.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { createDataApiExecutor } from '../../src/sql/data-api-executor.js';
import type { SqlExecutor } from '../../src/sql/executor.js';

/** An executor through the SDK to the environment's local Data API server. */
export function localDataApiExecutor(environment: FleetEnvironment): SqlExecutor {
  const client = new RDSDataClient({
    endpoint: environment.dataApi.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const executor = createDataApiExecutor({ client, ...LOCAL_ARNS, database: environment.database });
  return {
    execute: (statement, options) => executor.execute(statement, options),
    async close() {
      client.destroy();
    },
  };
}

export interface CountingHandler {
  invoke(event: unknown): Promise<{ ran: true; fence: number } | LeaseSkipped>;
  readonly runs: number;
}

export function countingHandler(options: Omit<LeaseGuardOptions, 'logger' | 'metrics'>): CountingHandler {
  let runs = 0;
  const handler = middy(async (_event: unknown, context: LeaseGuardContext) => {
    runs++;
    return { ran: true as const, fence: context.lease.fence };
  }).use(leaseGuard({ ...options, logger: false, metrics: false }));
  let sequence = 0;
  return {
    get runs() {
      return runs;
    },
    invoke(event) {
      const context = fleetLambdaContext({
        functionName: 'faults-bad-input',
        region: 'us-east-1',
        requestId: `bad-input-${++sequence}`,
        timeoutMs: 10_000,
      });
      return handler(event, context as LeaseGuardContext) as Promise<{ ran: true; fence: number } | LeaseSkipped>;
    },
  };
}
