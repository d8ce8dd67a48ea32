import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { GuardedSchedule, type GuardedScheduleProps } from '../../infra/constructs/guarded-schedule.js';

const CLUSTER_ARN = 'arn:aws:rds:eu-west-1:123456789012:cluster:lease-db';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lease-user-AbC123';
const code = lambda.Code.fromInline('export const handler = async () => {};');

function stackIn(region = 'us-east-1'): Stack {
  return new Stack(new App(), 'Jobs', { env: { region } });
}

/** A cluster and a secret in the same stack, as `cluster` + `secret`. */
function sameRegion(stack: Stack): Pick<GuardedScheduleProps, 'cluster' | 'secret'> {
  return {
    cluster: rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Cluster', { clusterIdentifier: 'lease-db' }),
    secret: new secretsmanager.Secret(stack, 'LeaseUser'),
  };
}

function guarded(stack: Stack, props: Partial<GuardedScheduleProps> = {}): GuardedSchedule {
  return new GuardedSchedule(stack, 'Report', {
    job: 'nightly-report',
    schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    code,
    databaseName: 'app',
    ...(props.cluster || props.clusterArn ? {} : sameRegion(stack)),
    ...props,
  });
}

/** Every IAM statement in the template, flattened. */
function statements(template: Template): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement,
  );
}

function actionsOf(statement: { Action: string | string[] }): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

