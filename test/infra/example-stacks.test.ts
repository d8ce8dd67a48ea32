/**
 * The example app's stacks (infra/): an Aurora Global Database, the primary cluster in us-east-1 and
 * a secondary in eu-west-1, and the same guarded jobs in both regions, each given both clusters.
 */
import { readFileSync } from 'node:fs';
import { App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { GuardedJobsStack } from '../../infra/stacks/guarded-jobs-stack.js';
import { LeaseDatabaseStack } from '../../infra/stacks/lease-database-stack.js';
import { SecondaryClusterStack } from '../../infra/stacks/secondary-cluster-stack.js';
import { LEASE_ENV } from '../../src/constants.js';
import { parseClusters } from '../../src/sql/cluster-settings.js';

/** The feature flags the CLI gives the app, so the stacks here are built as `cdk synth` builds them. */
const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };

/**
 * The example app's stacks, built once per setting: every test here only reads them, and each
 * synthesis of a stack synthesises the whole four-stack app.
 */
const apps = new Map<boolean, ReturnType<typeof buildExampleApp>>();
function exampleApp(scaleToZero = false): ReturnType<typeof buildExampleApp> {
  let app = apps.get(scaleToZero);
  if (!app) {
    app = buildExampleApp(scaleToZero);
    apps.set(scaleToZero, app);
  }
  return app;
}

/** Each stack's template, synthesised once. */
const templates = new WeakMap<Stack, Template>();
function templateOf(stack: Stack): Template {
  let template = templates.get(stack);
  if (!template) {
    template = Template.fromStack(stack);
    templates.set(stack, template);
  }
  return template;
}

/** The example app's stacks, built in process with bundling skipped (the CLI synth test bundles). */
function buildExampleApp(scaleToZero: boolean): {
  database: LeaseDatabaseStack;
  secondary: SecondaryClusterStack;
  home: GuardedJobsStack;
  away: GuardedJobsStack;
} {
  // cdk.json's context makes CloudFormation validation errors fail the synth, for each variant of the app.
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const database = new LeaseDatabaseStack(app, 'Database', {
    env: { region: 'us-east-1' },
    secondaryRegion: 'eu-west-1',
    scaleToZero,
  });
  const secondary = new SecondaryClusterStack(app, 'Secondary', {
    env: { region: 'eu-west-1' },
    primary: database,
    scaleToZero,
  });
  const home = new GuardedJobsStack(app, 'JobsHome', { env: { region: 'us-east-1' }, database, secondary });
  const away = new GuardedJobsStack(app, 'JobsAway', { env: { region: 'eu-west-1' }, database, secondary });
  return { database, secondary, home, away };
}

const ACCOUNT = '123456789012';
const clusterArn = (region: string) => `arn:aws:rds:${region}:${ACCOUNT}:cluster:lease-guard-example-${region}`;
/** What a deploy would make of a secret's Ref: its ARN, with a made-up suffix. */
const secretArn = (region: string, logicalId: string) =>
  `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${logicalId}-AbC123`;

type Json = unknown;
interface Deployed {
  readonly template: {
    Resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
    Outputs?: Record<string, { Value: Json }>;
  };
  readonly region: string;
}

/**
 * Evaluates a template value as CloudFormation would in an account: pseudo parameters, a secret's
 * Ref (its ARN), a cluster's Ref (its identifier), Fn::Join / Fn::Split / Fn::Select, and Fn::GetStackOutput, read from the other
 * stack's template. So the assertions below check the ARNs the functions get, not the shape of the
 * expressions that build them.
 */
