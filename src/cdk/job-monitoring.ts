import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../constants.js';
import { constructError } from './errors.js';

/** The monitoring props of a GuardedSchedule. */
export interface JobMonitoringProps {
  /**
   * The period of the no-success alarm. For a `rate()` schedule, the time between ticks; for other
   * schedules, how long after a tick its run (with Lambda's retries) must have succeeded.
   *
   * @default - the rate of a `rate()` schedule; 1 hour for other schedules
   */
  readonly tickInterval?: Duration;

  /**
   * Whether to alarm when runs do not succeed. For a `rate()` schedule (enabled, without start or
   * end date): no successful run for `noSuccessTicks` ticks. For every other schedule (weekday
   * crons, `at()`, bounded or disabled schedules), which have periods without ticks by design: a
   * period in which the function was invoked but no run succeeded, so a day without a tick is no
   * alarm. A job that is never invoked at all is the `LeaseWatchdog`'s to notice.
   *
   * @default true
   */
  readonly noSuccessAlarm?: boolean;

  /**
   * How many ticks in a row without a successful run raise the no-success alarm (`rate()` schedules).
   *
   * @default 3
   */
  readonly noSuccessTicks?: number;

  /**
   * Whether the same job is also deployed in other regions. Metrics and alarms are regional and the
   * lease lets one region win each tick, so the no-success alarm then counts this region's skips as
   * well as its successes: it fires when no invocation here reached a decision. Whether the job ran
   * anywhere is the `LeaseWatchdog`'s alarm, in the database's region.
   *
   * @default false
   */
  readonly multiRegion?: boolean;

  /**
   * What the alarms do when they fire (and return to OK), e.g. an SNS topic.
   *
   * @default - no actions
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];

  /**
   * Whether to create a CloudWatch dashboard for the job (runs, skips, unavailable leases, claim
   * latency, function errors, alarms).
   *
   * @default false
   */
  readonly dashboard?: boolean;
}

interface Props extends JobMonitoringProps {
  readonly job: string;
  readonly schedule: scheduler.ScheduleExpression;
  readonly lambdaFunction: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** Ticks come at a fixed rate for as long as the schedule exists. */
  readonly regular: boolean;
}

const FIVE_MINUTES = Duration.minutes(5);

/** The metrics, alarms and dashboard of one guarded job. */
export class JobMonitoring extends Construct {
  readonly job: string;
  /** A run's body threw (`RunFailed` ≥ 1 in 5 minutes). */
  readonly runsFailedAlarm: cloudwatch.Alarm;
  /** The lease's state could not be known, so the job did not run (`LeaseUnavailable` ≥ 1 in 5 minutes). */
  readonly leaseUnavailableAlarm: cloudwatch.Alarm;
  /** The function reported errors: failed runs and unavailable leases, and also init errors and timeouts. */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** Something is waiting in the dead-letter queue: a tick was dropped. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** See `noSuccessAlarm`; absent when it is false. */
  readonly noSuccessAlarm?: cloudwatch.Alarm;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard?: cloudwatch.Dashboard;
  private readonly props: Props;

