import { Annotations, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, LEASE_ENV, METRICS } from '../constants.js';
import { assertJobName } from '../lease/names.js';
import type { LeaseDatabase } from './database.js';
import { constructError } from './errors.js';
import { functionRole } from './function-options.js';
import { checkRuntime, checkTimeout, createGuardedFunction, type GuardedFunctionProps } from './guarded-function.js';
import { JobMonitoring, type JobMonitoringProps } from './job-monitoring.js';
import {
  acknowledgeDeadLetterQueue,
  acknowledgeFunction,
  acknowledgeInvokeRole,
  acknowledgeOnFailureDestination,
} from './nag.js';
import { shortestTickGapMinutes } from './schedule-gap.js';

/** The jobs of each stack, with the path of the GuardedSchedule that defines each. */
const jobsByStack = new WeakMap<Stack, Map<string, string>>();

/** Ticks older than this are refused by the middleware as stale, so retrying longer is wasted. */
const STALE_AFTER = Duration.millis(DEFAULTS.maxTickAgeMs);

/**
 * The `Schedule` props GuardedSchedule passes through: all but `schedule` (its own prop) and
 * `target` (always this function, with the tick in the event).
 */
export type GuardedScheduleOptions = Omit<scheduler.ScheduleProps, 'schedule' | 'target'>;

export interface GuardedScheduleProps extends JobMonitoringProps {
  /**
   * The job's name: the lease row's key and the `Job` dimension of the metrics the alarms watch.
   * The function gets it as `LEASE_GUARD_JOB`, which the middleware reads when `job` is not given,
   * so handler and construct cannot disagree.
   */
  readonly job: string;

  /** The lease table and the credentials the function runs as (`LeaseTable.leaseDatabase`, `LeaseDatabase.fromArns`). */
  readonly database: LeaseDatabase;

  /** When EventBridge Scheduler invokes the function: `rate()`, `cron()` (with a time zone) or `at()`. */
  readonly schedule: scheduler.ScheduleExpression;

  /**
   * The rest of the schedule: group, flexible time window, enabled, start and end dates, a
   * customer-managed key, name, description.
   *
   * @default - Scheduler's defaults; the description names the job
   */
  readonly scheduleOptions?: GuardedScheduleOptions;

  /**
   * The handler's entry file, bundled into a new function (`NodejsFunction`).
   *
   * @default - none; give `lambdaFunction` instead (exactly one of the two)
   */
  readonly entry?: string;

  /**
   * `NodejsFunction` props for the new function (with `entry`): runtime (Node.js 20 or later,
   * e.g. `NODEJS_24_X`), memory, timeout, architecture, VPC, tracing, layers, reserved concurrency,
   * environment, bundling (e.g. `bundleAwsSDK: false`), log group. Environment names starting with
   * `LEASE_GUARD_` are set by this construct and refused here.
   *
   * The timeout must be at least 8 seconds (`MIN_TIMEOUT`): the guard needs a claim attempt and
   * its release reserve before the deadline.
   *
   * @default - Node.js 22, ARM64, 256 MB, 1 minute, ESM bundle with the AWS SDK and no source map,
   * logs kept a month, its own role with one customer-managed policy
   */
  readonly functionProps?: GuardedFunctionProps;

  /**
   * Whether the new function's bundle carries a source map and runs with
   * `NODE_OPTIONS=--enable-source-maps`: stack traces then point into your sources, at the cost of a
   * larger asset (the map is often bigger than the bundle) and slower cold starts.
   *
   * @default false
   */
  readonly sourceMap?: boolean;

  /**
   * What happens to the log group this construct creates for the new function when it leaves the
   * stack. With `functionProps.logGroup`, set it on your log group instead.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * The KMS key that encrypts the log group this construct creates for the new function; its key
   * policy gets a statement letting CloudWatch Logs use it for that log group.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * A function you already defined, to guard instead of creating one. It gets access to the lease
   * table, the asynchronous-invoke settings and the schedule; it must not have an
   * asynchronous-invoke configuration of its own.
   *
   * A `lambda.Function` defined in this app also gets the `LEASE_GUARD_*` environment, and its
   * runtime (Node.js 20+) and timeout (at least 8 seconds; Lambda's default is 3) are checked. An
   * imported function (`Function.fromFunctionArn`, `fromFunctionAttributes`, an alias) cannot be
   * changed here: it must set the variables in `environment` itself (synthesis warns), and it must
   * be imported with its role, which gets the grants (`fromFunctionAttributes({ functionArn, role,
   * sameEnvironment: true })`).
   *
   * @default - none; give `entry` instead
   */
  readonly lambdaFunction?: lambda.IFunction;

