import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { GuardedSchedule, type GuardedScheduleProps, LeaseDatabase, LeaseGuardEndpoints } from '../../src/cdk/index.js';
import { METRICS } from '../../src/constants.js';
import { auroraCluster } from './aurora-cluster.js';
import { templateApp } from './template-app.js';

const CLUSTER_ARN = 'arn:aws:rds:eu-west-1:123456789012:cluster:lease-db';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lease-user-AbC123';
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ENTRY = 'test/fixtures/functions/scheduled-job.ts';

/** A stack whose functions are not bundled (no stack is listed); one test below bundles for real. */
function stackIn(region = 'us-east-1'): Stack {
  return new Stack(templateApp(), 'Jobs', { env: { region } });
}

/** A cluster with the Data API and a secret in the same stack. */
function sameRegion(stack: Stack, enableDataApi = true): LeaseDatabase {
  const cluster = auroraCluster(stack, { enableDataApi });
  return LeaseDatabase.fromCluster(cluster, new secretsmanager.Secret(stack, 'LeaseUser'), { databaseName: 'app' });
}

function guarded(stack: Stack, props: Partial<GuardedScheduleProps> = {}): GuardedSchedule {
  return new GuardedSchedule(stack, 'Report', {
    job: 'nightly-report',
    schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    ...(props.lambdaFunction ? {} : { entry: ENTRY }),
    database: props.database ?? sameRegion(stack),
    ...props,
  });
}

function statements(template: Template): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap((type) =>
    Object.values(template.findResources(type)).flatMap((policy) => policy.Properties.PolicyDocument.Statement),
  );
}

function actionsOf(statement: { Action: string | string[] }): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function onlyFunction(template: Template): Record<string, unknown> {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(functions).toHaveLength(1);
  return functions[0]!.Properties;
}

// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe('GuardedSchedule: the function', { timeout: 180_000 }, () => {
  it('defaults to Node.js 22 on ARM64, 256 MB, 1 minute, with the LEASE_GUARD_* environment and the job name', () => {
    const stack = stackIn();
    guarded(stack, { database: sameRegion(stack) });
    const fn = onlyFunction(Template.fromStack(stack));
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Architectures: ['arm64'] });
    expect(fn).toMatchObject({ MemorySize: 256, Timeout: 60 });
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
      LEASE_GUARD_RESOURCE_ARN: expect.anything(),
      LEASE_GUARD_SECRET_ARN: { Ref: expect.stringMatching(/^LeaseUser/) },
      LEASE_GUARD_DATABASE: 'app',
      LEASE_GUARD_TABLE: 'lease_guard',
      LEASE_GUARD_JOB: 'nightly-report',
      LEASE_GUARD_REQUIRE_TICK: 'true',
    });
  });

  it('passes NodejsFunction props through: runtime, memory, timeout, architecture, VPC, tracing, layers, concurrency, environment', () => {
    const stack = stackIn();
    const vpc = new ec2.Vpc(stack, 'AppVpc', { natGateways: 0 });
    const layer = lambda.LayerVersion.fromLayerVersionArn(
      stack,
      'Layer',
      'arn:aws:lambda:us-east-1:123456789012:layer:tools:3',
    );
    guarded(stack, {
      functionProps: {
        runtime: lambda.Runtime.NODEJS_24_X,
        memorySize: 1024,
        timeout: Duration.minutes(5),
        architecture: lambda.Architecture.X86_64,
        vpc,
        tracing: lambda.Tracing.ACTIVE,
        layers: [layer],
        reservedConcurrentExecutions: 2,
        environment: { REPORT_BUCKET: 'reports' },
        description: 'the nightly report',
      },
    });
    const fn = onlyFunction(Template.fromStack(stack));
    expect(fn).toMatchObject({
      Runtime: 'nodejs24.x',
      MemorySize: 1024,
      Timeout: 300,
      Architectures: ['x86_64'],
      TracingConfig: { Mode: 'Active' },
      Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:tools:3'],
      ReservedConcurrentExecutions: 2,
      Description: 'the nightly report',
      VpcConfig: { SubnetIds: expect.any(Array) },
      Environment: {
        Variables: expect.objectContaining({ REPORT_BUCKET: 'reports', LEASE_GUARD_JOB: 'nightly-report' }),
      },
    });
  });

  it('keeps logs a month by default, and takes your log group', () => {
    const stack = stackIn();
    guarded(stack);
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const own = stackIn();
    const logGroup = new logs.LogGroup(own, 'Mine', { retention: logs.RetentionDays.ONE_WEEK });
    guarded(own, { functionProps: { logGroup } });
    const template = Template.fromStack(own);
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    expect(JSON.stringify(onlyFunction(template).LoggingConfig)).toContain('Mine');
  });

  it('guards a function you already have: environment, access, async config and schedule', () => {
    const stack = stackIn();
    const mine = new lambda.Function(stack, 'Mine', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
      timeout: Duration.seconds(30),
      environment: { OWN: 'yes' },
    });
    const job = guarded(stack, { lambdaFunction: mine });
    expect(job.lambdaFunction).toBe(mine);
    const template = Template.fromStack(stack);
    expect(onlyFunction(template)).toMatchObject({
      Environment: { Variables: expect.objectContaining({ OWN: 'yes', LEASE_GUARD_JOB: 'nightly-report' }) },
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    expect(statements(template).some((s) => actionsOf(s).includes('rds-data:ExecuteStatement'))).toBe(true);
  });

  it('bundles an entry file with the local esbuild into one ESM file, with the AWS SDK unless told not to', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'lease-guard-bundle-'));
    try {
      // Bundling, not template validation, is under test here (see template-app.ts).
      const app = new App({ outdir, builtinCloudFormationValidation: false });
      const stack = new Stack(app, 'Bundled', { env: { region: 'eu-west-1' } });
      new GuardedSchedule(stack, 'Job', {
        job: 'bundled',
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
        entry: ENTRY,
        database: LeaseDatabase.fromArns({ clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN, databaseName: 'app' }),
        functionProps: { bundling: { bundleAwsSDK: false, externalModules: ['@aws-sdk/*'] } },
      });
      app.synth();
      const bundles = readdirSync(outdir)
        .filter((name) => name.startsWith('asset.'))
        .filter((dir) => existsSync(join(outdir, dir, 'index.mjs')));
      expect(bundles).toHaveLength(1);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('GuardedSchedule: the database', () => {
  it('grants ExecuteStatement on the cluster and read on the one secret, never on *', () => {
    const stack = stackIn();
    guarded(stack);
    const all = statements(Template.fromStack(stack));
    const dataApi = all.filter((s) => actionsOf(s).some((a) => a.startsWith('rds-data:')));
    expect(dataApi).toHaveLength(1);
    expect(actionsOf(dataApi[0]!)).toEqual(['rds-data:ExecuteStatement']);
    const secrets = all.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(actionsOf(secrets[0]!).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    for (const statement of [...dataApi, ...secrets]) expect(JSON.stringify(statement.Resource)).not.toContain('"*"');
  });

  it('points a function in another region at the cluster with LEASE_GUARD_REGION, and decrypts a CMK secret only through Secrets Manager there', () => {
    const stack = stackIn('us-east-1');
    const database = LeaseDatabase.fromArns({
      clusterArn: CLUSTER_ARN,
      secretArn: SECRET_ARN,
      secretEncryptionKeyArn: KEY_ARN,
      databaseName: 'app',
      tableName: 'job_leases',
    });
    guarded(stack, { database });
    const template = Template.fromStack(stack);
    expect(onlyFunction(template)).toMatchObject({
      Environment: {
        Variables: expect.objectContaining({
          LEASE_GUARD_RESOURCE_ARN: CLUSTER_ARN,
          LEASE_GUARD_SECRET_ARN: SECRET_ARN,
          LEASE_GUARD_REGION: 'eu-west-1',
          LEASE_GUARD_TABLE: 'job_leases',
        }),
      },
    });
    const all = statements(template);
    const kmsStatement = all.find((s) => actionsOf(s).includes('kms:Decrypt'));
    expect(kmsStatement).toMatchObject({
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
  });

  it('leaves LEASE_GUARD_REGION out in the cluster region', () => {
    const home = stackIn('eu-west-1');
    guarded(home, {
      database: LeaseDatabase.fromArns({ clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN, databaseName: 'app' }),
    });
    expect(JSON.stringify(onlyFunction(Template.fromStack(home)).Environment)).not.toContain('LEASE_GUARD_REGION');
  });

  it('grants any function the same access with grantLeaseAccess', () => {
    const stack = stackIn();
    const database = sameRegion(stack);
    const other = new lambda.Function(stack, 'Other', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
    });
    database.grantLeaseAccess(other);
    const all = statements(Template.fromStack(stack));
    expect(all.flatMap((s) => actionsOf(s))).toEqual(
      expect.arrayContaining(['rds-data:ExecuteStatement', 'secretsmanager:GetSecretValue']),
    );
  });

  it('fails synthesis, naming the construct, when the cluster has the Data API off', () => {
    const stack = stackIn();
    guarded(stack, { database: sameRegion(stack, false) });
    expect(() => Template.fromStack(stack)).toThrow(
      /\[Jobs\/Report\] the Data API is not enabled on the cluster Jobs\/Cluster: set enableDataApi: true/,
    );
  });
});

describe('GuardedSchedule: the schedule', () => {
  it('puts <aws.scheduler.scheduled-time> in every event, beside the extra input', () => {
    const stack = stackIn();
    guarded(stack, { input: { report: 'daily' } });
    const [schedule] = Object.values(Template.fromStack(stack).findResources('AWS::Scheduler::Schedule'));
    expect(JSON.parse(schedule!.Properties.Target.Input)).toEqual({
      report: 'daily',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
    expect(schedule!.Properties.ScheduleExpression).toBe('rate(5 minutes)');
  });

  it('passes Schedule props through: group, time window, enabled, start and end, key, name, time zone', () => {
    const stack = stackIn();
    const group = new scheduler.ScheduleGroup(stack, 'Group', { scheduleGroupName: 'jobs' });
    const key = new kms.Key(stack, 'Key');
    guarded(stack, {
      schedule: scheduler.ScheduleExpression.cron({
        minute: '0',
        hour: '9',
        weekDay: 'MON-FRI',
        timeZone: TimeZone.EUROPE_BERLIN,
      }),
      scheduleOptions: {
        scheduleGroup: group,
        timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(10)),
        enabled: false,
        start: new Date('2030-01-01T00:00:00Z'),
        end: new Date('2031-01-01T00:00:00Z'),
        key,
        scheduleName: 'nightly-report',
      },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'nightly-report',
      GroupName: 'jobs',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
      State: 'DISABLED',
      StartDate: '2030-01-01T00:00:00.000Z',
      EndDate: '2031-01-01T00:00:00.000Z',
      KmsKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
  });

  it("sets a bounded retry policy and a dead-letter queue on the schedule, and Lambda's own retries", () => {
    const stack = stackIn();
    guarded(stack, {
      retryAttempts: 0,
      maxEventAge: Duration.minutes(10),
      functionRetryAttempts: 1,
      functionMaxEventAge: Duration.minutes(30),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: {
        RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 0 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportDeadLetterQueue'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 1800,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportDeadLetterQueue'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  it('uses your dead-letter queue', () => {
    const stack = stackIn();
    const queue = new sqs.Queue(stack, 'Mine');
    const job = guarded(stack, { deadLetterQueue: queue });
    expect(job.deadLetterQueue).toBe(queue);
    Template.fromStack(stack).resourceCountIs('AWS::SQS::Queue', 1);
  });
});

describe('GuardedSchedule: monitoring', () => {
  /** The alarms in a template, keyed by logical id. */
  const alarms = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm'));

  it('alarms on failed runs and unavailable leases with the METRICS names and the one Job dimension', () => {
    const stack = stackIn();
    guarded(stack);
    const template = Template.fromStack(stack);
    for (const name of [METRICS.failed, METRICS.unavailable]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS.namespace,
        MetricName: name,
        Dimensions: [{ Name: METRICS.dimension, Value: 'nightly-report' }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms after N ticks of a rate() schedule without a successful run, missing data included', () => {
    const stack = stackIn();
    guarded(stack, { noSuccessTicks: 4 });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: METRICS.succeeded,
      Period: 300,
      EvaluationPeriods: 4,
      DatapointsToAlarm: 4,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('for a weekday cron, alarms only on a period with an invocation and no success: a day without a tick is no alarm', () => {
    const stack = stackIn();
    const job = guarded(stack, {
      schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '9', weekDay: 'MON-FRI' }),
    });
    const alarm = alarms(Template.fromStack(stack)).find((a) =>
      JSON.stringify(a.Properties.Metrics ?? []).includes('invocations'),
    );
    expect(alarm?.Properties).toMatchObject({
      EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm?.Properties.Metrics[0].Expression).toBe('IF(FILL(invocations, 0) > 0, FILL(decided, 0), 1)');
    expect(job.monitoring.noSuccessAlarm).toBeDefined();
  });

  it('treats at(), disabled and bounded rate schedules as irregular too', () => {
    for (const props of [
      { schedule: scheduler.ScheduleExpression.at(new Date('2030-01-01T00:00:00Z')) },
      { scheduleOptions: { enabled: false } },
      { scheduleOptions: { end: new Date('2030-01-01T00:00:00Z') } },
    ]) {
      const stack = stackIn();
      guarded(stack, props);
      const text = JSON.stringify(Template.fromStack(stack).toJSON());
      expect(text).toContain('IF(FILL(invocations, 0) > 0');
      expect(text).not.toContain('"breaching"');
    }
  });

  it('counts skips as well as successes in a multi-region job', () => {
    const stack = stackIn();
    guarded(stack, { multiRegion: true });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'FILL(succeeded, 0) + FILL(skipped, 0)' })]),
      TreatMissingData: 'breaching',
    });
  });

  it('sends every alarm to the alarm actions, and can drop the no-success alarm', () => {
    const stack = stackIn();
    const topic = new sns.Topic(stack, 'Pager');
    const job = guarded(stack, { alarmActions: [new actions.SnsAction(topic)], noSuccessAlarm: false });
    expect(job.monitoring.noSuccessAlarm).toBeUndefined();
    const all = alarms(Template.fromStack(stack));
    expect(all).toHaveLength(4);
    for (const alarm of all) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Pager/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^Pager/) }]);
    }
  });

  it('offers the metrics CDK users expect, with the METRICS names', () => {
    const job = guarded(stackIn());
    const named = (metric: cloudwatch.Metric) => [metric.namespace, metric.metricName, metric.dimensions];
    const dimensions = { [METRICS.dimension]: 'nightly-report' };
    expect(named(job.metricRunsSucceeded())).toEqual([METRICS.namespace, METRICS.succeeded, dimensions]);
    expect(named(job.metricRunsFailed())).toEqual([METRICS.namespace, METRICS.failed, dimensions]);
    expect(named(job.metricSkipped())).toEqual([METRICS.namespace, METRICS.skipped, dimensions]);
    expect(named(job.metricLeaseUnavailable())).toEqual([METRICS.namespace, METRICS.unavailable, dimensions]);
    expect(named(job.metricClaimLatency())).toEqual([METRICS.namespace, METRICS.claimLatency, dimensions]);
    expect(job.metricClaimLatency().statistic).toBe('p99');
    expect(job.metricRunsFailed({ period: Duration.hours(1) }).period.toMinutes()).toBe(60);
  });

  it('creates a dashboard when asked', () => {
    const stack = stackIn();
    guarded(stack, { dashboard: true });
    const [dashboard] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const name of [
      METRICS.succeeded,
      METRICS.failed,
      METRICS.skipped,
      METRICS.unavailable,
      METRICS.claimLatency,
    ]) {
      expect(body).toContain(name);
    }
  });
});

describe('GuardedSchedule: invalid props name the construct and the fix', () => {
  const cases: [string, (stack: Stack) => Partial<GuardedScheduleProps>, RegExp][] = [
    ['a job name with spaces', () => ({ job: 'nightly report' }), /^Jobs\/Report: job may contain only/],
    [
      'maxEventAge under a minute',
      () => ({ maxEventAge: Duration.seconds(30) }),
      /maxEventAge must be .* 1 minute to 1 day/,
    ],
    ['retryAttempts over 185', () => ({ retryAttempts: 186 }), /retryAttempts must be an integer from 0 to 185/],
    [
      'functionRetryAttempts over 2',
      () => ({ functionRetryAttempts: 3 }),
      /functionRetryAttempts must be an integer from 0 to 2/,
    ],
    [
      'functionMaxEventAge over 6 hours',
      () => ({ functionMaxEventAge: Duration.hours(7) }),
      /functionMaxEventAge must be/,
    ],
    [
      'a timeout over 15 minutes',
      () => ({ functionProps: { timeout: Duration.minutes(16) } }),
      /^Jobs\/Report: timeout must be .* 15 minutes/,
    ],
    [
      'a runtime that is not Node.js',
      () => ({ functionProps: { runtime: lambda.Runtime.PYTHON_3_13 } }),
      /runtime must be a Node.js runtime .* got python3.13/,
    ],
    [
      'Node.js 18',
      () => ({ functionProps: { runtime: lambda.Runtime.NODEJS_18_X } }),
      /runtime must be Node.js 20 or later, got nodejs18.x/,
    ],
    [
      'noSuccessTicks below 1',
      () => ({ noSuccessTicks: 0 }),
      /noSuccessTicks must be a whole number of ticks, at least 1/,
    ],
    ['an alarm window over a day', () => ({ noSuccessTicks: 289 }), /at most 1 day/],
    [
      'noSuccessTicks on a cron schedule',
      () => ({ schedule: scheduler.ScheduleExpression.cron({ minute: '0' }), noSuccessTicks: 2 }),
      /^Jobs\/Report\/Monitoring: noSuccessTicks applies only to rate\(\) schedules/,
    ],
    [
      'both entry and lambdaFunction',
      (stack) => ({ entry: ENTRY, lambdaFunction: inline(stack) }),
      /exactly one of entry .* and lambdaFunction/,
    ],
    ['neither entry nor lambdaFunction', () => ({ entry: undefined }), /exactly one of entry .* and lambdaFunction/],
    [
      'functionProps with lambdaFunction',
      (stack) => ({ entry: undefined, lambdaFunction: inline(stack), functionProps: { memorySize: 512 } }),
      /functionProps applies only to a function made from entry/,
    ],
    ['a scheduledTime in input', () => ({ input: { scheduledTime: 'now' } }), /input must not set scheduledTime/],
    [
      'a LEASE_GUARD_ variable in the environment',
      () => ({ functionProps: { environment: { LEASE_GUARD_JOB: 'x' } } }),
      /must not set LEASE_GUARD_JOB/,
    ],
    [
      'a database name that is not an identifier',
      () => ({
        database: LeaseDatabase.fromArns({ clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN, databaseName: 'a;b' }),
      }),
      /^Jobs\/Report: databaseName must be an SQL identifier/,
    ],
    [
      'a malformed clusterArn',
      () => ({
        database: LeaseDatabase.fromArns({ clusterArn: 'lease-db', secretArn: SECRET_ARN, databaseName: 'app' }),
      }),
      /clusterArn must be an Aurora cluster ARN/,
    ],
    [
      'a secret ARN without its suffix',
      () => ({
        database: LeaseDatabase.fromArns({
          clusterArn: CLUSTER_ARN,
          secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lease-user',
          databaseName: 'app',
        }),
      }),
      /secretArn must be a complete secret ARN/,
    ],
    [
      'a region that contradicts clusterArn',
      () => ({
        database: LeaseDatabase.fromArns({
          clusterArn: CLUSTER_ARN,
          secretArn: SECRET_ARN,
          region: 'us-east-2',
          databaseName: 'app',
        }),
      }),
      /region is us-east-2 but clusterArn is in eu-west-1/,
    ],
  ];
  for (const [name, props, message] of cases) {
    it(`fails on ${name}`, () => {
      const stack = stackIn();
      expect(() => guarded(stack, props(stack))).toThrow(message);
    });
  }

  it('fails on a cluster from another region, pointing to fromArns', () => {
    const app = new App();
    const primary = new Stack(app, 'Primary', { env: { region: 'eu-west-1' } });
    const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(primary, 'Cluster', { clusterIdentifier: 'db' });
    const database = LeaseDatabase.fromCluster(cluster, new secretsmanager.Secret(primary, 'Secret'), {
      databaseName: 'app',
    });
    const jobs = new Stack(app, 'Jobs', { env: { region: 'us-east-1' } });
    expect(() => guarded(jobs, { database })).toThrow(
      /^Jobs\/Report: the cluster is in eu-west-1 but this construct is in us-east-1; use LeaseDatabase.fromArns/,
    );
  });

  it('fails on a function that already has an asynchronous-invoke configuration', () => {
    const stack = stackIn();
    const fn = inline(stack);
    fn.configureAsyncInvoke({ retryAttempts: 0 });
    expect(() => guarded(stack, { entry: undefined, lambdaFunction: fn })).toThrow(
      /already has an asynchronous-invoke configuration .* use functionRetryAttempts/,
    );
  });
});

function inline(stack: Stack): lambda.Function {
  return new lambda.Function(stack, `Inline${stack.node.children.length}`, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('export const handler = async () => {};'),
    timeout: Duration.minutes(1),
  });
}

describe('GuardedSchedule: configurations that could never run fail at synth', () => {
  it('fails on a timeout too short for a claim attempt and the release reserve, also on a function you pass', () => {
    expect(() => guarded(stackIn(), { functionProps: { timeout: Duration.seconds(5) } })).toThrow(
      /^Jobs\/Report: timeout must be at least 8 seconds, got 5 seconds: the guard keeps 2250 ms before the deadline/,
    );
    const stack = stackIn();
    const threeSeconds = new lambda.Function(stack, 'Default', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
    });
    expect(() => guarded(stack, { lambdaFunction: threeSeconds })).toThrow(
      /the timeout of lambdaFunction must be at least 8 seconds, got 3 seconds/,
    );
    expect(() => guarded(stackIn(), { functionProps: { timeout: Duration.seconds(8) } })).not.toThrow();
  });

  it('fails on the same job twice in one stack, and allows it in stacks of other regions', () => {
    const stack = stackIn();
    const database = sameRegion(stack);
    guarded(stack, { database });
    expect(
      () =>
        new GuardedSchedule(stack, 'ReportAgain', {
          job: 'nightly-report',
          database,
          entry: ENTRY,
          schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
        }),
    ).toThrow(/^Jobs\/ReportAgain: the job nightly-report is already defined by Jobs\/Report in this stack/);
    const app = templateApp();
    for (const region of ['us-east-1', 'eu-west-1']) {
      const regional = new Stack(app, `Jobs-${region}`, { env: { region } });
      const database = LeaseDatabase.fromArns({ clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN, databaseName: 'app' });
      expect(() => guarded(regional, { database })).not.toThrow();
    }
  });

  it('fails on a flexible time window longer than the gap between ticks: ticks could arrive out of order', () => {
    const window = (minutes: number) => ({ timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(minutes)) });
    expect(() => guarded(stackIn(), { scheduleOptions: window(10) })).toThrow(
      /the flexible time window \(10 minutes\) is longer than the shortest gap between ticks of rate\(5 minutes\) \(5 minutes\)/,
    );
    expect(() => guarded(stackIn(), { scheduleOptions: window(5) })).not.toThrow();
    // Twice an hour, at :00 and :20: the shortest gap is 20 minutes.
    const cron = scheduler.ScheduleExpression.cron({ minute: '0,20' });
    expect(() => guarded(stackIn(), { schedule: cron, scheduleOptions: window(30) })).toThrow(/\(20 minutes\)/);
    expect(() => guarded(stackIn(), { schedule: cron, scheduleOptions: window(20) })).not.toThrow();
    // Once a day: any window Scheduler allows (at most a day) is shorter.
    const daily = scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' });
    expect(() => guarded(stackIn(), { schedule: daily, scheduleOptions: window(1440) })).not.toThrow();
  });

  it('warns when it cannot read the gap between ticks, and not for a one-time schedule', () => {
    const timeWindow = scheduler.TimeWindow.flexible(Duration.minutes(15));
    const warned = (schedule: scheduler.ScheduleExpression) => {
      const stack = stackIn();
      guarded(stack, { schedule, scheduleOptions: { timeWindow }, noSuccessAlarm: false });
      return Annotations.fromStack(stack).findWarning('/Jobs/Report', Match.stringLikeRegexp('cannot read the gap'));
    };
    expect(warned(scheduler.ScheduleExpression.expression('cron(0 9-17/L * * ? *)'))).toHaveLength(1);
    expect(warned(scheduler.ScheduleExpression.at(new Date('2030-01-01T00:00:00Z')))).toEqual([]);
  });

  it('warns when the function runs in isolated subnets without rds-data and secretsmanager endpoints', () => {
    const warnings = (withEndpoints: boolean) => {
      const stack = stackIn();
      const vpc = new ec2.Vpc(stack, 'AppVpc', {
        natGateways: 0,
        subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      });
      if (withEndpoints) new LeaseGuardEndpoints(stack, 'Endpoints', { vpc });
      guarded(stack, { functionProps: { vpc } });
      return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('isolated subnets'));
    };
    const found = warnings(false);
    expect(found).toHaveLength(1);
    expect(found[0]?.id).toBe('/Jobs/Report');
    expect(JSON.stringify(found[0]?.entry.data)).toMatch(/no endpoint for rds-data, secretsmanager/);
    expect(warnings(true)).toEqual([]);
  });
});