  constructor(scope: Construct, id: string, props: Props) {
    super(scope, id);
    this.props = props;
    this.job = props.job;
    const sum = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
    const atLeastOne = (construct: string, description: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(this, construct, {
        alarmDescription: `lease-guard job ${this.job}: ${description}`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.runsFailedAlarm = atLeastOne(
      'RunsFailedAlarm',
      'a run failed (the body threw).',
      this.metric(METRICS.failed, sum),
    );
    this.leaseUnavailableAlarm = atLeastOne(
      'LeaseUnavailableAlarm',
      'the lease was unavailable (database or Data API unreachable), so the job did not run.',
      this.metric(METRICS.unavailable, sum),
    );
    this.errorsAlarm = atLeastOne(
      'ErrorsAlarm',
      'the function failed (a failed run, an unavailable lease, an init error or a timeout).',
      props.lambdaFunction.metricErrors(sum),
    );
    this.deadLetterAlarm = atLeastOne(
      'DeadLetterAlarm',
      'a tick was dropped into the dead-letter queue.',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    );
    const alarms = [this.runsFailedAlarm, this.leaseUnavailableAlarm, this.errorsAlarm, this.deadLetterAlarm];
    if (props.noSuccessAlarm ?? true) {
      this.noSuccessAlarm = props.regular ? this.regularNoSuccessAlarm() : this.irregularNoSuccessAlarm();
      alarms.push(this.noSuccessAlarm);
    }
    this.alarms = alarms;
    for (const alarm of alarms) {
      for (const action of props.alarmActions ?? []) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
    if (props.dashboard) this.dashboard = this.createDashboard();
  }

  /** A metric the middleware emits for this job, in this region (names in `METRICS`). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName,
      dimensionsMap: { [METRICS.dimension]: this.job },
      statistic: cloudwatch.Stats.SUM,
      period: FIVE_MINUTES,
      ...props,
    });
  }

  /** Succeeded (with `multiRegion`: or skipped) runs per period, missing data filled with 0. */
  private decided(period: Duration): cloudwatch.IMetric {
    const sum = { period, statistic: cloudwatch.Stats.SUM };
    const succeeded = this.metric(METRICS.succeeded, sum);
    if (!this.props.multiRegion) return succeeded;
    // A tick another region ran shows here only as a skip: with the job in several regions this
    // region's alarm means "nothing decided here".
    return new cloudwatch.MathExpression({
      expression: 'FILL(succeeded, 0) + FILL(skipped, 0)',
      usingMetrics: { succeeded, skipped: this.metric(METRICS.skipped, sum) },
      period,
      label: 'Runs succeeded or skipped',
    });
  }

  private regularNoSuccessAlarm(): cloudwatch.Alarm {
    const ticks = this.props.noSuccessTicks ?? 3;
    const interval = this.props.tickInterval ?? rateOf(this, this.props.schedule);
    checkAlarmWindow(this, interval, ticks);
    const what = this.props.multiRegion ? 'no run succeeded or was skipped in this region' : 'no successful run';
    return new cloudwatch.Alarm(this, 'NoSuccessAlarm', {
      alarmDescription: `lease-guard job ${this.job}: ${what} for ${ticks} ticks of ${interval.toHumanString()}.`,
      metric: this.decided(interval),
      threshold: 1,
      evaluationPeriods: ticks,
      datapointsToAlarm: ticks,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data means no run reported success, which is exactly what this alarm is for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }

  /**
   * For schedules with periods without ticks: alarm only on a period in which the function was
   * invoked and nothing was decided. A period without invocations has no data point and stays OK.
   */
  private irregularNoSuccessAlarm(): cloudwatch.Alarm {
    if (this.props.noSuccessTicks !== undefined) {
      throw constructError(
        this,
        `noSuccessTicks applies only to rate() schedules that are enabled and unbounded; ${this.props.schedule.expressionString} has periods without ticks, so the alarm looks at each period with an invocation. Remove noSuccessTicks.`,
      );
    }
    const period = this.props.tickInterval ?? Duration.hours(1);
    checkAlarmWindow(this, period, 1);
    const invocations = this.props.lambdaFunction.metricInvocations({ period, statistic: cloudwatch.Stats.SUM });
    const metric = new cloudwatch.MathExpression({
      expression: 'IF(FILL(invocations, 0) > 0, FILL(decided, 0), 1)',
      usingMetrics: { invocations, decided: this.decided(period) },
      period,
      label: 'Runs decided when invoked (1 when not invoked)',
    });
    return new cloudwatch.Alarm(this, 'NoSuccessAlarm', {
      alarmDescription: `lease-guard job ${this.job}: invoked but no run ${this.props.multiRegion ? 'succeeded or was skipped in this region' : 'succeeded'} within ${period.toHumanString()}.`,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private createDashboard(): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${this.job}: runs`,
        left: [
          this.metric(METRICS.succeeded, { label: 'succeeded' }),
          this.metric(METRICS.failed, { label: 'failed' }),
          this.metric(METRICS.skipped, { label: 'skipped' }),
          this.metric(METRICS.unavailable, { label: 'lease unavailable' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: `${this.job}: claim latency (ms)`,
        left: ['p50', 'p99', 'Maximum'].map((statistic) =>
          this.metric(METRICS.claimLatency, { statistic, label: statistic }),
        ),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${this.job}: function`,
        left: [
          this.props.lambdaFunction.metricInvocations({ period: FIVE_MINUTES }),
          this.props.lambdaFunction.metricErrors({ period: FIVE_MINUTES }),
        ],
        right: [this.props.lambdaFunction.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' })],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: `${this.job}: alarms`, alarms: [...this.alarms], width: 12 }),
    );
    return dashboard;
  }
}

function rateOf(scope: Construct, schedule: scheduler.ScheduleExpression): Duration {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule.expressionString);
  if (!rate?.[1] || !rate[2]) {
    throw constructError(scope, `cannot read the rate of ${schedule.expressionString}; set tickInterval.`);
  }
  const amount = Number(rate[1]);
  if (rate[2].startsWith('minute')) return Duration.minutes(amount);
  if (rate[2].startsWith('hour')) return Duration.hours(amount);
  return Duration.days(amount);
}

/** CloudWatch: a period of whole minutes; at most 1 day in all below a 1-hour period, else 7 days. */
function checkAlarmWindow(scope: Construct, interval: Duration, ticks: number): void {
  if (!Number.isInteger(ticks) || ticks < 1) {
    throw constructError(scope, `noSuccessTicks must be a whole number of ticks, at least 1, got ${ticks}.`);
  }
  const seconds = interval.toMilliseconds() / 1000;
  if (seconds < 60 || seconds % 60 !== 0 || seconds > 86_400) {
    throw constructError(
      scope,
      `tickInterval must be whole minutes between 1 minute and 1 day (a CloudWatch alarm period), got ${interval.toHumanString()}.`,
    );
  }
  const limit = seconds < 3600 ? 86_400 : 604_800;
  if (seconds * ticks > limit) {
    throw constructError(
      scope,
      `noSuccessTicks × tickInterval must be at most ${limit === 86_400 ? '1 day for intervals under an hour' : '7 days'} (a CloudWatch limit), got ${ticks} × ${interval.toHumanString()}; lower noSuccessTicks.`,
    );
  }
}
