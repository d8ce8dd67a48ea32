import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { DEFAULTS } from '../constants.js';
import { constructError } from './errors.js';
import { createLogGroup, DATA_API_SERVICES, functionRole, grantExecution, warnIfIsolated } from './function-options.js';

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
 * The shortest function timeout the guard can work in, with its default timings: the release's
 * reserve before the deadline (`releaseTimeoutMs` 2 s + 250 ms for the answer) after one whole claim
 * attempt (`retry.attemptTimeoutMs`, 5 s, e.g. a Data API call that hangs), rounded up to whole
 * seconds: 8 seconds. Below it, an invocation whose claim is slow has no time left to record its
 * run, and below 2.25 s every invocation is refused.
 */
export const MIN_TIMEOUT = Duration.seconds(
  Math.ceil((DEFAULTS.retry.attemptTimeoutMs + DEFAULTS.releaseTimeoutMs + DEFAULTS.answerReserveMs) / 1000),
);

/** What GuardedSchedule decides about the function it makes, beside the user's props. */
export interface GuardedFunctionSettings {
  readonly environment: Record<string, string>;
  readonly description: string;
  /** Bundle a source map and run with `--enable-source-maps`. */
  readonly sourceMap: boolean;
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * The function's defaults, each overridable: Node.js 22 on ARM64, 256 MB, 1 minute, one ES module
 * bundled by the local esbuild with the AWS SDK inside (the Data API client version is the one you
 * tested with), no source map unless asked, logs kept a month and retained, and its own role whose
 * permissions are one customer-managed policy (no AWS managed policy, no inline policy).
 */
export function createGuardedFunction(
  scope: Construct,
  id: string,
  entry: string,
  props: GuardedFunctionProps,
  settings: GuardedFunctionSettings,
): NodejsFunction {
  const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
  const major = checkRuntime(scope, runtime);
  const timeout = props.timeout ?? Duration.minutes(1);
  checkTimeout(scope, timeout);
  const { bundling, environment, logGroup, role, ...rest } = props;
  if ((logGroup || props.logRetention) && (settings.logRemovalPolicy || settings.logEncryptionKey)) {
    throw constructError(
      scope,
      'logRemovalPolicy and logEncryptionKey apply to the log group GuardedSchedule creates; set them on the log group you pass in functionProps instead.',
    );
  }
  // logRetention (deprecated) makes its own log group; a logGroup beside it would be refused.
  const ownLogGroup =
    logGroup || props.logRetention
      ? undefined
      : createLogGroup(scope, `${id}Logs`, {
          logRemovalPolicy: settings.logRemovalPolicy,
          logEncryptionKey: settings.logEncryptionKey,
        });
  const ownRole = role ? undefined : functionRole(scope, `${id}Role`);
  const fn = new NodejsFunction(scope, id, {
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    description: settings.description,
    handler: 'handler',
    ...rest,
    entry,
    runtime,
    timeout,
    role: role ?? ownRole,
    environment: {
      ...(settings.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      ...environment,
      ...settings.environment,
    },
    ...(ownLogGroup ? { logGroup: ownLogGroup } : { logGroup }),
    bundling: {
      format: OutputFormat.ESM,
      target: major ? `node${major}` : undefined,
      mainFields: ['module', 'main'],
      minify: true,
      sourceMap: settings.sourceMap,
      bundleAwsSDK: true,
      // CommonJS dependencies inside an ES module still call require.
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      ...bundling,
    },
  });
  if (ownRole) grantExecution(fn, ownRole, fn.logGroup);
  warnIfIsolated(scope, 'The guarded function', props.vpc, props.vpcSubnets, DATA_API_SERVICES);
  return fn;
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

/** Lambda's timeout range, and at least MIN_TIMEOUT. `what` names the setting in the message. */
export function checkTimeout(scope: Construct, timeout: Duration, what = 'timeout'): void {
  const ms = timeout.toMilliseconds();
  if (ms < 1000 || ms > 15 * 60_000 || ms % 1000 !== 0) {
    throw constructError(
      scope,
      `${what} must be whole seconds from 1 second to 15 minutes (what Lambda allows), got ${timeout.toHumanString()}.`,
    );
  }
  if (ms < MIN_TIMEOUT.toMilliseconds()) {
    throw constructError(
      scope,
      `${what} must be at least ${MIN_TIMEOUT.toHumanString()}, got ${timeout.toHumanString()}: the guard keeps ${DEFAULTS.releaseTimeoutMs + DEFAULTS.answerReserveMs} ms before the deadline to record the run (releaseTimeoutMs + ${DEFAULTS.answerReserveMs} ms) after a claim attempt of up to ${DEFAULTS.retry.attemptTimeoutMs} ms, so a shorter function could never record a slow claim's run (and one under ${(DEFAULTS.releaseTimeoutMs + DEFAULTS.answerReserveMs) / 1000} s refuses every invocation).`,
    );
  }
}