describe('GuardedSchedule: an imported function', () => {
  const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:report';

  it('is granted, scheduled and alarmed; its environment is the warning and GuardedSchedule.environment', () => {
    const stack = stackIn();
    const role = iam.Role.fromRoleArn(stack, 'ReportRole', 'arn:aws:iam::123456789012:role/report');
    const fn = lambda.Function.fromFunctionAttributes(stack, 'Imported', {
      functionArn: ARN,
      role,
      sameEnvironment: true,
    });
    const job = guarded(stack, { lambdaFunction: fn });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { Target: Match.objectLike({ Arn: ARN }) });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: 'report' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: 'report' }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: ['report'],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'rds-data:ExecuteStatement' })]),
      },
    });
    expect(job.environment).toMatchObject({ LEASE_GUARD_JOB: 'nightly-report', LEASE_GUARD_REQUIRE_TICK: 'true' });
    const warnings = Annotations.fromStack(stack).findWarning('/Jobs/Report', Match.stringLikeRegexp('.*'));
    expect(warnings.map((w) => JSON.stringify(w.entry.data))).toEqual([
      expect.stringMatching(/must set LEASE_GUARD_RESOURCE_ARN, .*LEASE_GUARD_JOB, LEASE_GUARD_REQUIRE_TICK itself/),
    ]);
  });

  it('fails without its role, which the grants need, and says how to import it', () => {
    const stack = stackIn();
    const fn = lambda.Function.fromFunctionArn(stack, 'Imported', ARN);
    expect(() => guarded(stack, { lambdaFunction: fn })).toThrow(
      /^Jobs\/Report: lambdaFunction was imported without its role.*fromFunctionAttributes\(scope, id, \{ functionArn, role, sameEnvironment: true \}\)/,
    );
  });
});

