import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { METRICS } from '../constants.js';
import { assertJobName } from '../lease/names.js';
import type { LeaseDatabase } from './database.js';
import { constructError } from './errors.js';
import {
  createHandlerFunction,
  DATA_API_SERVICES,
  functionRole,
  type LeaseGuardFunctionOptions,
  warnIfIsolated,
} from './function-options.js';
import { handlerCode } from './handler-code.js';
import { acknowledgeFunction, acknowledgeInvokeRole, acknowledgeOnFailureDestination } from './nag.js';

export interface LeaseWatchdogProps {
  /** The lease table to watch; deploy the watchdog in the database's region. */
  readonly database: LeaseDatabase;

  /**
   * How often the watchdog reads the table and publishes each job's lag.
   *
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;

  /**
   * What the alarms do when they fire (and return to OK).
   *
   * @default - no actions
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];

  /** Same as `functionOptions.logRetention`. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The watchdog function's settings: VPC, subnets and security groups, tracing, runtime, reserved
   * concurrency, dead-letter queue (also the destination of scheduled runs that failed), environment
   * key, and its log group's retention, key and removal policy. In subnets without NAT it needs VPC
   * endpoints: `new LeaseGuardEndpoints(this, 'Endpoints', { vpc })`.
   *
   * @default - Node.js 22, no VPC, no tracing, logs kept a month and retained
   */
  readonly functionOptions?: LeaseGuardFunctionOptions;
}

export interface WatchJobOptions {
  /** The time between the job's ticks (for weekday crons, the longest gap, e.g. 3 days over a weekend). */
  readonly period: Duration;
  /**
   * How many periods without a completed tick raise the alarm.
   *
   * @default 2
   */
  readonly periods?: number;
}

/**
 * A dead-man's switch for jobs whose lease table this is, whichever region ran them. A function in
 * the database's region reads every job's last completed tick from the lease table on a schedule
 * and publishes its lag (`CompletionLag`, seconds, dimension `Job`); `watch(job, …)` adds an alarm
 * for a job that has not completed for N periods. Regional alarms treat a skip as healthy (another
 * region may have run the tick); this one sees whether any region did.
 */
export class LeaseWatchdog extends Construct {
  readonly lambdaFunction: lambda.Function;
  /** The watchdog itself failed or stopped running: its lag metrics can no longer be trusted. */
  readonly watchdogAlarm: cloudwatch.Alarm;
  private readonly interval: Duration;
  private readonly alarmActions: readonly cloudwatch.IAlarmAction[];
  private readonly watched = new Map<string, cloudwatch.Alarm>();

  constructor(scope: Construct, id: string, props: LeaseWatchdogProps) {
    super(scope, id);
    props.database.check(this);
    this.node.addValidation({ validate: () => props.database.dataApiErrors() });
    this.interval = props.interval ?? Duration.minutes(5);
    const minutes = this.interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
      throw constructError(this, `interval must be whole minutes from 1 to 60, got ${this.interval.toHumanString()}.`);
    }
    this.alarmActions = props.alarmActions ?? [];

    if (props.logRetention !== undefined && props.functionOptions?.logRetention !== undefined) {
      throw constructError(this, 'give logRetention or functionOptions.logRetention, not both.');
    }
    const options: LeaseGuardFunctionOptions = {
      ...props.functionOptions,
      logRetention: props.functionOptions?.logRetention ?? props.logRetention,
    };
    this.lambdaFunction = createHandlerFunction(
      this,
      'Function',
      options,
      {
        ...handlerCode('watchdog'),
        timeout: Duration.minutes(1),
        description: 'lease-guard watchdog: publishes each job’s time since its last completed tick',
        environment: props.database.environment(this),
      },
      'Logs',
    ).fn;
    warnIfIsolated(this, 'The watchdog function', options.vpc, options.vpcSubnets, DATA_API_SERVICES);
    props.database.grantLeaseAccess(this.lambdaFunction);
    acknowledgeFunction(this.lambdaFunction, { runtimeChosenByUser: options.runtime !== undefined });
    const role = functionRole(this, 'SchedulerRole', 'scheduler.amazonaws.com');
    new scheduler.Schedule(this, 'Schedule', {
      description: 'lease-guard watchdog',
      schedule: scheduler.ScheduleExpression.rate(this.interval),
      // A missed watchdog run is only a gap in the metric; no retries, no dead-letter queue.
      target: new targets.LambdaInvoke(this.lambdaFunction, { retryAttempts: 0, role }),
    });
    acknowledgeInvokeRole(role, this.lambdaFunction);
    this.lambdaFunction.configureAsyncInvoke({
      retryAttempts: 0,
      ...(options.deadLetterQueue ? { onFailure: new destinations.SqsDestination(options.deadLetterQueue) } : {}),
    });
    if (options.deadLetterQueue) acknowledgeOnFailureDestination(this.lambdaFunction);

    const period = Duration.minutes(Math.max(minutes, 5) * 3);
    this.watchdogAlarm = new cloudwatch.Alarm(this, 'WatchdogAlarm', {
      alarmDescription: `lease-guard watchdog: it failed or did not run in ${period.toHumanString()}, so job lags are not being published.`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(errors, 0) + IF(FILL(invocations, 0) > 0, 0, 1)',
        usingMetrics: {
          errors: this.lambdaFunction.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
          invocations: this.lambdaFunction.metricInvocations({ period, statistic: cloudwatch.Stats.SUM }),
        },
        period,
        label: 'Watchdog errors, or 1 when it did not run',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.addActions(this.watchdogAlarm);
  }

  /** The lag the watchdog publishes for `job` (seconds, maximum unless told). */
  metricCompletionLag(job: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName: METRICS.completionLag,
      dimensionsMap: { [METRICS.dimension]: job },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: this.interval,
      ...props,
    });
  }

  /**
   * Alarms when `job` has not completed a tick for `periods` × `period`, in any region. A job whose
   * row does not exist yet (never claimed) publishes nothing and does not alarm; the watchdog's own
   * alarm covers the watchdog not running.
   */
  watch(job: string, options: WatchJobOptions): cloudwatch.Alarm {
    if (Token.isUnresolved(job)) throw constructError(this, 'watch(job): job must be a literal string.');
    try {
      assertJobName(job, 'job');
    } catch (error) {
      throw constructError(this, `watch(${JSON.stringify(job)}): ${(error as Error).message}`);
    }
    if (this.watched.has(job)) throw constructError(this, `watch(${JSON.stringify(job)}): the job is already watched.`);
    const periods = options.periods ?? 2;
    if (!Number.isInteger(periods) || periods < 1) {
      throw constructError(
        this,
        `watch(${JSON.stringify(job)}): periods must be a whole number, at least 1, got ${periods}.`,
      );
    }
    const limit = options.period.toSeconds() * periods;
    const alarm = new cloudwatch.Alarm(this, `Lag-${job.replace(/[^A-Za-z0-9]/g, '-')}`, {
      alarmDescription: `lease-guard job ${job}: no tick completed in any region for ${periods} × ${options.period.toHumanString()}.`,
      metric: this.metricCompletionLag(job),
      threshold: limit,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No lag published: the job has no row yet, or the watchdog did not run (its own alarm).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addActions(alarm);
    this.watched.set(job, alarm);
    return alarm;
  }

  private addActions(alarm: cloudwatch.Alarm): void {
    for (const action of this.alarmActions) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
