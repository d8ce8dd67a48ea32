import { type App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, HIPAASecurityChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  GuardedSchedule,
  LeaseGuardEndpoints,
  type LeaseGuardFunctionOptions,
  LeaseTable,
  LeaseWatchdog,
} from '../../src/cdk/index.js';
import { auroraCluster } from './aurora-cluster.js';
import { templateApp } from './template-app.js';

/** The construct ids lease-guard's resources live under in the app below. */
const LEASE_GUARD = /^Regulated\/(Leases|Report|Watchdog|Endpoints)\//;

/**
 * A regulated account's app: the cluster in isolated subnets, lease-guard's functions in the same
 * subnets with VPC endpoints, tracing, the latest runtime, reserved concurrency, a dead-letter queue,
 * encrypted log groups, alarm actions and a customer-managed key on the lease user's secret, which
 * the app rotates. AwsSolutions, Serverless and HIPAA Security packs, as cdk-nag 3 runs them.
 */
function regulatedApp(options: { readonly vpcOnly?: boolean } = {}): App {
  const app = templateApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app), new HIPAASecurityChecks(app));
  const stack = new Stack(app, 'Regulated', { env: { region: 'eu-west-1' } });
  const cluster = auroraCluster(stack, { defaultDatabaseName: 'app' });
  const vpc = cluster.vpc;
  // One security group for every function, the only one the endpoints let in.
  const functions = new ec2.SecurityGroup(stack, 'Functions', { vpc, description: 'lease-guard functions' });
  new LeaseGuardEndpoints(stack, 'Endpoints', { vpc, forLeaseTable: true, allowFrom: [functions] });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const deadLetterQueue = new sqs.Queue(stack, 'Failures', { encryptionMasterKey: key, enforceSSL: true });
  const topic = new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true });
  const network = { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [functions] };
  const functionOptions: LeaseGuardFunctionOptions = options.vpcOnly
    ? network
    : {
        ...network,
        runtime: lambda.Runtime.NODEJS_24_X,
        tracing: lambda.Tracing.ACTIVE,
        reservedConcurrentExecutions: 1,
        deadLetterQueue,
        environmentEncryption: key,
        logEncryptionKey: key,
        logRemovalPolicy: RemovalPolicy.DESTROY,
      };
  const leases = new LeaseTable(stack, 'Leases', {
    cluster,
    databaseName: 'app',
    functionOptions,
    ...(options.vpcOnly ? {} : { userSecretEncryptionKey: key }),
  });
  if (!options.vpcOnly) {
    leases.userSecret?.addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.mysqlSingleUser({ ...network }),
      automaticallyAfter: Duration.days(30),
    });
  }
  new GuardedSchedule(stack, 'Report', {
    job: 'report',
    database: leases.leaseDatabase,
    entry: 'test/fixtures/functions/scheduled-job.ts',
    schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    functionProps: options.vpcOnly
      ? network
      : {
          ...network,
          runtime: lambda.Runtime.NODEJS_24_X,
          tracing: lambda.Tracing.ACTIVE,
          reservedConcurrentExecutions: 2,
          environmentEncryption: key,
        },
    ...(options.vpcOnly
      ? {}
      : { logEncryptionKey: key, alarmActions: [new actions.SnsAction(topic)], deadLetterQueue }),
  });
  new LeaseWatchdog(stack, 'Watchdog', {
    database: leases.leaseDatabase,
    functionOptions,
    ...(options.vpcOnly ? {} : { alarmActions: [new actions.SnsAction(topic)] }),
  });
  return app;
}

/** The findings cdk-nag failed the synth with, as `rule at construct path`. */
function findings(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (error) {
    const report = (error as Error).message;
    const found = [...report.matchAll(/^ {3}(\S+) \S+\n {3}Acknowledge with '[^':]+::([^']+)'/gm)];
    if (found.length === 0) throw error;
    return found.map(([, path, rule]) => `${rule} at ${path}`);
  }
}

// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe('cdk-nag AwsSolutions, Serverless and HIPAA Security packs', { timeout: 180_000 }, () => {
  it("find nothing on lease-guard's resources in an app that sets the functions' options", () => {
    const all = findings(regulatedApp());
    expect(all.filter((finding) => LEASE_GUARD.test(finding.split(' at ')[1] ?? ''))).toEqual([]);
  });

  it('find no IAM4/IAM5 on the functions in a VPC: no AWS managed policy, the network-interface statement acknowledged', () => {
    const all = findings(regulatedApp({ vpcOnly: true }));
    expect(all.filter((finding) => /AwsSolutions-IAM[45]/.test(finding))).toEqual([]);
    // The control: without the other options the packs do flag lease-guard's resources.
    expect(all).toContain('Serverless-LambdaTracing at Regulated/Watchdog/Function/Resource');
  });
});