  /**
   * Run the new function (or `lambdaFunction`, when defined in this app) on Lambda Managed Instances:
   * the capacity provider's EC2 instances, many invocations at once per execution environment. The
   * function must run Node.js 22 or later; the network is the capacity provider's (its subnets and
   * security groups), not `functionProps.vpc`. The middleware detects the model from
   * `AWS_LAMBDA_MAX_CONCURRENCY`, which Lambda sets.
   *
   * @default - Lambda's default compute
   */
  readonly capacityProvider?: lambda.ICapacityProvider;

  /**
   * The function's settings on the capacity provider, passed through: `perExecutionEnvironmentMaxConcurrency`
   * (1 to 1600), `executionEnvironmentMemoryGiBPerVCpu`, `publishToLatestPublished`,
   * `latestPublishedScalingConfig`. Only with `capacityProvider`.
   *
   * @default - Lambda's defaults (Node.js: 64 concurrent invocations per vCPU)
   */
  readonly capacityProviderOptions?: lambda.CapacityProviderFunctionOptions;

  /**
   * More fields for the event. `scheduledTime` is always `<aws.scheduler.scheduled-time>`, the tick
   * the middleware reads, and cannot be overridden.
   *
   * @default - the event is `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`
   */
  readonly input?: Readonly<Record<string, unknown>>;

  /**
   * How often Scheduler retries an invocation Lambda refused (throttling, service errors). It does
   * not retry failed runs: Scheduler invokes asynchronously and Lambda owns those retries.
   *
   * @default 10
   */
  readonly retryAttempts?: number;

  /**
   * How long Scheduler keeps trying to deliver a tick. Older ticks are refused by the middleware
   * as stale (`maxTickAge`, one hour by default), so longer is wasted.
   *
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;

  /**
   * How often Lambda reruns a failed invocation (0 to 2). A failed run leaves its tick open, so a
   * retry can still complete it; a retry after success is skipped by the lease.
   *
   * @default 2
   */
  readonly functionRetryAttempts?: number;

  /**
   * How long an event may wait in Lambda's asynchronous queue (1 minute to 6 hours).
   *
   * @default Duration.hours(1)
   */
  readonly functionMaxEventAge?: Duration;

  /**
   * Where undeliverable ticks and events that failed every Lambda retry go.
   *
   * @default - a new SQS queue, SQS-managed encryption, TLS only, 14 days
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * A Lambda function that EventBridge Scheduler invokes on a schedule, wired for the lease-guard
 * middleware: the tick in every event, the `LEASE_GUARD_*` environment (the job name included),
 * least-privilege access to the lease table, deliberate retries, a dead-letter queue, metrics,
 * alarms and optionally a dashboard.
 *
 * Handlers deployed by it should pass `requireTick: true` to `leaseGuard`: every event it sends
 * carries the tick, so an event without one is not from this schedule and must not claim.
 *
 * Deploy the same job in several regions and the lease decides which invocation runs each tick.
 */
export class GuardedSchedule extends Construct {
  readonly job: string;
  readonly lambdaFunction: lambda.IFunction;
  /**
   * The `LEASE_GUARD_*` variables the function runs with: set on a function this construct made or
   * you defined in this app; an imported function must set them itself.
   */
  readonly environment: Readonly<Record<string, string>>;
  readonly schedule: scheduler.Schedule;
  /** Ticks Scheduler could not deliver, and invocations that failed after Lambda's retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The job's metrics, alarms and dashboard. */
  readonly monitoring: JobMonitoring;

