import { Duration, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, LEASE_ENV, METRICS } from '../constants.js';
import { assertJobName } from '../lease/names.js';
import type { LeaseDatabase } from './database.js';
import { constructError } from './errors.js';
import { checkRuntime, createGuardedFunction, type GuardedFunctionProps } from './guarded-function.js';
import { JobMonitoring, type JobMonitoringProps } from './job-monitoring.js';
import { acknowledgeDeadLetterQueue, acknowledgeFunction, acknowledgeInvokeRole } from './nag.js';

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
   * @default - Node.js 22, ARM64, 256 MB, 1 minute, ESM bundle with the AWS SDK, logs kept a month
   */
  readonly functionProps?: GuardedFunctionProps;

  /**
   * A function you already defined, to guard instead of creating one. It gets the `LEASE_GUARD_*`
   * environment, access to the lease table, the asynchronous-invoke settings and the schedule;
   * it must not have an asynchronous-invoke configuration of its own.
   *
   * @default - none; give `entry` instead
   */
  readonly lambdaFunction?: lambda.Function;

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
  readonly lambdaFunction: lambda.Function;
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
    props.database.check(this);
    this.node.addValidation({ validate: () => props.database.dataApiErrors() });
    const delivery = resolveDelivery(this, props);

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
    this.lambdaFunction = this.resolveFunction(props, environment);
    props.database.grantLeaseAccess(this.lambdaFunction);

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
    } catch (error) {
      throw constructError(
        this,
        `the function already has an asynchronous-invoke configuration (${(error as Error).message}); remove its retryAttempts/maxEventAge/onFailure/onSuccess and use functionRetryAttempts and functionMaxEventAge here.`,
      );
    }
    // Its own role rather than the stack's shared one, so its permissions and their cdk-nag
    // acknowledgement stay with this construct.
    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    });
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

  private resolveFunction(props: GuardedScheduleProps, environment: Record<string, string>): lambda.Function {
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
      checkRuntime(this, props.lambdaFunction.runtime);
      for (const [name, value] of Object.entries(environment)) props.lambdaFunction.addEnvironment(name, value);
      return props.lambdaFunction;
    }
    const fn = createGuardedFunction(this, 'Function', props.entry as string, props.functionProps ?? {}, {
      environment,
      description: `lease-guard job ${this.job}`,
    });
    // Only for the function made here: a function you pass in keeps its own findings.
    acknowledgeFunction(fn, { runtimeChosenByUser: props.functionProps?.runtime !== undefined });
    return fn;
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
