/**
 * lease-guard/cdk with an Aurora Global Database (issue 13): a GuardedSchedule given
 * `LeaseDatabase.global(primary, [secondary])` hands its function every cluster, the primary first
 * (LEASE_GUARD_CLUSTERS, which the guard parses), may call the Data API on each cluster with each
 * secret, and fails synthesis when a cluster defined in the app has the Data API off.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { GuardedSchedule, LeaseDatabase, LeaseTable } from '../../src/cdk/index.js';
import { LEASE_ENV } from '../../src/constants.js';
import { parseClusters } from '../../src/sql/cluster-settings.js';
import { auroraCluster } from './aurora-cluster.js';
import { templateApp } from './template-app.js';

const PRIMARY = {
  clusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:lease-primary',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lease-user-AbC123',
};
const SECONDARY = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:lease-secondary',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lease-user-AbC123',
};
const ENTRY = 'test/fixtures/functions/scheduled-job.ts';

function stackIn(region: string): Stack {
  return new Stack(templateApp(), 'Jobs', { env: { region } });
}

function guarded(stack: Stack, database: LeaseDatabase): GuardedSchedule {
  return new GuardedSchedule(stack, 'Report', {
    job: 'nightly-report',
    schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    entry: ENTRY,
    database,
  });
}

const globalDatabase = (databaseName = 'app') =>
  LeaseDatabase.global(LeaseDatabase.fromArns({ ...PRIMARY, databaseName: 'app' }), [
    LeaseDatabase.fromArns({ ...SECONDARY, databaseName }),
  ]);

describe('GuardedSchedule on a global database', () => {
  it('gives the function every cluster, the primary first, and no single cluster', () => {
    const stack = stackIn('eu-west-1');
    guarded(stack, globalDatabase());
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const variables = functions.map((fn) => fn.Properties.Environment?.Variables ?? {});
    const job = variables.find((vars) => vars[LEASE_ENV.JOB] === 'nightly-report');
    expect(job).toBeDefined();
    expect(job?.[LEASE_ENV.RESOURCE_ARN]).toBeUndefined();
    expect(job?.[LEASE_ENV.DATABASE]).toBe('app');
    // What the guard reads at cold start, checked by the guard's own parser.
    expect(parseClusters(job?.[LEASE_ENV.CLUSTERS], LEASE_ENV.CLUSTERS)).toEqual([
      { resourceArn: PRIMARY.clusterArn, secretArn: PRIMARY.secretArn, region: 'us-east-1' },
      { resourceArn: SECONDARY.clusterArn, secretArn: SECONDARY.secretArn, region: 'eu-west-1' },
    ]);
  });

  it('grants the Data API on both clusters and read on both secrets, nothing wider', () => {
    const stack = stackIn('eu-west-1');
    guarded(stack, globalDatabase());
    // Function roles hold one customer-managed policy; other roles keep CDK's inline default policy.
    const statements = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap((type) =>
      Object.values(Template.fromStack(stack).findResources(type)).flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      ),
    );
    const resourcesOf = (action: string) =>
      statements
        .filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action))
        .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(resourcesOf('rds-data:ExecuteStatement').sort()).toEqual([PRIMARY.clusterArn, SECONDARY.clusterArn].sort());
    expect(resourcesOf('secretsmanager:GetSecretValue').sort()).toEqual(
      [PRIMARY.secretArn, SECONDARY.secretArn].sort(),
    );
  });

  it('fails synthesis when a cluster of the global database has the Data API off', () => {
    const stack = stackIn('us-east-1');
    const cluster = auroraCluster(stack, { enableDataApi: false });
    const primary = LeaseDatabase.fromCluster(cluster, new secretsmanager.Secret(stack, 'LeaseUser'), {
      databaseName: 'app',
    });
    guarded(stack, LeaseDatabase.global(primary, [LeaseDatabase.fromArns({ ...SECONDARY, databaseName: 'app' })]));
    expect(() => Template.fromStack(stack)).toThrow(/the Data API is not enabled on the cluster Jobs\/Cluster/);
  });

  it('refuses a global database without a secondary, or whose clusters hold different tables', () => {
    const primary = LeaseDatabase.fromArns({ ...PRIMARY, databaseName: 'app' });
    expect(() => guarded(stackIn('us-east-1'), LeaseDatabase.global(primary, []))).toThrow(
      /needs the primary and at least one secondary cluster/,
    );
    expect(() => guarded(stackIn('us-east-1'), globalDatabase('other'))).toThrow(
      /every cluster of a global database holds the same table: app\.lease_guard on the primary, other\.lease_guard/,
    );
    expect(() => guarded(stackIn('us-east-1'), LeaseDatabase.global(primary, [primary]))).toThrow(/listed twice/);
  });
});

describe("LeaseTable on a global database's primary", () => {
  function tableWithReplica(): { stack: Stack; table: LeaseTable } {
    const stack = stackIn('us-east-1');
    const cluster = auroraCluster(stack);
    const table = new LeaseTable(stack, 'LeaseTable', {
      cluster,
      databaseName: 'app',
      userSecretReplicaRegions: ['eu-west-1'],
    });
    return { stack, table };
  }

  it("replicates the lease user's secret to the secondary regions; the replica's ARN differs only in its region", () => {
    const { stack, table } = tableWithReplica();
    const template = Template.fromStack(stack);
    const replicated = template.findResources('AWS::SecretsManager::Secret', {
      Properties: { ReplicaRegions: [{ Region: 'eu-west-1' }] },
    });
    const [id] = Object.keys(replicated);
    expect(Object.keys(replicated)).toHaveLength(1);
    expect(stack.resolve(table.userSecretArnIn('us-east-1'))).toEqual({ Ref: id });
    const parts = (index: number) => ({ 'Fn::Select': [index, { 'Fn::Split': [':', { Ref: id }] }] });
    expect(stack.resolve(table.userSecretArnIn('eu-west-1'))).toEqual({
      'Fn::Join': [':', [parts(0), parts(1), parts(2), 'eu-west-1', parts(4), parts(5), parts(6)]],
    });
  });

  it('refuses the ARN of a replica it does not have', () => {
    expect(() => tableWithReplica().table.userSecretArnIn('ap-south-1')).toThrow(
      /no replica in ap-south-1: add it to userSecretReplicaRegions \(replicas: eu-west-1\)/,
    );
  });
});