describe('GuardedSchedule', () => {
  it('defines a nodejs22.x function with the LEASE_GUARD_* environment', () => {
    const stack = stackIn();
    guarded(stack, { tableName: 'job_leases', environment: { REPORT_BUCKET: 'reports' } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Architectures: ['arm64'],
      Timeout: 60,
      Environment: {
        Variables: {
          LEASE_GUARD_RESOURCE_ARN: Match.anyValue(),
          LEASE_GUARD_SECRET_ARN: { Ref: Match.stringLikeRegexp('^LeaseUser') },
          LEASE_GUARD_DATABASE: 'app',
          LEASE_GUARD_TABLE: 'job_leases',
          LEASE_GUARD_REGION: Match.absent(),
          REPORT_BUCKET: 'reports',
        },
      },
    });
  });

  it('grants ExecuteStatement on the cluster and read on the one secret, never on *', () => {
    const stack = stackIn();
    guarded(stack);
    const template = Template.fromStack(stack);
    const all = statements(template);
    const dataApi = all.filter((s) => actionsOf(s).some((a) => a.startsWith('rds-data:')));
    expect(dataApi).toHaveLength(1);
    expect(actionsOf(dataApi[0]!)).toEqual(['rds-data:ExecuteStatement']);
    expect(JSON.stringify(dataApi[0]!.Resource)).toContain(':cluster:lease-db');
    const secrets = all.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(actionsOf(secrets[0]!).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(secrets[0]!.Resource).toEqual({ Ref: expect.stringMatching(/^LeaseUser/) });
    for (const statement of [...dataApi, ...secrets]) {
      expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|^"\*"$/);
    }
  });

  it('puts <aws.scheduler.scheduled-time> in every event, beside the extra input', () => {
    const stack = stackIn();
    guarded(stack, { input: { report: 'daily' } });
    const template = Template.fromStack(stack);
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    expect(JSON.parse(schedule!.Properties.Target.Input)).toEqual({
      report: 'daily',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
    expect(schedule!.Properties.ScheduleExpression).toBe('rate(5 minutes)');
  });

  it('sets a bounded retry policy and a dead-letter queue on the schedule', () => {
    const stack = stackIn();
    guarded(stack);
    Template.fromStack(stack).hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: {
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportDeadLetterQueue'), 'Arn'] } },
      },
    });
  });

  it('takes the retry policy from props', () => {
    const stack = stackIn();
    guarded(stack, { retryAttempts: 0, maxEventAge: Duration.minutes(10) });
    Template.fromStack(stack).hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: { RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 0 } },
    });
  });

  it("configures Lambda's own async retries and sends failed events to the dead-letter queue", () => {
    const stack = stackIn();
    guarded(stack, { functionRetryAttempts: 1, functionMaxEventAge: Duration.minutes(30) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 1800,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportDeadLetterQueue'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  it('lets the scheduler role invoke this function only', () => {
    const stack = stackIn();
    guarded(stack);
    const template = Template.fromStack(stack);
    const invoke = statements(template).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0]!.Resource)).toContain('ReportFunction');
    expect(JSON.stringify(invoke[0]!.Resource)).not.toContain('"*"');
  });

  it('alarms on errors, on the dead-letter queue and on N ticks without a successful run', () => {
    const stack = stackIn();
    const job = guarded(stack, { noSuccessTicks: 4 });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    expect(job.alarms).toHaveLength(3);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'LeaseGuard',
      MetricName: 'RunSucceeded',
      Dimensions: [{ Name: 'Job', Value: 'nightly-report' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 4,
      DatapointsToAlarm: 4,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });

  it('takes the alarm period from tickInterval for a cron schedule, and can drop the no-success alarm', () => {
    const stack = stackIn();
    guarded(stack, {
      schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' }),
      tickInterval: Duration.days(1),
      noSuccessTicks: 2,
    });
    const other = stackIn();
    const job = guarded(other, { noSuccessAlarm: false });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RunSucceeded',
      Period: 86400,
      EvaluationPeriods: 2,
    });
    expect(job.noSuccessAlarm).toBeUndefined();
    Template.fromStack(other).resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });

  it('counts skips as well as successes in the no-success alarm of a multi-region job', () => {
    const stack = stackIn();
    guarded(stack, { multiRegion: true });
    const stat = (metricName: string) => ({
      Id: metricName === 'RunSucceeded' ? 'succeeded' : 'skipped',
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'LeaseGuard',
          MetricName: metricName,
          Dimensions: [{ Name: 'Job', Value: 'nightly-report' }],
        },
        Period: 300,
        Stat: 'Sum',
      },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(succeeded, 0) + FILL(skipped, 0)' }),
        stat('RunSucceeded'),
        stat('Skipped'),
      ]),
      EvaluationPeriods: 3,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('points a function in another region at the cluster with LEASE_GUARD_REGION', () => {
    const stack = stackIn('us-east-1');
    guarded(stack, { clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN, clusterRegion: 'eu-west-1' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LEASE_GUARD_RESOURCE_ARN: CLUSTER_ARN,
          LEASE_GUARD_SECRET_ARN: SECRET_ARN,
          LEASE_GUARD_REGION: 'eu-west-1',
        }),
      },
    });
    const resources = statements(template)
      .filter((s) => actionsOf(s).some((a) => a.startsWith('rds-data:') || a.startsWith('secretsmanager:')))
      .map((s) => s.Resource);
    expect(resources).toEqual([CLUSTER_ARN, SECRET_ARN]);
  });

  it('reads the cluster region from clusterArn, and leaves LEASE_GUARD_REGION out in the same region', () => {
    const away = stackIn('us-east-1');
    guarded(away, { clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN });
    Template.fromStack(away).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASE_GUARD_REGION: 'eu-west-1' }) },
    });
    const home = stackIn('eu-west-1');
    guarded(home, { clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN });
    Template.fromStack(home).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASE_GUARD_REGION: Match.absent() }) },
    });
  });

  it('bundles an entry file with the local esbuild into one ESM file', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'lease-guard-bundle-'));
    try {
      const app = new App({ outdir });
      const stack = new Stack(app, 'Bundled', { env: { region: 'us-east-1' } });
      new GuardedSchedule(stack, 'Job', {
        job: 'bundled',
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
        entry: 'test/fixtures/functions/scheduled-job.ts',
        databaseName: 'app',
        ...sameRegion(stack),
      });
      app.synth();
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.handler',
        Runtime: 'nodejs22.x',
        Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
      });
      const assetDirs = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
      expect(assetDirs.filter((dir) => existsSync(join(outdir, dir, 'index.mjs')))).toHaveLength(1);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  describe('fails on invalid props', () => {
    const cases: [string, (stack: Stack) => Partial<GuardedScheduleProps>, RegExp][] = [
      ['a job name with spaces', () => ({ job: 'nightly report' }), /job may contain only/],
      [
        'maxEventAge under a minute',
        () => ({ maxEventAge: Duration.seconds(30) }),
        /maxEventAge must be .* 1 minute to 1 day/,
      ],
      ['maxEventAge over a day', () => ({ maxEventAge: Duration.hours(25) }), /maxEventAge must be/],
      ['negative retryAttempts', () => ({ retryAttempts: -1 }), /retryAttempts must be an integer from 0 to 185/],
      ['retryAttempts over 185', () => ({ retryAttempts: 186 }), /retryAttempts must be an integer from 0 to 185/],
      ['fractional retryAttempts', () => ({ retryAttempts: 1.5 }), /retryAttempts must be an integer/],
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
      ['a timeout over 15 minutes', () => ({ timeout: Duration.minutes(16) }), /timeout must be .* 15 minutes/],
      [
        'noSuccessTicks below 1',
        () => ({ noSuccessTicks: 0 }),
        /noSuccessTicks must be a whole number of ticks, at least 1/,
      ],
      ['an alarm window over a day', () => ({ noSuccessTicks: 289 }), /at most 1 day/],
      [
        'a cron schedule without tickInterval',
        () => ({ schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' }) }),
        /tickInterval is required for cron/,
      ],
      ['neither cluster nor clusterArn', () => ({ cluster: undefined, secret: undefined }), /A database is required/],
      [
        'cluster without secret',
        (stack) => ({ ...sameRegion(stack), secret: undefined }),
        /secret is required with cluster/,
      ],
      [
        'cluster and clusterArn together',
        (stack) => ({ ...sameRegion(stack), clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN }),
        /either cluster and secret .* or clusterArn/,
      ],
      ['clusterArn without secretArn', () => ({ clusterArn: CLUSTER_ARN }), /secretArn is required with clusterArn/],
      [
        'a malformed clusterArn',
        () => ({ clusterArn: 'lease-db', secretArn: SECRET_ARN }),
        /clusterArn must be an Aurora cluster ARN/,
      ],
      [
        'a secret ARN without its suffix',
        () => ({
          clusterArn: CLUSTER_ARN,
          secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lease-user',
        }),
        /secretArn must be a complete secret ARN/,
      ],
      [
        'a clusterRegion that contradicts clusterArn',
        () => ({ clusterArn: CLUSTER_ARN, secretArn: SECRET_ARN, clusterRegion: 'us-east-2' }),
        /clusterRegion is us-east-2 but clusterArn is in eu-west-1/,
      ],
      ['both entry and code', () => ({ entry: 'functions/x.ts' }), /exactly one of entry .* and code/],
      ['neither entry nor code', () => ({ code: undefined }), /exactly one of entry .* and code/],
      ['a scheduledTime in input', () => ({ input: { scheduledTime: 'now' } }), /input must not set scheduledTime/],
      [
        'a LEASE_GUARD_ variable in environment',
        () => ({ environment: { LEASE_GUARD_TABLE: 'x' } }),
        /must not set LEASE_GUARD_TABLE/,
      ],
      [
        'a database name that is not an identifier',
        () => ({ databaseName: 'app;drop' }),
        /databaseName must be an SQL identifier/,
      ],
      [
        'a table name that is not an identifier',
        () => ({ tableName: 'lease-guard' }),
        /tableName must be an SQL identifier/,
      ],
    ];
    for (const [name, props, message] of cases) {
      it(`fails on ${name}`, () => {
        const stack = stackIn();
        expect(() => guarded(stack, props(stack))).toThrow(message);
      });
    }

    it('fails on a cluster from another region', () => {
      const app = new App();
      const primary = new Stack(app, 'Primary', { env: { region: 'eu-west-1' } });
      const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(primary, 'Cluster', {
        clusterIdentifier: 'db',
      });
      const secret = new secretsmanager.Secret(primary, 'Secret');
      const jobs = new Stack(app, 'Jobs', { env: { region: 'us-east-1' } });
      expect(() => guarded(jobs, { cluster, secret })).toThrow(
        /cluster is in eu-west-1 but this GuardedSchedule is in us-east-1/,
      );
    });
  });
});
