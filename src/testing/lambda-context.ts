import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { LeaseGuardContext } from '../guard/types.js';

export interface TestLambdaContextOptions {
  /** The invocation's timeout: `getRemainingTimeInMillis()` counts down from it. @default 60000 */
  readonly timeoutMs?: number;
  /** @default 'test-function' */
  readonly functionName?: string;
  /** A retry of the same event reuses it. @default a new UUID */
  readonly awsRequestId?: string;
}

/**
 * A Lambda context for unit tests of a guarded handler, typed as the context the handler declares
 * (`LeaseGuardContext`), so `handler(event, testLambdaContext())` compiles without a cast. The
 * guard sets `lease` before the body runs; reading it before that is a mistake the type cannot show.
 *
 * @example
 * const answer = await handler({ scheduledTime: '2026-01-01T02:00:00Z' }, testLambdaContext());
 */
export function testLambdaContext(options: TestLambdaContextOptions = {}): LeaseGuardContext {
  const functionName = options.functionName ?? 'test-function';
  const awsRequestId = options.awsRequestId ?? randomUUID();
  // Monotonic, like the runtime's: a wall-clock step in a test does not change the time left.
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `test/[$LATEST]${awsRequestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  // `lease` is set by the guard when the invocation wins; the type is the handler's.
  return context as LeaseGuardContext;
}