function evaluate(value: Json, at: Deployed, stacks: Record<string, Deployed>): Json {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => evaluate(item, at, stacks));
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new Error(`not an intrinsic: ${JSON.stringify(value)}`);
  const [fn, arg] = entries[0] as [string, Json];
  switch (fn) {
    case 'Ref': {
      if (arg === 'AWS::AccountId') return ACCOUNT;
      if (arg === 'AWS::Partition') return 'aws';
      if (arg === 'AWS::Region') return at.region;
      const resource = at.template.Resources[arg as string];
      if (resource?.Type === 'AWS::SecretsManager::Secret') return secretArn(at.region, arg as string);
      // A cluster's Ref is its identifier.
      if (resource?.Type === 'AWS::RDS::DBCluster')
        return evaluate(resource.Properties?.DBClusterIdentifier, at, stacks);
      return `ref:${String(arg)}`;
    }
    case 'Fn::Join': {
      const [separator, items] = arg as [string, Json[]];
      return (evaluate(items, at, stacks) as string[]).join(separator);
    }
    case 'Fn::Split': {
      const [separator, text] = arg as [string, Json];
      return (evaluate(text, at, stacks) as string).split(separator);
    }
    case 'Fn::Select': {
      const [index, items] = arg as [number, Json];
      return (evaluate(items, at, stacks) as Json[])[index];
    }
    case 'Fn::GetStackOutput': {
      const { StackName, OutputName } = arg as { StackName: string; OutputName: string };
      const source = stacks[StackName];
      const output = source?.template.Outputs?.[OutputName];
      if (!source || !output) throw new Error(`no output ${OutputName} in ${StackName}`);
      return evaluate(output.Value, source, stacks);
    }
    default:
      return `${fn}:${JSON.stringify(arg)}`;
  }
}

/** Every stack of the app as deployed templates, by stack name, and an evaluator in `stack`. */
function deployed(stacks: Stack[]): (stack: Stack, value: Json) => Json {
  const byName = Object.fromEntries(
    stacks.map((stack) => [
      stack.stackName,
      { template: templateOf(stack).toJSON() as Deployed['template'], region: stack.region },
    ]),
  );
  return (stack, value) => evaluate(value, byName[stack.stackName] as Deployed, byName);
}

/** The lease user's secret in the primary stack: the one replicated to the secondary region. */
function leaseUserSecretId(database: Stack): string {
  const secrets = templateOf(database).findResources('AWS::SecretsManager::Secret', {
    Properties: { ReplicaRegions: [{ Region: 'eu-west-1' }] },
  });
  expect(Object.keys(secrets)).toHaveLength(1);
  return Object.keys(secrets)[0] as string;
}

// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe('example stacks', { timeout: 180_000 }, () => {
  it('defines the global database and its primary: Aurora Serverless v2 MySQL 3 with the Data API, in a VPC without NAT gateways', () => {
    const template = templateOf(exampleApp().database);
    template.hasResourceProperties('AWS::RDS::GlobalCluster', {
      GlobalClusterIdentifier: 'lease-guard-example',
      Engine: 'aurora-mysql',
      EngineVersion: '8.0.mysql_aurora.3.10.3',
      StorageEncrypted: true,
    });
    const [globalId] = Object.keys(template.findResources('AWS::RDS::GlobalCluster'));
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterIdentifier: 'lease-guard-example-us-east-1',
      GlobalClusterIdentifier: { Ref: globalId },
      Engine: 'aurora-mysql',
      EngineVersion: '8.0.mysql_aurora.3.10.3',
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

  it("replicates the lease user's secret to the secondary region", () => {
    const { database } = exampleApp();
    const id = leaseUserSecretId(database);
    // The table's custom resource names that secret as the lease user's.
    templateOf(database).hasResourceProperties('Custom::LeaseGuardTable', { UserSecretArn: { Ref: id } });
  });

  it('attaches a secondary cluster in the second region, with the Data API and no credentials of its own', () => {
    const { database, secondary } = exampleApp();
    const template = templateOf(secondary);
    template.resourceCountIs('AWS::RDS::DBCluster', 1);
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterIdentifier: 'lease-guard-example-eu-west-1',
      GlobalClusterIdentifier: 'lease-guard-example',
      Engine: 'aurora-mysql',
      EngineVersion: '8.0.mysql_aurora.3.10.3',
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 2 },
      MasterUsername: Match.absent(),
      MasterUserPassword: Match.absent(),
      ManageMasterUserPassword: Match.absent(),
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.serverless',
      Engine: 'aurora-mysql',
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    // The global cluster and its primary exist before the secondary joins.
    expect(secondary.dependencies).toContain(database);
  });

  it("watches both jobs from the database's region: the watchdog reads the table and alarms on their lag", () => {
    const template = templateOf(exampleApp().database);
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

  it('lets both clusters scale to zero when asked', () => {
    const { database, secondary } = exampleApp(true);
    for (const stack of [database, secondary]) {
      templateOf(stack).hasResourceProperties('AWS::RDS::DBCluster', {
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2 },
      });
    }
  });

  it('deploys both jobs in each region, the report per tick and the sync with affinity', () => {
    const { home, away } = exampleApp();
    for (const stack of [home, away]) {
      const template = templateOf(stack);
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

  it('gives every guarded function in both regions, and the watchdog, both clusters: the primary first, each with the secret in its own region', () => {
    const { database, secondary, home, away } = exampleApp();
    const evaluateIn = deployed([database, secondary, home, away]);
    const userSecret = leaseUserSecretId(database);
    const expected = [
      { resourceArn: clusterArn('us-east-1'), secretArn: secretArn('us-east-1', userSecret), region: 'us-east-1' },
      { resourceArn: clusterArn('eu-west-1'), secretArn: secretArn('eu-west-1', userSecret), region: 'eu-west-1' },
    ];
    for (const [stack, count] of [
      [home, 2],
      [away, 2],
      [database, 1],
    ] as const) {
      const functions = Object.values(templateOf(stack).findResources('AWS::Lambda::Function'))
        .map((fn) => fn.Properties.Environment?.Variables ?? {})
        .filter((vars) => vars[LEASE_ENV.CLUSTERS] !== undefined);
      expect(functions, stack.stackName).toHaveLength(count);
      for (const vars of functions) {
        const clusters = evaluateIn(stack, vars[LEASE_ENV.CLUSTERS]) as string;
        // What the guard reads at cold start, checked by the guard's own parser.
        expect(parseClusters(clusters, LEASE_ENV.CLUSTERS), stack.stackName).toEqual(expected);
        expect(vars[LEASE_ENV.RESOURCE_ARN]).toBeUndefined();
        expect(vars[LEASE_ENV.REGION]).toBeUndefined();
        expect(vars[LEASE_ENV.DATABASE]).toBe('lease_guard');
      }
    }
  });

  it('lets the functions in both regions call the Data API on both clusters and read both secrets', () => {
    const { database, secondary, home, away } = exampleApp();
    const evaluateIn = deployed([database, secondary, home, away]);
    const userSecret = leaseUserSecretId(database);
    for (const stack of [home, away]) {
      // Function roles hold one customer-managed policy; other roles keep CDK's inline default policy.
      const statements = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap((type) =>
        Object.values(templateOf(stack).findResources(type)).flatMap(
          (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
        ),
      );
      const resourcesOf = (action: string) => [
        ...new Set(
          statements
            .filter((s) => [s.Action].flat().includes(action))
            .flatMap((s) => [s.Resource].flat().map((resource) => evaluateIn(stack, resource))),
        ),
      ];
      expect(resourcesOf('rds-data:ExecuteStatement').sort(), stack.stackName).toEqual(
        [clusterArn('us-east-1'), clusterArn('eu-west-1')].sort(),
      );
      expect(resourcesOf('secretsmanager:GetSecretValue').sort(), stack.stackName).toEqual(
        [secretArn('us-east-1', userSecret), secretArn('eu-west-1', userSecret)].sort(),
      );
    }
  });

  it("reads the secrets' ARNs in another region from the database stack's outputs, and deploys after both clusters", () => {
    const { database, secondary, home, away } = exampleApp();
    const clusters = JSON.stringify(
      templateOf(away).findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { [LEASE_ENV.JOB]: 'nightly-report' } } },
      }),
    );
    const outputsRead = [...clusters.matchAll(/\{"Fn::GetStackOutput":(\{[^}]*\})\}/g)].map(
      ([, arg]) => JSON.parse(arg as string) as Record<string, string>,
    );
    expect(outputsRead).toEqual(
      expect.arrayContaining(
        ['LeaseSecretArn', 'SecondaryLeaseSecretArn'].map((OutputName) => ({
          StackName: 'Database',
          OutputName,
          Region: 'us-east-1',
        })),
      ),
    );
    const outputs = templateOf(database).toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ClusterArn', 'LeaseSecretArn', 'SecondaryClusterArn', 'SecondaryLeaseSecretArn']),
    );
    expect(away.dependencies).toEqual(expect.arrayContaining([database, secondary]));
    expect(home.dependencies).toEqual(expect.arrayContaining([database, secondary]));
  });
});