  constructor(scope: Construct, id: string, props: GuardedScheduleProps) {
    super(scope, id);
    if (Token.isUnresolved(props.job)) {
      throw constructError(this, 'job must be a literal string: the alarms and the lease key need it at synth time.');
    }
    try {
      this.job = assertJobName(props.job, 'job');
    } catch (error) {
      throw constructError(this, (error as Error).message);
    }
    this.claimJobName();
    props.database.check(this);
    this.node.addValidation({ validate: () => props.database.dataApiErrors() });
    const delivery = resolveDelivery(this, props);
    checkTimeWindow(this, props);

    const reserved = Object.keys(props.functionProps?.environment ?? {}).filter((name) =>
      name.startsWith('LEASE_GUARD_'),
    );
    if (reserved.length > 0) {
      throw constructError(
        this,
        `functionProps.environment must not set ${reserved.join(', ')}: GuardedSchedule sets the LEASE_GUARD_* variables from job and database.`,
      );
    }
    // The schedule always sends a tick, so an event without one is not from it: never run it lease-only.
    const environment = {
      ...props.database.environment(this),
      [LEASE_ENV.JOB]: this.job,
      [LEASE_ENV.REQUIRE_TICK]: 'true',
    };
    this.environment = environment;
    this.lambdaFunction = this.resolveFunction(props, environment);
    props.database.grantLeaseAccess(this.lambdaFunction);
    if (props.capacityProvider) this.useCapacityProvider(props.capacityProvider, props.capacityProviderOptions);
    else if (props.capacityProviderOptions) {
      throw constructError(this, 'capacityProviderOptions applies only with capacityProvider; give both or neither.');
    }

    if (props.deadLetterQueue) {
      this.deadLetterQueue = props.deadLetterQueue;
    } else {
      const queue = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      acknowledgeDeadLetterQueue(queue);
      this.deadLetterQueue = queue;
    }
    // Lambda's own queue: retries of failed runs, then the event goes to the same dead-letter queue.
    try {
      this.lambdaFunction.configureAsyncInvoke({
        retryAttempts: delivery.functionRetryAttempts,
        maxEventAge: delivery.functionMaxEventAge,
        onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      });
      if (this.lambdaFunction instanceof lambda.Function) acknowledgeOnFailureDestination(this.lambdaFunction);
    } catch (error) {
      throw constructError(
        this,
        `the function already has an asynchronous-invoke configuration (${(error as Error).message}); remove its retryAttempts/maxEventAge/onFailure/onSuccess and use functionRetryAttempts and functionMaxEventAge here.`,
      );
    }
    // Its own role rather than the stack's shared one, so its permissions and their cdk-nag
    // acknowledgement stay with this construct.
    const role = functionRole(this, 'SchedulerRole', 'scheduler.amazonaws.com');
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `lease-guard job ${this.job}`,
      ...props.scheduleOptions,
      schedule: props.schedule,
      target: new targets.LambdaInvoke(this.lambdaFunction, {
        input: scheduler.ScheduleTargetInput.fromObject({
          ...delivery.input,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        retryAttempts: delivery.retryAttempts,
        maxEventAge: delivery.maxEventAge,
        deadLetterQueue: this.deadLetterQueue,
        role,
      }),
    });
    acknowledgeInvokeRole(role, this.lambdaFunction);

    this.monitoring = new JobMonitoring(this, 'Monitoring', {
      ...props,
      job: this.job,
      lambdaFunction: this.lambdaFunction,
      deadLetterQueue: this.deadLetterQueue,
      regular: isRegular(props),
    });
  }

  /** One job name per stack: two schedules of one job would share its lease row, alarms and metrics. */
  private claimJobName(): void {
    const stack = Stack.of(this);
    const jobs = jobsByStack.get(stack) ?? new Map<string, string>();
    jobsByStack.set(stack, jobs);
    const other = jobs.get(this.job);
    if (other !== undefined) {
      throw constructError(
        this,
        `the job ${this.job} is already defined by ${other} in this stack: two schedules of one job share one lease row and one set of metrics, so only one of them would run each tick. Give each job its own name, or deploy the same job in another region's stack.`,
      );
    }
    jobs.set(this.job, this.node.path);
  }

