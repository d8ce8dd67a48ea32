import type { Context } from 'aws-lambda';

export interface FleetContextOptions {
  readonly functionName: string;
  readonly region: string;
  /** Reused by Lambda's retries of the same event. */
  readonly requestId: string;
  readonly timeoutMs: number;
}

/**
 * A Lambda context as the runtime builds it. The deadline is monotonic, never the wall clock, so
 * a worker whose clock is skewed by minutes still counts its remaining time right.
 */
export function fleetLambdaContext(options: FleetContextOptions): Context {
  const { functionName, region, requestId } = options;
  const deadline = performance.now() + options.timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `fleet/[$LATEST]${requestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
