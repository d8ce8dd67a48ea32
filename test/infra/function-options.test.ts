import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { LeaseGuardEndpoints, type LeaseGuardFunctionOptions, LeaseTable, LeaseWatchdog } from '../../src/cdk/index.js';
import { auroraCluster } from './aurora-cluster.js';
import { templateApp } from './template-app.js';

const LAYER_ARN = 'arn:aws:lambda:eu-west-1:123456789012:layer:params-and-secrets:4';

/** A stack with the test cluster (isolated subnets), the lease table and the watchdog, given `options`. */
function deployed(options: LeaseGuardFunctionOptions | ((stack: Stack, vpc: ec2.IVpc) => LeaseGuardFunctionOptions)) {
  const stack = new Stack(templateApp(), 'Db', { env: { region: 'eu-west-1' } });
  const cluster = auroraCluster(stack, { defaultDatabaseName: 'app' });
  const functionOptions = typeof options === 'function' ? options(stack, cluster.vpc) : options;
  const table = new LeaseTable(stack, 'Leases', { cluster, databaseName: 'app', functionOptions });
  const watchdog = new LeaseWatchdog(stack, 'Watchdog', { database: table.leaseDatabase, functionOptions });
  return { stack, table, watchdog };
}

/** The CloudFormation properties of the function at `path` (its construct path under the stack). */
function functionAt(template: Template, logicalIdPrefix: string): Record<string, unknown> {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
    id.startsWith(logicalIdPrefix),
  );
  expect(found, logicalIdPrefix).toHaveLength(1);
  return found[0]?.[1].Properties;
}

// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe("lease-guard's own functions: functionOptions", { timeout: 180_000 }, () => {
  it('apply to the migration, the custom resource framework and the watchdog', () => {
    const { stack } = deployed((stack, vpc) => ({
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      runtime: lambda.Runtime.NODEJS_24_X,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: 1,
      deadLetterQueue: new sqs.Queue(stack, 'Failures'),
      logEncryptionKey: new kms.Key(stack, 'Key'),
      logRetention: logs.RetentionDays.ONE_YEAR,
      logRemovalPolicy: RemovalPolicy.DESTROY,
    }));
    const template = Template.fromStack(stack);
    const inVpc = { VpcConfig: { SubnetIds: expect.any(Array), SecurityGroupIds: expect.any(Array) } };
    const traced = { TracingConfig: { Mode: 'Active' }, ReservedConcurrentExecutions: 1 };
    expect(functionAt(template, 'LeasesMigrateFunction')).toMatchObject({ ...inVpc, ...traced, Runtime: 'nodejs24.x' });
    expect(functionAt(template, 'WatchdogFunction')).toMatchObject({ ...inVpc, ...traced, Runtime: 'nodejs24.x' });
    expect(functionAt(template, 'LeasesProviderframeworkonEvent')).toMatchObject({
      ...inVpc,
      ...traced,
      MemorySize: 128,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^Failures/), 'Arn'] } },
    });
    // The watchdog's failed scheduled runs go to the queue as its on-failure destination.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Failures'), 'Arn'] } },
      },
    });
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const group of groups) {
      expect(group).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] } },
      });
    }
  });

  it('default to retained log groups kept a month, Node.js 22, no VPC, and no AWS managed policy', () => {
    const { stack } = deployed({});
    const template = Template.fromStack(stack);
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const group of groups)
      expect(group).toMatchObject({ DeletionPolicy: 'Retain', Properties: { RetentionInDays: 30 } });
    expect(functionAt(template, 'WatchdogFunction')).toMatchObject({ Runtime: 'nodejs22.x' });
    expect(functionAt(template, 'WatchdogFunction').VpcConfig).toBeUndefined();
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles.every((role) => role.Properties.ManagedPolicyArns === undefined)).toBe(true);
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('warn about isolated subnets without endpoints, and not with LeaseGuardEndpoints', () => {
    const warnings = (endpoints: boolean) => {
      const { stack } = deployed((stack, vpc) => {
        if (endpoints) new LeaseGuardEndpoints(stack, 'Endpoints', { vpc, forLeaseTable: true });
        return { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } };
      });
      return Annotations.fromStack(stack)
        .findWarning('*', Match.stringLikeRegexp('isolated subnets'))
        .map((warning) => `${warning.id}: ${JSON.stringify(warning.entry.data).slice(0, 160)}`);
    };
    expect(warnings(false)).toEqual([
      expect.stringMatching(/^\/Db\/Leases: .*The migration function .* rds-data, secretsmanager/),
      expect.stringMatching(/^\/Db\/Leases: .*The custom resource framework's function .* lambda, s3/),
      expect.stringMatching(/^\/Db\/Watchdog: .*The watchdog function .* rds-data, secretsmanager/),
    ]);
    expect(warnings(true)).toEqual([]);
  });

  it('fail on a runtime older than Node.js 22, and on logRetention given twice', () => {
    expect(() => deployed({ runtime: lambda.Runtime.NODEJS_20_X })).toThrow(
      /^Db\/Leases: functionOptions.runtime must be Node.js 22 or later .* got nodejs20.x/,
    );
    const stack = new Stack(templateApp(), 'Db', { env: { region: 'eu-west-1' } });
    const cluster = auroraCluster(stack, { defaultDatabaseName: 'app' });
    expect(
      () =>
        new LeaseTable(stack, 'Leases', {
          cluster,
          databaseName: 'app',
          logRetention: logs.RetentionDays.ONE_DAY,
          functionOptions: { logRetention: logs.RetentionDays.ONE_WEEK },
        }),
    ).toThrow(/give logRetention or functionOptions.logRetention, not both/);
  });
});

describe('LeaseTable: the secret and the extension layer', { timeout: 180_000 }, () => {
  it("encrypts the lease user's secret with your key, and reads it through the layer you give", () => {
    const stack = new Stack(templateApp(), 'Db', { env: { region: 'eu-west-1' } });
    const cluster = auroraCluster(stack, { defaultDatabaseName: 'app' });
    const key = new kms.Key(stack, 'SecretKey');
    new LeaseTable(stack, 'Leases', {
      cluster,
      databaseName: 'app',
      userSecretEncryptionKey: key,
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersionArn(LAYER_ARN),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecretKey'), 'Arn'] },
    });
    expect(functionAt(template, 'LeasesMigrateFunction')).toMatchObject({ Layers: [LAYER_ARN] });
  });

  it('uses the AWS-published extension by default, from aws-cdk-lib’s table of its regional ARNs', () => {
    const stack = new Stack(templateApp(), 'Db', { env: { region: 'eu-west-1' } });
    new LeaseTable(stack, 'Leases', {
      cluster: auroraCluster(stack, { defaultDatabaseName: 'app' }),
      databaseName: 'app',
    });
    const layers = functionAt(Template.fromStack(stack), 'LeasesMigrateFunction').Layers as string[];
    expect(layers).toHaveLength(1);
    expect(layers[0]).toMatch(
      /^arn:aws:lambda:eu-west-1:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/,
    );
  });
});
