import { Arn, ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, LEASE_ENV, METRICS } from '../../src/constants.js';
import { assertJobName } from '../../src/lease/names.js';
import { literalIdentifier } from './literal-identifier.js';
import { NODE_BUNDLING, NODE_ENVIRONMENT, NODE_RUNTIME } from './nodejs-bundling.js';

/** Ticks older than this are refused by the middleware as stale, so retrying longer is wasted. */
const STALE_AFTER = Duration.millis(DEFAULTS.maxTickAgeMs);

export interface GuardedScheduleProps {
  /**
   * The job's name: the lease row's key and the `Job` dimension of the metrics the alarms watch.
   * It must be the `job` the handler passes to `leaseGuard`.
   */
  readonly job: string;

  /** When EventBridge Scheduler invokes the function. */
  readonly schedule: scheduler.ScheduleExpression;

  /**
   * The handler's entry file, bundled with the local esbuild into one ESM file.
   *
   * @default - none; give `code` instead (exactly one of `entry` and `code`)
   */
  readonly entry?: string;

  /**
   * Code that is already built, for artefacts made elsewhere and for tests.
   *
   * @default - none; give `entry` instead (exactly one of `entry` and `code`)
   */
  readonly code?: lambda.Code;

  /**
   * The exported handler, as `name` (in `index`) or `file.name`.
   *
   * @default 'handler'
   */
  readonly handler?: string;

  /**
   * The function's timeout. The middleware sizes each lease from the invocation's remaining time,
   * so a crashed holder blocks the job for at most about this long.
   *
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;

  /** @default 256 */
  readonly memorySize?: number;

  /** @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;

  /**
   * More environment variables for the function. `LEASE_GUARD_*` names are set by this construct
   * and rejected here.
   *
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * The Aurora cluster, in this stack's region, with the Data API enabled.
   *
   * @default - none; give `clusterArn`, `secretArn` (and `clusterRegion`) instead
   */
  readonly cluster?: rds.IDatabaseCluster;

  /**
   * The credentials the function's statements run as (with `cluster`). Use a user that may only
   * SELECT, INSERT and UPDATE the lease table (`LeaseTable.userSecret`), not the cluster admin.
   *
   * @default - none; required with `cluster`
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * The cluster's ARN, for a cluster in another stack or region.
   *
   * @default - none; give `cluster` and `secret` instead
   */
  readonly clusterArn?: string;

  /**
   * The complete ARN (with its six-character suffix) of the credentials secret (with `clusterArn`).
   *
   * @default - none; required with `clusterArn`
   */
  readonly secretArn?: string;

  /**
   * The cluster's region (with `clusterArn`). When it is not this stack's region the function calls
   * the Data API there (`LEASE_GUARD_REGION`).
   *
   * @default - the region in `clusterArn`
   */
  readonly clusterRegion?: string;

  /** The database (schema) that holds the lease table. */
  readonly databaseName: string;

  /** @default 'lease_guard' */
  readonly tableName?: string;

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
   * The time between ticks: the period of the no-success alarm.
   *
   * @default - the rate of a `rate()` schedule; required for `cron()` and `at()` schedules
   */
  readonly tickInterval?: Duration;

  /**
   * Whether to alarm when no run succeeded (`RunSucceeded` sum below 1) for `noSuccessTicks` ticks.
   *
   * @default true
   */
  readonly noSuccessAlarm?: boolean;

  /**
   * Whether the same job is also deployed in other regions. CloudWatch metrics and alarms are
   * regional and the lease lets one region win each tick (in affinity mode, the owner keeps
   * winning), so the no-success alarm then counts this region's skips as well as its successes:
   * it fires when no invocation here reached a decision, not when another region did the work.
   *
   * @default false
   */
  readonly multiRegion?: boolean;

  /**
   * How many ticks in a row without a successful run raise the no-success alarm.
   *
   * @default 3
   */
  readonly noSuccessTicks?: number;
}

/**
 * A Lambda function that EventBridge Scheduler invokes on a schedule, wired for the lease-guard
 * middleware: the tick in every event, the `LEASE_GUARD_*` environment, least-privilege access to
 * the cluster's Data API and one secret, deliberate retries, a dead-letter queue and alarms.
 *
 * Deploy the same job in several regions and the lease decides which invocation runs each tick.
 */
