import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { GuardedJobsStack } from '../../infra/stacks/guarded-jobs-stack.js';
import { LeaseDatabaseStack } from '../../infra/stacks/lease-database-stack.js';

/** The feature flags the CLI gives the app, so the stacks here are built as `cdk synth` builds them. */
const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };

/** The example app's stacks, built in process with bundling skipped (the CLI synth test bundles). */
function exampleApp(scaleToZero = false): {
  database: LeaseDatabaseStack;
  home: GuardedJobsStack;
  away: GuardedJobsStack;
} {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const database = new LeaseDatabaseStack(app, 'Database', { env: { region: 'us-east-1' }, scaleToZero });
  const home = new GuardedJobsStack(app, 'JobsHome', { env: { region: 'us-east-1' }, database });
  const away = new GuardedJobsStack(app, 'JobsAway', { env: { region: 'eu-west-1' }, database });
  return { database, home, away };
}

// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe('example stacks', { timeout: 180_000 }, () => {
  it('defines an Aurora Serverless v2 MySQL 3 cluster with the Data API in a VPC without NAT gateways', () => {
    const template = Template.fromStack(exampleApp().database);
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      EngineVersion: Match.stringLikeRegexp('^8\\.0\\.mysql_aurora\\.3\\.'),
      EnableHttpEndpoint: true,
      DatabaseName: 'lease_guard',
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 2 },
      StorageEncrypted: true,
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless' });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('Custom::LeaseGuardTable', { Database: 'lease_guard', Table: 'lease_guard' });
  });

  it("watches both jobs from the database's region: the watchdog reads the table and alarms on their lag", () => {
    const template = Template.fromStack(exampleApp().database);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    for (const job of ['nightly-report', 'leader-sync']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'LeaseGuard',
        MetricName: 'CompletionLag',
        Dimensions: [{ Name: 'Job', Value: job }],
        Threshold: 900,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('lets the cluster scale to zero when asked', () => {
    Template.fromStack(exampleApp(true).database).hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2 },
    });
  });

  it('deploys both jobs in each region, the report per tick and the sync with affinity', () => {
    const { home, away } = exampleApp();
    for (const stack of [home, away]) {
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::Scheduler::Schedule', 2);
      template.resourceCountIs('AWS::Lambda::Function', 2);
      for (const job of ['nightly-report', 'leader-sync']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Metrics: Match.arrayWith([
            Match.objectLike({
              MetricStat: Match.objectLike({
                Metric: Match.objectLike({ MetricName: 'RunSucceeded', Dimensions: [{ Name: 'Job', Value: job }] }),
              }),
            }),
          ]),
        });
      }
    }
    expect(home.nightlyReport.job).toBe('nightly-report');
    expect(away.leaderSync.job).toBe('leader-sync');
  });

  it('reaches the cluster in its own region through the constructs, with no LEASE_GUARD_REGION', () => {
    Template.fromStack(exampleApp().home).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LEASE_GUARD_SECRET_ARN: Match.objectLike({
            'Fn::GetStackOutput': Match.objectLike({ StackName: 'Database' }),
          }),
          LEASE_GUARD_REGION: Match.absent(),
        }),
      },
    });
  });

  it("reaches the cluster from another region through the database stack's outputs", () => {
    const { database, away } = exampleApp();
    const output = (name: string) => ({
      'Fn::GetStackOutput': { StackName: 'Database', OutputName: name, Region: 'us-east-1' },
    });
    const template = Template.fromStack(away);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LEASE_GUARD_RESOURCE_ARN: output('ClusterArn'),
          LEASE_GUARD_SECRET_ARN: output('LeaseSecretArn'),
          LEASE_GUARD_REGION: 'us-east-1',
        }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'rds-data:ExecuteStatement', Resource: output('ClusterArn') }),
          Match.objectLike({ Resource: output('LeaseSecretArn') }),
        ]),
      },
    });
    const outputs = Template.fromStack(database).toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['ClusterArn', 'LeaseSecretArn']));
    expect(away.dependencies).toContain(database);
  });
});
