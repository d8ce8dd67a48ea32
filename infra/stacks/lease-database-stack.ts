import { CfnOutput, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import { LeaseDatabase, LeaseTable, LeaseWatchdog } from 'lease-guard/cdk';

export interface LeaseDatabaseStackProps extends StackProps {
  /**
   * Let the cluster pause at 0 ACU after 5 idle minutes. Cheap for rare jobs, but the first call
   * after a pause waits for the resume (about 15 s; the middleware retries it within its budget).
   *
   * @default false (stays at 0.5 ACU)
   */
  readonly scaleToZero?: boolean;
}

/** The database name the cluster creates and the lease table lives in. */
export const LEASE_DATABASE = 'lease_guard';

/**
 * The primary region's Aurora Serverless v2 MySQL cluster with the Data API, and the lease table
 * with its least-privilege user. The VPC has no NAT gateway: nothing in it calls out, and guarded
 * functions reach the cluster through the Data API, which lives outside the VPC.
 */
export class LeaseDatabaseStack extends Stack {
  readonly cluster: rds.DatabaseCluster;
  readonly leaseTable: LeaseTable;
  /** The lease table as guarded functions in this region reach it: the cluster and the lease user. */
  readonly leaseDatabase: LeaseDatabase;
  /** Alarms when a job has completed no tick for too long, whichever region ran it. */
  readonly watchdog: LeaseWatchdog;
  private readonly clusterArnOutput: CfnOutput;
  private readonly leaseSecretArnOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: LeaseDatabaseStackProps = {}) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      // 3.10 is a long-term-support line of Aurora MySQL 3 (MySQL 8.0); scaling to 0 needs 3.08+.
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_3 }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: props.scaleToZero ? 0 : 0.5,
      serverlessV2MaxCapacity: 2,
      enableDataApi: true,
      defaultDatabaseName: LEASE_DATABASE,
      storageEncrypted: true,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    acknowledgeExampleFindings(vpc, this.cluster);
    this.leaseTable = new LeaseTable(this, 'LeaseTable', { cluster: this.cluster, databaseName: LEASE_DATABASE });
    this.leaseDatabase = this.leaseTable.leaseDatabase;
    this.watchdog = new LeaseWatchdog(this, 'Watchdog', { database: this.leaseDatabase });
    // Both example jobs tick every 5 minutes; 3 periods without a completion anywhere is an alarm.
    for (const job of ['nightly-report', 'leader-sync']) {
      this.watchdog.watch(job, { period: Duration.minutes(5), periods: 3 });
    }

    this.clusterArnOutput = new CfnOutput(this, 'ClusterArn', { value: this.cluster.clusterArn });
    this.leaseSecretArnOutput = new CfnOutput(this, 'LeaseSecretArn', { value: this.leaseDatabase.secretArn });
  }

  /**
   * The database as a stack in another region sees it. CDK refuses a cross-region reference to a
   * secret (its ARN ends in a random suffix, so it cannot be rebuilt from a name), so the ARNs go
   * through this stack's outputs and CloudFormation's `Fn::GetStackOutput`, resolved at deploy time:
   * no custom resource, no SSM parameter, and it synthesises offline. The reading stack deploys
   * after this one; if an ARN ever changes, deploy the reading stacks again.
   */
  referenceFrom(consumer: Stack): LeaseDatabase {
    consumer.addStackDependency(this, 'reads the lease database ARNs from its outputs');
    const output = (cfnOutput: CfnOutput) =>
      Fn.getStackOutput(this.stackName, this.resolve(cfnOutput.logicalId) as string, this.region);
    return LeaseDatabase.fromArns({
      clusterArn: output(this.clusterArnOutput),
      secretArn: output(this.leaseSecretArnOutput),
      region: this.region,
      databaseName: this.leaseDatabase.databaseName,
      tableName: this.leaseDatabase.tableName,
    });
  }
}

/**
 * cdk-nag (AwsSolutions) findings on the example's own VPC and cluster, acknowledged with reasons.
 * A production database stack would more likely fix several of them (deletion protection, rotation).
 */
function acknowledgeExampleFindings(vpc: ec2.Vpc, cluster: rds.DatabaseCluster): void {
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
    'The lease table is operational state, rebuilt by the next claims; point-in-time restore covers the rest.',
  );
  acknowledge(
    cluster,
    'AwsSolutions-SMG4',
    'The admin secret is used only at deploy time by the migration; rotating it needs a rotation function with a network path to the cluster, which this example leaves out.',
  );
}