describe('GuardedSchedule: bundle, logs and role', () => {
  it('ships no source map and no --enable-source-maps unless sourceMap is set', () => {
    const variables = (stack: Stack) =>
      (onlyFunction(Template.fromStack(stack)).Environment as { Variables: Record<string, unknown> }).Variables;
    const plain = stackIn();
    guarded(plain);
    expect(variables(plain).NODE_OPTIONS).toBeUndefined();
    const mapped = stackIn();
    guarded(mapped, { sourceMap: true });
    expect(variables(mapped).NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('retains its log group unless told, and encrypts it with your key', () => {
    const kept = stackIn();
    guarded(kept);
    Template.fromStack(kept).hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
    const stack = stackIn();
    const key = new kms.Key(stack, 'Key');
    guarded(stack, { logRemovalPolicy: RemovalPolicy.DESTROY, logEncryptionKey: key });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Delete',
      Properties: { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'logs.us-east-1.amazonaws.com' }, Action: Match.anyValue() }),
        ]),
      },
    });
  });

  it('runs as its own role with one customer-managed policy: no AWS managed policy, no inline policy', () => {
    const stack = stackIn();
    const vpc = new ec2.Vpc(stack, 'AppVpc', { natGateways: 0 });
    guarded(stack, { functionProps: { vpc } });
    const template = Template.fromStack(stack);
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles.every((role) => role.Properties.ManagedPolicyArns === undefined)).toBe(true);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const actions = statements(template).flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining(['logs:PutLogEvents', 'ec2:CreateNetworkInterface', 'rds-data:ExecuteStatement']),
    );
    // Its own log group's ARN attribute, which ends in :* and so covers the streams.
    const logs = statements(template).find((s) => actionsOf(s).includes('logs:PutLogEvents'));
    expect(logs?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReportFunctionLogs/), 'Arn'] });
  });
});

