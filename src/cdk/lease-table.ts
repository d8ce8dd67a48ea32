import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CustomResource, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../src/constants.js';
import { leaseUserGrantSql, MAX_USER_NAME_LENGTH } from '../../src/lease/grants.js';
import { createTableSql } from '../../src/lease/schema.js';
import { literalIdentifier } from './literal-identifier.js';
import { NODE_BUNDLING, NODE_RUNTIME } from './nodejs-bundling.js';

const MIGRATE_ENTRY = fileURLToPath(new URL('../../functions/lease-table-migrate.ts', import.meta.url));

export interface LeaseTableProps {
  /** The Aurora MySQL cluster, with the Data API enabled (`enableDataApi: true`). */
  readonly cluster: rds.IDatabaseCluster;

  /**
   * Credentials allowed to run DDL and create users: used only at deploy time.
   *
   * @default - the secret the cluster generated for its admin (`DatabaseCluster.secret`)
   */
  readonly adminSecret?: secretsmanager.ISecret;

  /** The database (schema) for the lease table; it must exist, e.g. the cluster's `defaultDatabaseName`. */
  readonly databaseName: string;

  /** @default 'lease_guard' */
  readonly tableName?: string;

  /**
   * Whether to create a database user that may only SELECT, INSERT and UPDATE the lease table, with
   * its own generated secret (`userSecret`), for guarded functions to run as instead of the admin.
   *
   * @default true
   */
  readonly createLeaseUser?: boolean;

  /** @default 'lease_guard' */
  readonly leaseUserName?: string;
}

/**
 * The lease table on an Aurora MySQL cluster, created or upgraded at deploy time through the Data
 * API by the library's own `migrate` (a custom resource), and optionally the least-privilege user
 * guarded functions run as. Deleting it leaves the table, its rows and the user in place.
 */
export class LeaseTable extends Construct {
  readonly cluster: rds.IDatabaseCluster;
  readonly databaseName: string;
  readonly tableName: string;
  /** The least-privilege user's credentials; give these to `GuardedSchedule`. Absent when `createLeaseUser` is false. */
  readonly userSecret?: rds.DatabaseSecret;
  /** The custom resource's onEvent function, which runs as the admin. */
  readonly migrateFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: LeaseTableProps) {
    super(scope, id);
    this.cluster = props.cluster;
    this.databaseName = literalIdentifier(props.databaseName, 'databaseName');
    this.tableName = literalIdentifier(props.tableName ?? DEFAULTS.table, 'tableName');
    const adminSecret = props.adminSecret ?? (props.cluster as { readonly secret?: secretsmanager.ISecret }).secret;
    if (!adminSecret) {
      throw new Error(
        'adminSecret is required: the cluster has no generated secret (an imported cluster, or credentials from an existing secret).',
      );
    }

    let grantSql = '';
    if (props.createLeaseUser ?? true) {
      const username = literalIdentifier(props.leaseUserName ?? 'lease_guard', 'leaseUserName');
      if (username.length > MAX_USER_NAME_LENGTH) {
        throw new Error(
          `leaseUserName must be at most ${MAX_USER_NAME_LENGTH} characters (the MySQL 8 limit), got ${username.length}.`,
        );
      }
      grantSql = leaseUserGrantSql({ user: username, database: this.databaseName, table: this.tableName });
      // RDS's default exclusions keep quotes, backslashes and @ out of the password.
      this.userSecret = new rds.DatabaseSecret(this, 'UserSecret', { username, masterSecret: adminSecret });
    }

    this.migrateFunction = new NodejsFunction(this, 'MigrateFunction', {
      entry: MIGRATE_ENTRY,
      runtime: NODE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Long enough for a paused Serverless v2 cluster to resume (~15–30 s) and a few DDL statements.
      timeout: Duration.minutes(5),
      description: `lease-guard: creates or upgrades ${this.databaseName}.${this.tableName}`,
      bundling: NODE_BUNDLING,
      // Serves the user's secret on localhost, so the function needs no Secrets Manager client.
      ...(this.userSecret
        ? {
            paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103),
          }
        : {}),
    });
    this.migrateFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['rds-data:ExecuteStatement'], resources: [props.cluster.clusterArn] }),
    );
    adminSecret.grantRead(this.migrateFunction);
    this.userSecret?.grantRead(this.migrateFunction);

    const provider = new cr.Provider(this, 'Provider', { onEventHandler: this.migrateFunction });
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::LeaseGuardTable',
      properties: {
        ResourceArn: props.cluster.clusterArn,
        AdminSecretArn: adminSecret.secretArn,
        Database: this.databaseName,
        Table: this.tableName,
        ...(this.userSecret ? { UserSecretArn: this.userSecret.secretArn } : {}),
        // A new library version with a different table or grant changes this, so the next deploy
        // runs the migration again (it adds the missing columns).
        Schema: createHash('sha256').update(createTableSql(this.tableName)).update(grantSql).digest('hex').slice(0, 16),
      },
    });
    // The Data API needs a running writer, not just the cluster resource.
    resource.node.addDependency(props.cluster);
  }
}