export class GuardedSchedule extends Construct {
  readonly job: string;
  readonly lambdaFunction: lambda.Function;
  readonly schedule: scheduler.Schedule;
  /** Ticks Scheduler could not deliver, and invocations that failed after Lambda's retries. */
  readonly deadLetterQueue: sqs.Queue;
  /** The function reported errors (a failed run or a fail-closed lease) in the last 5 minutes. */
  readonly errorsAlarm: cloudwatch.Alarm;
  /**
   * No run succeeded (with `multiRegion`: none succeeded or skipped here) for `noSuccessTicks`
   * ticks; absent when `noSuccessAlarm` is false.
   */
  readonly noSuccessAlarm?: cloudwatch.Alarm;
  /** Something is waiting in the dead-letter queue: a tick was dropped. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: GuardedScheduleProps) {
    super(scope, id);
    if (Token.isUnresolved(props.job)) {
      throw new Error('job must be a literal string: the alarms need it at synth time.');
    }
    this.job = assertJobName(props.job, 'job');
    const database = literalIdentifier(props.databaseName, 'databaseName');
    const table = literalIdentifier(props.tableName ?? DEFAULTS.table, 'tableName');
    const target = resolveDatabase(this, props);
    const { timeout, retryAttempts, maxEventAge, functionRetryAttempts, functionMaxEventAge, input } =
      resolveDelivery(props);
    const reserved = Object.keys(props.environment ?? {}).filter((name) => name.startsWith('LEASE_GUARD_'));
    if (reserved.length > 0) {
      throw new Error(
        `environment must not set ${reserved.join(', ')}: GuardedSchedule sets the LEASE_GUARD_* variables from its props.`,
      );
    }

    const environment: Record<string, string> = {
      ...NODE_ENVIRONMENT,
      ...props.environment,
      [LEASE_ENV.RESOURCE_ARN]: target.clusterArn,
      [LEASE_ENV.SECRET_ARN]: target.secret.secretArn,
      [LEASE_ENV.DATABASE]: database,
      [LEASE_ENV.TABLE]: table,
      ...(target.region ? { [LEASE_ENV.REGION]: target.region } : {}),
    };
    this.lambdaFunction = createFunction(this, props, { timeout, environment });

    // IAM cannot restrict which SQL runs: the secret's database user is the real boundary. Here the
    // function gets the one statement action on the one cluster, and read on the one secret.
    this.lambdaFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['rds-data:ExecuteStatement'], resources: [target.clusterArn] }),
    );
    target.secret.grantRead(this.lambdaFunction);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Lambda's own queue: retries of failed runs, then the event goes to the same dead-letter queue.
    this.lambdaFunction.configureAsyncInvoke({
      retryAttempts: functionRetryAttempts,
      maxEventAge: functionMaxEventAge,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule,
      description: `lease-guard job ${this.job}`,
      target: new targets.LambdaInvoke(this.lambdaFunction, {
        input: scheduler.ScheduleTargetInput.fromObject({
          ...input,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        retryAttempts,
        maxEventAge,
        deadLetterQueue: this.deadLetterQueue,
      }),
    });

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: `lease-guard job ${this.job}: the function failed (the body threw, or the lease was unavailable).`,
      metric: this.lambdaFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `lease-guard job ${this.job}: a tick was dropped into the dead-letter queue.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarms = [this.errorsAlarm, this.deadLetterAlarm];
    if (props.noSuccessAlarm ?? true) {
      const ticks = props.noSuccessTicks ?? 3;
      const interval = tickInterval(props);
      checkAlarmWindow(interval, ticks);
      const sum = { period: interval, statistic: cloudwatch.Stats.SUM };
      const succeeded = this.metric(METRICS.succeeded, sum);
      // Metrics are regional. With the job in several regions, a tick another region ran shows here
      // only as a skip, so this region's alarm counts skips too: it means "nothing decided here".
      const metric = props.multiRegion
        ? new cloudwatch.MathExpression({
            expression: 'FILL(succeeded, 0) + FILL(skipped, 0)',
            usingMetrics: { succeeded, skipped: this.metric(METRICS.skipped, sum) },
            period: interval,
            label: 'Runs succeeded or skipped',
          })
        : succeeded;
      const what = props.multiRegion ? 'no run succeeded or was skipped in this region' : 'no successful run';
      this.noSuccessAlarm = new cloudwatch.Alarm(this, 'NoSuccessAlarm', {
        alarmDescription: `lease-guard job ${this.job}: ${what} for ${ticks} ticks of ${interval.toHumanString()}.`,
        metric,
        threshold: 1,
        evaluationPeriods: ticks,
        datapointsToAlarm: ticks,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data means no run reported success, which is exactly what this alarm is for.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      alarms.push(this.noSuccessAlarm);
    }
    this.alarms = alarms;
  }

  /** A metric the middleware emits for this job, in this region (names in `METRICS`). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName,
      dimensionsMap: { [METRICS.dimension]: this.job },
      ...props,
    });
  }
}

interface Delivery {
  readonly timeout: Duration;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly functionRetryAttempts: number;
  readonly functionMaxEventAge: Duration;
  readonly input: Readonly<Record<string, unknown>>;
}

/** The timing and retry props with their defaults, checked against what the services accept. */
function resolveDelivery(props: GuardedScheduleProps): Delivery {
  const timeout = props.timeout ?? Duration.minutes(1);
  checkDuration('timeout', timeout, Duration.seconds(1), Duration.minutes(15), 'Lambda allows 1 second to 15 minutes');
  const retryAttempts = props.retryAttempts ?? 10;
  checkInteger('retryAttempts', retryAttempts, 0, 185, 'EventBridge Scheduler allows 0 to 185');
  const maxEventAge = props.maxEventAge ?? STALE_AFTER;
  checkDuration(
    'maxEventAge',
    maxEventAge,
    Duration.minutes(1),
    Duration.hours(24),
    'EventBridge Scheduler allows 1 minute to 24 hours',
  );
  const functionRetryAttempts = props.functionRetryAttempts ?? 2;
  checkInteger('functionRetryAttempts', functionRetryAttempts, 0, 2, 'Lambda allows 0 to 2');
  const functionMaxEventAge = props.functionMaxEventAge ?? STALE_AFTER;
  checkDuration(
    'functionMaxEventAge',
    functionMaxEventAge,
    Duration.minutes(1),
    Duration.hours(6),
    'Lambda allows 1 minute to 6 hours',
  );
  const input = props.input ?? {};
  if ('scheduledTime' in input) {
    throw new Error(
      'input must not set scheduledTime: it is always <aws.scheduler.scheduled-time>, the tick the middleware reads.',
    );
  }
  return { timeout, retryAttempts, maxEventAge, functionRetryAttempts, functionMaxEventAge, input };
}

interface DatabaseTarget {
  readonly clusterArn: string;
  readonly secret: secretsmanager.ISecret;
  /** Set when the Data API must be called in a region other than the function's. */
  readonly region?: string;
}

function resolveDatabase(scope: Construct, props: GuardedScheduleProps): DatabaseTarget {
  const byConstruct = props.cluster !== undefined || props.secret !== undefined;
  const byArn = props.clusterArn !== undefined || props.secretArn !== undefined || props.clusterRegion !== undefined;
  if (byConstruct && byArn) {
    throw new Error(
      'Give either cluster and secret (a cluster in this region) or clusterArn, secretArn and clusterRegion (a cluster elsewhere), not both.',
    );
  }
  if (props.cluster) {
    if (!props.secret) throw new Error('secret is required with cluster: the credentials the function runs as.');
    const here = Stack.of(scope).region;
    const there = Stack.of(props.cluster).region;
    if (!Token.isUnresolved(here) && !Token.isUnresolved(there) && here !== there) {
      throw new Error(
        `cluster is in ${there} but this GuardedSchedule is in ${here}; pass clusterArn, secretArn and clusterRegion instead.`,
      );
    }
    return { clusterArn: props.cluster.clusterArn, secret: props.secret };
  }
  if (props.secret) throw new Error('cluster is required with secret.');
  if (props.clusterArn === undefined) {
    throw new Error(
      'A database is required: give cluster and secret (same region) or clusterArn, secretArn and clusterRegion.',
    );
  }
  if (props.secretArn === undefined) throw new Error('secretArn is required with clusterArn.');
  const clusterArn = props.clusterArn;
  if (
    !Token.isUnresolved(clusterArn) &&
    !/^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[A-Za-z][A-Za-z0-9-]*$/.test(clusterArn)
  ) {
    throw new Error(
      `clusterArn must be an Aurora cluster ARN (arn:aws:rds:<region>:<account>:cluster:<id>), got ${JSON.stringify(clusterArn)}.`,
    );
  }
  if (
    !Token.isUnresolved(props.secretArn) &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(props.secretArn)
  ) {
    throw new Error(
      `secretArn must be a complete secret ARN, ending in the six-character suffix Secrets Manager adds, got ${JSON.stringify(props.secretArn)}.`,
    );
  }
  const arnRegion = Arn.split(clusterArn, ArnFormat.COLON_RESOURCE_NAME).region;
  const region = props.clusterRegion ?? arnRegion;
  if (!Token.isUnresolved(region) && !Token.isUnresolved(arnRegion) && region !== arnRegion) {
    throw new Error(`clusterRegion is ${region} but clusterArn is in ${arnRegion}.`);
  }
  const here = Stack.of(scope).region;
  const sameRegion = !Token.isUnresolved(region) && !Token.isUnresolved(here) && region === here;
  return {
    clusterArn,
    secret: secretsmanager.Secret.fromSecretCompleteArn(scope, 'Secret', props.secretArn),
    ...(sameRegion ? {} : { region }),
  };
}

function createFunction(
  scope: Construct,
  props: GuardedScheduleProps,
  settings: { timeout: Duration; environment: Record<string, string> },
): lambda.Function {
  if ((props.entry === undefined) === (props.code === undefined)) {
    throw new Error('Give exactly one of entry (a file to bundle) and code (code already built).');
  }
  const common = {
    runtime: NODE_RUNTIME,
    architecture: props.architecture ?? lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: settings.timeout,
    environment: settings.environment,
    description: `lease-guard job ${props.job}`,
  };
  const handler = props.handler ?? 'handler';
  if (props.code) {
    return new lambda.Function(scope, 'Function', {
      ...common,
      code: props.code,
      handler: handler.includes('.') ? handler : `index.${handler}`,
    });
  }
  return new NodejsFunction(scope, 'Function', { ...common, entry: props.entry, handler, bundling: NODE_BUNDLING });
}

function tickInterval(props: GuardedScheduleProps): Duration {
  if (props.tickInterval) return props.tickInterval;
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(props.schedule.expressionString);
  if (!rate?.[1] || !rate[2]) {
    throw new Error(
      `tickInterval is required for ${props.schedule.expressionString}: the no-success alarm needs the time between ticks (or set noSuccessAlarm: false).`,
    );
  }
  const amount = Number(rate[1]);
  if (rate[2].startsWith('minute')) return Duration.minutes(amount);
  if (rate[2].startsWith('hour')) return Duration.hours(amount);
  return Duration.days(amount);
}

/** CloudWatch: a period of whole minutes; at most 1 day in all below a 1-hour period, else 7 days. */
function checkAlarmWindow(interval: Duration, ticks: number): void {
  if (!Number.isInteger(ticks) || ticks < 1) {
    throw new Error(`noSuccessTicks must be a whole number of ticks, at least 1, got ${ticks}.`);
  }
  const seconds = interval.toMilliseconds() / 1000;
  if (seconds < 60 || seconds % 60 !== 0 || seconds > 86_400) {
    throw new Error(
      `tickInterval must be whole minutes between 1 minute and 1 day (a CloudWatch alarm period), got ${interval.toHumanString()}.`,
    );
  }
  const limit = seconds < 3600 ? 86_400 : 604_800;
  if (seconds * ticks > limit) {
    throw new Error(
      `noSuccessTicks × tickInterval must be at most ${limit === 86_400 ? '1 day for intervals under an hour' : '7 days'} (a CloudWatch limit), got ${ticks} × ${interval.toHumanString()}; lower noSuccessTicks.`,
    );
  }
}

function checkInteger(option: string, value: number, min: number, max: number, rule: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${option} must be an integer from ${min} to ${max} (${rule}), got ${value}.`);
  }
}

function checkDuration(option: string, value: Duration, min: Duration, max: Duration, rule: string): void {
  const ms = value.toMilliseconds();
  if (ms < min.toMilliseconds() || ms > max.toMilliseconds() || ms % 1000 !== 0) {
    throw new Error(
      `${option} must be whole seconds from ${min.toHumanString()} to ${max.toHumanString()} (${rule}), got ${value.toHumanString()}.`,
    );
  }
}
