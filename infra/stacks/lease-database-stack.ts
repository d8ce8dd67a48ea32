import { ArnFormat, CfnOutput, Duration, Fn, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import { LeaseDatabase, LeaseTable, LeaseWatchdog } from 'lease-guard/cdk';

export interface LeaseDatabaseStackProps extends StackProps {
  /** The region of the global database's secondary cluster (`SecondaryClusterStack`). */
  readonly secondaryRegion: string;
  /**
   * Let the clusters pause at 0 ACU after 5 idle minutes. Cheap for rare jobs, but the first call
   * after a pause waits for the resume (about 15 s; the middleware retries it within its budget).
   *
   * @default false (stays at 0.5 ACU)
   */
  readonly scaleToZero?: boolean;
}

/** The database name the cluster creates and the lease table lives in. */
export const LEASE_DATABASE = 'lease_guard';
/** Both clusters run this engine version; a global database's clusters must agree on it. */
export const ENGINE_VERSION = rds.AuroraMysqlEngineVersion.VER_3_10_3;
/**
 * The global database's fixed name (unique per account). Fixed names let every stack build the
 * clusters' ARNs itself (`clusterArn`) instead of reading them from another region at deploy time.
 */
export const GLOBAL_CLUSTER_ID = 'lease-guard-example';
/** A cluster's fixed identifier in its region (unique per account and region). */
export const clusterIdentifier = (region: string): string => `${GLOBAL_CLUSTER_ID}-${region}`;

/** The ARN of the example's cluster in `region`, for a stack in the same account. */
export function clusterArn(scope: Stack, region: string): string {
  return scope.formatArn({
    service: 'rds',
    region,
    resource: 'cluster',
    resourceName: clusterIdentifier(region),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The clusters' names and ARNs are built from the regions, so they must be literal. */
export function requireExplicitRegion(stack: Stack, ...regions: string[]): void {
  for (const region of [stack.region, ...regions]) {
    if (Token.isUnresolved(region) || region === '') {
      throw new Error(
        `${stack.node.path}: give the stack env.region, and the secondary region, as literal region names: the global database's cluster names and ARNs are built from them.`,
      );
    }
  }
}

/** Serverless v2 capacity of both clusters. */
export const scaling = (scaleToZero: boolean | undefined) => ({ min: scaleToZero ? 0 : 0.5, max: 2 });

/**
 * The primary region of an Aurora Global Database: the global cluster, the primary Aurora
 * Serverless v2 MySQL cluster with the Data API, and the lease table with its least-privilege user,
 * whose secret is replicated to the secondary region. The secondary cluster is `SecondaryClusterStack`.
 * The VPC has no NAT gateway: nothing in it calls out, and guarded functions reach the clusters
 * through the Data API, which lives outside the VPC.
 */
export class LeaseDatabaseStack extends Stack {
  readonly globalCluster: rds.CfnGlobalCluster;
  readonly cluster: rds.DatabaseCluster;
  readonly leaseTable: LeaseTable;
  readonly secondaryRegion: string;
  /** Alarms when a job has completed no tick for too long, whichever region ran it. */
  readonly watchdog: LeaseWatchdog;
  private readonly leaseSecretArnOutput: CfnOutput;
  private readonly secondaryLeaseSecretArnOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: LeaseDatabaseStackProps) {
    super(scope, id, props);
    this.secondaryRegion = props.secondaryRegion;
    requireExplicitRegion(this, this.secondaryRegion);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    // Created empty with the engine and version; the primary cluster joins it.
    this.globalCluster = new rds.CfnGlobalCluster(this, 'GlobalCluster', {
      globalClusterIdentifier: GLOBAL_CLUSTER_ID,
      engine: 'aurora-mysql',
      engineVersion: ENGINE_VERSION.auroraMysqlFullVersion,
      storageEncrypted: true,
    });
    const capacity = scaling(props.scaleToZero);
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier: clusterIdentifier(this.region),
      // 3.10 is a long-term-support line of Aurora MySQL 3 (MySQL 8.0); scaling to 0 needs 3.08+.
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: ENGINE_VERSION }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: capacity.min,
      serverlessV2MaxCapacity: capacity.max,
      enableDataApi: true,
      defaultDatabaseName: LEASE_DATABASE,
      storageEncrypted: true,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    // The L2 cluster has no global database prop: set it on the CloudFormation resource. The Ref
    // also orders the two: the global cluster first, and on delete the primary leaves it first.
    (this.cluster.node.defaultChild as rds.CfnDBCluster).globalClusterIdentifier = this.globalCluster.ref;
    acknowledgeExampleFindings(vpc, this.cluster);
    acknowledgeAdminSecret(this.cluster);
    // The table and the user are created on the primary; storage replication copies both.
    this.leaseTable = new LeaseTable(this, 'LeaseTable', {
      cluster: this.cluster,
      databaseName: LEASE_DATABASE,
      userSecretReplicaRegions: [this.secondaryRegion],
    });
    this.watchdog = new LeaseWatchdog(this, 'Watchdog', { database: this.leaseDatabaseFor(this) });
    // Both example jobs tick every 5 minutes; 3 periods without a completion anywhere is an alarm.
    for (const job of ['nightly-report', 'leader-sync']) {
      this.watchdog.watch(job, { period: Duration.minutes(5), periods: 3 });
    }

    new CfnOutput(this, 'ClusterArn', { value: this.cluster.clusterArn });
    this.leaseSecretArnOutput = new CfnOutput(this, 'LeaseSecretArn', {
      value: this.leaseTable.userSecretArnIn(this.region),
    });
    new CfnOutput(this, 'SecondaryClusterArn', { value: clusterArn(this, this.secondaryRegion) });
    this.secondaryLeaseSecretArnOutput = new CfnOutput(this, 'SecondaryLeaseSecretArn', {
      value: this.leaseTable.userSecretArnIn(this.secondaryRegion),
    });
  }

  /**
   * The global database as guarded functions in `consumer` reach it: the primary cluster with the
   * lease user's secret, then the secondary cluster with the secret's replica in its region. The
   * cluster ARNs are built from their fixed identifiers. The secret ARNs end in a random suffix, so
   * nothing can rebuild them: in this region they are references, elsewhere this stack's outputs
   * read with CloudFormation's `Fn::GetStackOutput` at deploy time (CDK refuses a cross-region
   * reference to a secret); no custom resource, no SSM parameter, and it synthesises offline. A
   * reading stack in another region deploys after this one; if an ARN ever changes, deploy the
   * reading stacks again.
   */
  leaseDatabaseFor(consumer: Stack): LeaseDatabase {
    const here = consumer.region === this.region;
    if (!here) consumer.addStackDependency(this, 'reads the lease secret ARNs from its outputs');
    const output = (cfnOutput: CfnOutput) =>
      Fn.getStackOutput(this.stackName, this.resolve(cfnOutput.logicalId) as string, this.region);
    const table = { databaseName: this.leaseTable.databaseName, tableName: this.leaseTable.tableName };
    const primary = here
      ? this.leaseTable.leaseDatabase
      : LeaseDatabase.fromArns({
          clusterArn: clusterArn(consumer, this.region),
          secretArn: output(this.leaseSecretArnOutput),
          region: this.region,
          ...table,
        });
    const secondary = LeaseDatabase.fromArns({
      clusterArn: clusterArn(consumer, this.secondaryRegion),
      secretArn: here
        ? this.leaseTable.userSecretArnIn(this.secondaryRegion)
        : output(this.secondaryLeaseSecretArnOutput),
      region: this.secondaryRegion,
      ...table,
    });
    return LeaseDatabase.global(primary, [secondary]);
  }
}

/**
 * cdk-nag (AwsSolutions) findings on the example's own VPC and clusters (primary and secondary),
 * acknowledged with reasons. A production database would more likely fix several of them
 * (deletion protection, rotation).
 */
export function acknowledgeExampleFindings(vpc: Construct, cluster: Construct): void {
  const acknowledge = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  acknowledge(
    vpc,
    'AwsSolutions-VPC7',
    'Isolated subnets only, no NAT, no internet gateway, nothing in the VPC but the cluster: there is no traffic flow to log.',
  );
  acknowledge(
    cluster,
    'AwsSolutions-RDS6',
    'Nothing connects to the cluster over the network: lease-guard uses the Data API with Secrets Manager credentials.',
  );
  acknowledge(
    cluster,
    'AwsSolutions-RDS10',
    'An example meant to be destroyed with cdk destroy; enable deletion protection for real data.',
  );
  acknowledge(
    cluster,
    'AwsSolutions-RDS11',
    'The port is unreachable anyway: isolated subnets and no ingress rule; clients use the Data API.',
  );
  acknowledge(
    cluster,
    'AwsSolutions-RDS14',
    'Aurora Global Database does not support Backtrack; the lease table is operational state, rebuilt by the next claims, and point-in-time restore covers the rest.',
  );
}

function acknowledgeAdminSecret(cluster: rds.DatabaseCluster): void {
  Validations.of(cluster).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The admin secret is used only at deploy time by the migration; rotating it needs a rotation function with a network path to the cluster, which this example leaves out.',
  });
}
