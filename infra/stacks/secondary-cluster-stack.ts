import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import {
  acknowledgeExampleFindings,
  clusterIdentifier,
  ENGINE_VERSION,
  GLOBAL_CLUSTER_ID,
  type LeaseDatabaseStack,
  requireExplicitRegion,
  scaling,
} from './lease-database-stack.js';

export interface SecondaryClusterStackProps extends StackProps {
  /** The primary region's stack, whose global database this cluster joins. */
  readonly primary: LeaseDatabaseStack;
  /** @default false */
  readonly scaleToZero?: boolean;
}

/**
 * The global database's secondary cluster, in its own region: read-only until promoted, with the
 * Data API enabled so guarded functions can claim through it once it is the writer. It is a
 * CloudFormation resource rather than the L2 `DatabaseCluster`, which always gives a cluster master
 * credentials: a secondary has none of its own (the users, the lease user included, replicate from
 * the primary). Its one Serverless v2 instance serves the Data API after a promotion.
 */
export class SecondaryClusterStack extends Stack {
  readonly cluster: rds.CfnDBCluster;

  constructor(scope: Construct, id: string, props: SecondaryClusterStackProps) {
    super(scope, id, props);
    requireExplicitRegion(this);
    if (this.region !== props.primary.secondaryRegion) {
      throw new Error(
        `${this.node.path}: this stack is in ${this.region} but ${props.primary.node.path} names ${props.primary.secondaryRegion} as the secondary region (its secret replica and the functions' cluster list); deploy it there or change secondaryRegion.`,
      );
    }
    // The global cluster must exist, with its primary, before a secondary can join it.
    this.addStackDependency(props.primary, 'joins the global database the primary stack creates');
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    const subnets = new rds.CfnDBSubnetGroup(this, 'Subnets', {
      dbSubnetGroupDescription: 'lease-guard example: the secondary cluster, isolated subnets',
      subnetIds: vpc.isolatedSubnets.map((subnet) => subnet.subnetId),
    });
    // No ingress rule and no egress: clients use the Data API, and the cluster calls nothing.
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'lease-guard example: the secondary cluster, no network clients',
      allowAllOutbound: false,
    });
    const capacity = scaling(props.scaleToZero);
    this.cluster = new rds.CfnDBCluster(this, 'Cluster', {
      dbClusterIdentifier: clusterIdentifier(this.region),
      globalClusterIdentifier: GLOBAL_CLUSTER_ID,
      engine: 'aurora-mysql',
      engineVersion: ENGINE_VERSION.auroraMysqlFullVersion,
      enableHttpEndpoint: true,
      // Without KmsKeyId, the region's aws/rds key.
      storageEncrypted: true,
      serverlessV2ScalingConfiguration: { minCapacity: capacity.min, maxCapacity: capacity.max },
      dbSubnetGroupName: subnets.ref,
      vpcSecurityGroupIds: [securityGroup.securityGroupId],
      copyTagsToSnapshot: true,
    });
    // Its data is a copy of the primary's, which keeps a final snapshot when destroyed.
    this.cluster.applyRemovalPolicy(RemovalPolicy.DESTROY);
    const instance = new rds.CfnDBInstance(this, 'Instance', {
      dbClusterIdentifier: this.cluster.ref,
      dbInstanceClass: 'db.serverless',
      engine: 'aurora-mysql',
      publiclyAccessible: false,
    });
    instance.applyRemovalPolicy(RemovalPolicy.DESTROY);
    acknowledgeExampleFindings(vpc, this.cluster);
  }
}
