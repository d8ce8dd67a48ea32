import { readFileSync } from 'node:fs';
import { type App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { GuardedJobsStack } from '../../infra/stacks/guarded-jobs-stack.js';
import { LeaseDatabaseStack } from '../../infra/stacks/lease-database-stack.js';
import { SecondaryClusterStack } from '../../infra/stacks/secondary-cluster-stack.js';
import { GuardedSchedule, LeaseDatabase } from '../../src/cdk/index.js';
import { templateApp } from './template-app.js';

const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };

/** The example app as infra/bin/app.ts builds it (global database), with cdk-nag's AwsSolutions pack; bundling skipped. */
function exampleApp(): { app: App; database: LeaseDatabaseStack } {
  const app = templateApp(context);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const database = new LeaseDatabaseStack(app, 'Database', {
    env: { region: 'us-east-1' },
    secondaryRegion: 'eu-west-1',
  });
  const secondary = new SecondaryClusterStack(app, 'Secondary', { env: { region: 'eu-west-1' }, primary: database });
  new GuardedJobsStack(app, 'JobsHome', { env: { region: 'us-east-1' }, database, secondary });
  new GuardedJobsStack(app, 'JobsAway', { env: { region: 'eu-west-1' }, database, secondary });
  return { app, database };
}

/** The unacknowledged findings that fail the synth, as `rule at construct path`. */
function findings(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (error) {
    const report = (error as Error).message;
    const found = [...report.matchAll(/^ {3}(\S+) \S+\n {3}Acknowledge with 'AwsSolutions::([^']+)'/gm)];
    if (found.length === 0) throw error;
    return found.map(([, path, rule]) => `${rule} at ${path}`);
  }
}

// cdk-nag fails the synth on any finding that is not acknowledged, with its reason.
// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe('cdk-nag AwsSolutions checks', { timeout: 180_000 }, () => {
  it('pass on the example app: every remaining finding is acknowledged by the construct that owns it', () => {
    expect(findings(exampleApp().app)).toEqual([]);
  });

  it('fail on a finding nobody acknowledged (the negative control)', () => {
    const { app, database } = exampleApp();
    // A queue without a dead-letter queue, beside the constructs: AwsSolutions-SQS3.
    new sqs.Queue(database, 'Unacknowledged', { enforceSSL: true });
    expect(findings(app)).toEqual(['AwsSolutions-SQS3 at Database/Unacknowledged/Resource']);
  });

  it('fail on a guarded function whose runtime you chose when it is not the latest: yours to decide', async () => {
    const app = templateApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, 'Jobs', { env: { region: 'eu-west-1' } });
    new GuardedSchedule(stack, 'Report', {
      job: 'report',
      entry: 'test/fixtures/functions/scheduled-job.ts',
      database: LeaseDatabase.fromArns({
        clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:db',
        secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lease-AbC123',
        databaseName: 'app',
      }),
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      functionProps: { runtime: (await import('aws-cdk-lib/aws-lambda')).Runtime.NODEJS_20_X },
    });
    expect(findings(app)).toEqual(['AwsSolutions-L1 at Jobs/Report/Function/Resource']);
  });
});
