import type { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';

/** The Aurora MySQL 3 cluster the construct tests build on: one Serverless v2 writer in isolated subnets. */
export function auroraCluster(
  stack: Stack,
  { enableDataApi = true, defaultDatabaseName }: { enableDataApi?: boolean; defaultDatabaseName?: string } = {},
): rds.DatabaseCluster {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    natGateways: 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  return new rds.DatabaseCluster(stack, 'Cluster', {
    engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_3 }),
    writer: rds.ClusterInstance.serverlessV2('Writer'),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    enableDataApi,
    ...(defaultDatabaseName === undefined ? {} : { defaultDatabaseName }),
  });
}
