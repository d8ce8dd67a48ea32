import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { constructError } from './errors.js';

/**
 * The `NodejsFunction` props a guarded function passes through, except the asynchronous-invoke
 * settings (`retryAttempts`, `maxEventAge`, `onFailure`, `onSuccess`): GuardedSchedule configures
 * those itself (`functionRetryAttempts`, `functionMaxEventAge`, its dead-letter queue), since Lambda
 * allows one such configuration per function.
 */
export type GuardedFunctionProps = Omit<
  NodejsFunctionProps,
  'retryAttempts' | 'maxEventAge' | 'onFailure' | 'onSuccess'
>;

/** The oldest Node.js the middleware runs on. */
const MIN_NODE = 20;

/**
 * The function's defaults, each overridable: Node.js 22 on ARM64, 256 MB, 1 minute, one ES module
 * bundled by the local esbuild with the AWS SDK inside (the Data API client version is the one you
 * tested with), source maps on, logs kept a month.
 */
export function createGuardedFunction(
  scope: Construct,
  id: string,
  entry: string,
  props: GuardedFunctionProps,
  settings: { readonly environment: Record<string, string>; readonly description: string },
): NodejsFunction {
  const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
  const major = checkRuntime(scope, runtime);
  const timeout = props.timeout ?? Duration.minutes(1);
  checkTimeout(scope, timeout);
  const { bundling, environment, logGroup, ...rest } = props;
  return new NodejsFunction(scope, id, {
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    description: settings.description,
    handler: 'handler',
    ...rest,
    entry,
    runtime,
    timeout,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...environment, ...settings.environment },
    // logRetention (deprecated) makes its own log group; a logGroup beside it would be refused.
    ...(logGroup || props.logRetention
      ? { logGroup }
      : { logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }) }),
    bundling: {
      format: OutputFormat.ESM,
      target: major ? `node${major}` : undefined,
      mainFields: ['module', 'main'],
      minify: true,
      sourceMap: true,
      bundleAwsSDK: true,
      // CommonJS dependencies inside an ES module still call require.
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      ...bundling,
    },
  });
}

/** A Node.js runtime the middleware supports; returns its major version (undefined for `nodejs` latest). */
export function checkRuntime(scope: Construct, runtime: lambda.Runtime): number | undefined {
  if (runtime.family !== lambda.RuntimeFamily.NODEJS) {
    throw constructError(
      scope,
      `runtime must be a Node.js runtime (lease-guard is a Node.js middleware), got ${runtime.name}; use e.g. lambda.Runtime.NODEJS_22_X.`,
    );
  }
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (major !== undefined && Number(major) < MIN_NODE) {
    throw constructError(
      scope,
      `runtime must be Node.js ${MIN_NODE} or later, got ${runtime.name}; use lambda.Runtime.NODEJS_22_X or NODEJS_24_X.`,
    );
  }
  return major === undefined ? undefined : Number(major);
}

function checkTimeout(scope: Construct, timeout: Duration): void {
  const ms = timeout.toMilliseconds();
  if (ms < 1000 || ms > 15 * 60_000 || ms % 1000 !== 0) {
    throw constructError(
      scope,
      `timeout must be whole seconds from 1 second to 15 minutes (what Lambda allows), got ${timeout.toHumanString()}.`,
    );
  }
}