  private resolveFunction(props: GuardedScheduleProps, environment: Record<string, string>): lambda.IFunction {
    if ((props.entry === undefined) === (props.lambdaFunction === undefined)) {
      throw constructError(
        this,
        'give exactly one of entry (a handler file to bundle into a new function) and lambdaFunction (a function you already defined).',
      );
    }
    if (props.lambdaFunction) {
      if (props.functionProps) {
        throw constructError(
          this,
          'functionProps applies only to a function made from entry; configure lambdaFunction where you define it.',
        );
      }
      if (props.sourceMap !== undefined || props.logRemovalPolicy || props.logEncryptionKey) {
        throw constructError(
          this,
          'sourceMap, logRemovalPolicy and logEncryptionKey apply only to a function made from entry; configure lambdaFunction where you define it.',
        );
      }
      const fn = props.lambdaFunction;
      if (fn instanceof lambda.Function) {
        checkRuntime(this, fn.runtime);
        // Lambda's own default is 3 seconds.
        checkTimeout(this, fn.timeout ?? Duration.seconds(3), 'the timeout of lambdaFunction');
        for (const [name, value] of Object.entries(environment)) fn.addEnvironment(name, value);
      } else {
        Annotations.of(this).addWarningV2(
          'lease-guard:imported-function',
          `lambdaFunction is not a lambda.Function defined in this app, so GuardedSchedule cannot set its environment or check its runtime and timeout: the function must set ${Object.keys(environment).join(', ')} itself (values in GuardedSchedule.environment), run Node.js 20 or later, and have a timeout of at least 8 seconds.`,
        );
        if (!fn.role) {
          throw constructError(
            this,
            'lambdaFunction was imported without its role, which needs the lease table grant (rds-data:ExecuteStatement, read on the secret) and sqs:SendMessage on the dead-letter queue: import it with lambda.Function.fromFunctionAttributes(scope, id, { functionArn, role, sameEnvironment: true }).',
          );
        }
      }
      return fn;
    }
    const fn = createGuardedFunction(this, 'Function', props.entry as string, props.functionProps ?? {}, {
      environment,
      description: `lease-guard job ${this.job}`,
      sourceMap: props.sourceMap ?? false,
      logRemovalPolicy: props.logRemovalPolicy,
      logEncryptionKey: props.logEncryptionKey,
    });
    // Only for the function made here: a function you pass in keeps its own findings.
    acknowledgeFunction(fn, { runtimeChosenByUser: props.functionProps?.runtime !== undefined });
    return fn;
  }

  /**
   * Puts the function on a Lambda Managed Instances capacity provider, with its settings there. An
   * imported provider gets the same CloudFormation properties `CapacityProvider.addFunction` writes.
   */
  private useCapacityProvider(
    provider: lambda.ICapacityProvider,
    options: lambda.CapacityProviderFunctionOptions | undefined,
  ): void {
    const fn = this.lambdaFunction;
    if (!(fn instanceof lambda.Function)) {
      throw constructError(
        this,
        'capacityProvider needs a function defined in this app (entry, or a lambda.Function); put an imported function on the capacity provider where it is defined.',
      );
    }
    const major = checkRuntime(this, fn.runtime);
    if (major !== undefined && major < 22) {
      throw constructError(
        this,
        `capacityProvider needs Node.js 22 or later (what Lambda Managed Instances runs), got ${fn.runtime.name}; use lambda.Runtime.NODEJS_22_X or NODEJS_24_X.`,
      );
    }
    const concurrency = options?.perExecutionEnvironmentMaxConcurrency;
    if (concurrency !== undefined && !Token.isUnresolved(concurrency)) {
      checkInteger(this, 'perExecutionEnvironmentMaxConcurrency', concurrency, 1, 1600, 'Lambda allows 1 to 1600');
    }
    if (provider instanceof lambda.CapacityProvider) {
      provider.addFunction(fn, options);
      return;
    }
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    cfn.publishToLatestPublished = options?.publishToLatestPublished;
    cfn.capacityProviderConfig = {
      lambdaManagedInstancesCapacityProviderConfig: {
        capacityProviderArn: provider.capacityProviderArn,
        perExecutionEnvironmentMaxConcurrency: concurrency,
        executionEnvironmentMemoryGiBPerVCpu: options?.executionEnvironmentMemoryGiBPerVCpu,
      },
    };
    const scaling = options?.latestPublishedScalingConfig;
    if (scaling) {
      cfn.functionScalingConfig = {
        minExecutionEnvironments: scaling.minExecutionEnvironments,
        maxExecutionEnvironments: scaling.maxExecutionEnvironments,
      };
    }
  }

  /** A metric the middleware emits for this job, in this region (names in `METRICS`). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metric(metricName, props);
  }
  /** Runs that succeeded (sum). */
  metricRunsSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metric(METRICS.succeeded, props);
  }
  /** Runs whose body threw (sum). */
  metricRunsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metric(METRICS.failed, props);
  }
  /** Invocations that lost the claim or were refused (sum); the reason is in the log line. */
  metricSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metric(METRICS.skipped, props);
  }
  /** Invocations that could not know the lease's state and did not run (sum). */
  metricLeaseUnavailable(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metric(METRICS.unavailable, props);
  }
  /** Milliseconds the claim took, retries included (p99 unless told). */
  metricClaimLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metric(METRICS.claimLatency, { statistic: 'p99', ...props });
  }
}