describe('GuardedSchedule: Lambda Managed Instances', () => {
  function provider(stack: Stack): lambda.CapacityProvider {
    const vpc = new ec2.Vpc(stack, 'InstancesVpc', { natGateways: 0 });
    return new lambda.CapacityProvider(stack, 'Instances', {
      subnets: vpc.privateSubnets.length > 0 ? vpc.privateSubnets : vpc.isolatedSubnets,
      securityGroups: [new ec2.SecurityGroup(stack, 'InstancesSg', { vpc })],
    });
  }

  it('puts the function on the capacity provider with its concurrency per execution environment', () => {
    const stack = stackIn();
    guarded(stack, {
      capacityProvider: provider(stack),
      capacityProviderOptions: {
        perExecutionEnvironmentMaxConcurrency: 16,
        latestPublishedScalingConfig: { minExecutionEnvironments: 1, maxExecutionEnvironments: 3 },
      },
    });
    expect(onlyFunction(Template.fromStack(stack))).toMatchObject({
      CapacityProviderConfig: {
        LambdaManagedInstancesCapacityProviderConfig: {
          CapacityProviderArn: { 'Fn::GetAtt': [expect.stringMatching(/^Instances/), 'Arn'] },
          PerExecutionEnvironmentMaxConcurrency: 16,
        },
      },
      FunctionScalingConfig: { MinExecutionEnvironments: 1, MaxExecutionEnvironments: 3 },
    });
  });

  it('takes an imported capacity provider, written as CapacityProvider.addFunction writes it', () => {
    const stack = stackIn();
    const arn = 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shared';
    guarded(stack, {
      capacityProvider: lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Shared', arn),
      capacityProviderOptions: { perExecutionEnvironmentMaxConcurrency: 8 },
    });
    expect(onlyFunction(Template.fromStack(stack))).toMatchObject({
      CapacityProviderConfig: {
        LambdaManagedInstancesCapacityProviderConfig: {
          CapacityProviderArn: arn,
          PerExecutionEnvironmentMaxConcurrency: 8,
        },
      },
    });
  });

  it('fails on Node.js 20, a concurrency out of range, options without a provider, or an imported function', () => {
    const node20 = stackIn();
    expect(() =>
      guarded(node20, { capacityProvider: provider(node20), functionProps: { runtime: lambda.Runtime.NODEJS_20_X } }),
    ).toThrow(/capacityProvider needs Node.js 22 or later .* got nodejs20.x/);
    const zero = stackIn();
    expect(() =>
      guarded(zero, {
        capacityProvider: provider(zero),
        capacityProviderOptions: { perExecutionEnvironmentMaxConcurrency: 0 },
      }),
    ).toThrow(/perExecutionEnvironmentMaxConcurrency must be an integer from 1 to 1600/);
    expect(() => guarded(stackIn(), { capacityProviderOptions: { perExecutionEnvironmentMaxConcurrency: 4 } })).toThrow(
      /capacityProviderOptions applies only with capacityProvider/,
    );
    const imported = stackIn();
    expect(() =>
      guarded(imported, {
        capacityProvider: provider(imported),
        lambdaFunction: lambda.Function.fromFunctionAttributes(imported, 'Imported', {
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:x',
          role: iam.Role.fromRoleArn(imported, 'Role', 'arn:aws:iam::123456789012:role/x'),
          sameEnvironment: true,
        }),
      }),
    ).toThrow(/capacityProvider needs a function defined in this app/);
  });
});