/**
 * A schedule whose ticks come at a fixed rate for as long as it exists: only then does a period
 * without a tick mean something is wrong. Crons (weekdays only, …), `at()`, disabled schedules and
 * schedules with start or end dates have periods without ticks by design.
 */
function isRegular(props: GuardedScheduleProps): boolean {
  const options = props.scheduleOptions;
  return (
    props.schedule.expressionString.startsWith('rate(') &&
    options?.enabled !== false &&
    options?.start === undefined &&
    options?.end === undefined
  );
}

interface Delivery {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly functionRetryAttempts: number;
  readonly functionMaxEventAge: Duration;
  readonly input: Readonly<Record<string, unknown>>;
}

/** The timing and retry props with their defaults, checked against what the services accept. */
function resolveDelivery(scope: Construct, props: GuardedScheduleProps): Delivery {
  const retryAttempts = props.retryAttempts ?? 10;
  checkInteger(scope, 'retryAttempts', retryAttempts, 0, 185, 'EventBridge Scheduler allows 0 to 185');
  const maxEventAge = props.maxEventAge ?? STALE_AFTER;
  checkDuration(
    scope,
    'maxEventAge',
    maxEventAge,
    Duration.minutes(1),
    Duration.hours(24),
    'EventBridge Scheduler allows 1 minute to 24 hours',
  );
  const functionRetryAttempts = props.functionRetryAttempts ?? 2;
  checkInteger(scope, 'functionRetryAttempts', functionRetryAttempts, 0, 2, 'Lambda allows 0 to 2');
  const functionMaxEventAge = props.functionMaxEventAge ?? STALE_AFTER;
  checkDuration(
    scope,
    'functionMaxEventAge',
    functionMaxEventAge,
    Duration.minutes(1),
    Duration.hours(6),
    'Lambda allows 1 minute to 6 hours',
  );
  const input = props.input ?? {};
  if ('scheduledTime' in input) {
    throw constructError(
      scope,
      'input must not set scheduledTime: it is always <aws.scheduler.scheduled-time>, the tick the middleware reads. Use another field name.',
    );
  }
  return { retryAttempts, maxEventAge, functionRetryAttempts, functionMaxEventAge, input };
}

/**
 * A flexible time window lets Scheduler invoke each tick any time within it; longer than the
 * shortest gap between ticks, a later tick may arrive first, complete, and make the earlier one a
 * `tick-done` skip: that tick never runs.
 */
function checkTimeWindow(scope: Construct, props: GuardedScheduleProps): void {
  const window = props.scheduleOptions?.timeWindow?.maxWindow;
  if (!window || Token.isUnresolved(window.toMinutes({ integral: false }))) return;
  const gap = shortestTickGapMinutes(props.schedule.expressionString);
  const minutes = window.toMinutes({ integral: false });
  if (gap === undefined) {
    if (!props.schedule.expressionString.startsWith('at(')) {
      Annotations.of(scope).addWarningV2(
        'lease-guard:time-window-unchecked',
        `cannot read the gap between the ticks of ${props.schedule.expressionString}: make sure the flexible time window (${window.toHumanString()}) is shorter than it, or ticks may arrive out of order and an earlier one be skipped as done.`,
      );
    }
    return;
  }
  if (minutes > gap) {
    throw constructError(
      scope,
      `the flexible time window (${window.toHumanString()}) is longer than the shortest gap between ticks of ${props.schedule.expressionString} (${Duration.minutes(gap).toHumanString()}): a later tick could be invoked before an earlier one, complete it, and make the earlier tick a tick-done skip that never runs. Use a window of at most ${Duration.minutes(gap).toHumanString()}.`,
    );
  }
}

function checkInteger(scope: Construct, option: string, value: number, min: number, max: number, rule: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw constructError(scope, `${option} must be an integer from ${min} to ${max} (${rule}), got ${value}.`);
  }
}

function checkDuration(
  scope: Construct,
  option: string,
  value: Duration,
  min: Duration,
  max: Duration,
  rule: string,
): void {
  const ms = value.toMilliseconds();
  if (ms < min.toMilliseconds() || ms > max.toMilliseconds() || ms % 1000 !== 0) {
    throw constructError(
      scope,
      `${option} must be whole seconds from ${min.toHumanString()} to ${max.toHumanString()} (${rule}), got ${value.toHumanString()}.`,
    );
  }
}
