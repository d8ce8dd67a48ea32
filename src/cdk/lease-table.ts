import { createHash } from 'node:crypto';
import { CustomResource, Duration, Fn, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { leaseUserGrantSql, MAX_USER_NAME_LENGTH } from '../lease/grants.js';
import { createTableSql } from '../lease/schema.js';
import { LeaseDatabase } from './database.js';
import { constructError } from './errors.js';
import {
  configureProviderFunction,
  createHandlerFunction,
  DATA_API_SERVICES,
  type LeaseGuardFunctionOptions,
  providerOptions,
  warnIfIsolated,
} from './function-options.js';
import { handlerCode } from './handler-code.js';
import { literalIdentifier } from './literal-identifier.js';
import {
  acknowledgeFunction,
  acknowledgeLeaseUserSecret,
  acknowledgeProvider,
  acknowledgeSynchronousFunction,
} from './nag.js';

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
   * A user of that name that already exists gets the new password, and any privileges beyond those
   * three are revoked.
   *
   * @default true
   */
  readonly createLeaseUser?: boolean;

  /** @default 'lease_guard' */
  readonly leaseUserName?: string;

  /**
   * The customer-managed KMS key that encrypts the lease user's secret. Functions given
   * `leaseDatabase` get `kms:Decrypt` on it through Secrets Manager. Replicas
   * (`userSecretReplicaRegions`) use the AWS managed key of their region.
   *
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly userSecretEncryptionKey?: kms.IKey;

  /**
   * Regions to replicate the lease user's secret to: the secondary regions of an Aurora Global
   * Database, since the Data API on a secondary cluster reads credentials from its own region. The
   * replica's ARN is the secret's with the region changed (`userSecretArnIn`).
   *
   * @default - no replicas
   */
  readonly userSecretReplicaRegions?: readonly string[];

  /**
   * How long the migration function's logs are kept. Same as `functionOptions.logRetention`.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The migration function's and the custom resource framework function's settings: VPC, subnets
   * and security groups, tracing, runtime, reserved concurrency, dead-letter queue, environment key,
   * and their log groups' retention, key and removal policy. In subnets without NAT both functions
   * need VPC endpoints: `new LeaseGuardEndpoints(this, 'Endpoints', { vpc, forLeaseTable: true })`.
   *
   * @default - Node.js 22, no VPC, no tracing, logs kept a month and retained
   */
  readonly functionOptions?: LeaseGuardFunctionOptions;

  /**
   * The AWS Parameters and Secrets Lambda Extension layer the migration reads the lease user's
   * secret through (on localhost, with the function's own permissions, so the bundle carries no
   * Secrets Manager client). AWS publishes it in an AWS-owned account in each region;
   * `ParamsAndSecretsLayerVersion.fromVersion` looks that ARN up in aws-cdk-lib's table. Give
   * `ParamsAndSecretsLayerVersion.fromVersionArn(arn)` for a region or partition the table lacks, or
   * for a copy of the layer in your own account. Only used with `createLeaseUser`.
   *
   * @default lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103)
   */
  readonly paramsAndSecrets?: lambda.ParamsAndSecretsLayerVersion;
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
  /** The least-privilege user's credentials. Absent when `createLeaseUser` is false. */
  readonly userSecret?: rds.DatabaseSecret;
  /** The custom resource's onEvent function, which runs as the admin. */
  readonly migrateFunction: lambda.Function;
  private readonly replicaRegions: readonly string[];

  constructor(scope: Construct, id: string, props: LeaseTableProps) {
    super(scope, id);
    this.cluster = props.cluster;
    this.replicaRegions = props.userSecretReplicaRegions ?? [];
    this.databaseName = literalIdentifier(this, props.databaseName, 'databaseName');
    this.tableName = literalIdentifier(this, props.tableName ?? 'lease_guard', 'tableName');
    const adminSecret = props.adminSecret ?? (props.cluster as { readonly secret?: secretsmanager.ISecret }).secret;
    if (!adminSecret) {
      throw constructError(
        this,
        'adminSecret is required: the cluster has no generated secret (an imported cluster, or credentials from an existing secret). Pass the admin credentials as adminSecret.',
      );
    }
    const admin = LeaseDatabase.fromCluster(props.cluster, adminSecret, { databaseName: this.databaseName });
    this.node.addValidation({ validate: () => admin.dataApiErrors() });

    let grantSql = '';
    if (props.createLeaseUser ?? true) {
      const username = literalIdentifier(this, props.leaseUserName ?? 'lease_guard', 'leaseUserName');
      if (username.length > MAX_USER_NAME_LENGTH) {
        throw constructError(
          this,
          `leaseUserName must be at most ${MAX_USER_NAME_LENGTH} characters (the MySQL 8 limit), got ${username.length}.`,
        );
      }
      grantSql = leaseUserGrantSql({ user: username, database: this.databaseName, table: this.tableName });
      // RDS's default exclusions keep quotes, backslashes and @ out of the password.
      this.userSecret = new rds.DatabaseSecret(this, 'UserSecret', {
        username,
        masterSecret: adminSecret,
        encryptionKey: props.userSecretEncryptionKey,
        replicaRegions: props.userSecretReplicaRegions?.map((region) => ({ region })),
      });
      acknowledgeLeaseUserSecret(this.userSecret);
    }

    if (props.logRetention !== undefined && props.functionOptions?.logRetention !== undefined) {
      throw constructError(this, 'give logRetention or functionOptions.logRetention, not both.');
    }
    const options: LeaseGuardFunctionOptions = {
      ...props.functionOptions,
      logRetention: props.functionOptions?.logRetention ?? props.logRetention,
    };
    const migrate = createHandlerFunction(
      this,
      'MigrateFunction',
      options,
      {
        ...handlerCode('migrate'),
        // Long enough for a paused Serverless v2 cluster to resume (~15–30 s) and a few DDL statements.
        timeout: Duration.minutes(5),
        description: `lease-guard: creates or upgrades ${this.databaseName}.${this.tableName}`,
        // Serves the user's secret on localhost, so the function needs no Secrets Manager client.
        ...(this.userSecret
          ? {
              paramsAndSecrets:
                props.paramsAndSecrets ??
                lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103),
            }
          : {}),
      },
      'MigrateLogs',
    );
    this.migrateFunction = migrate.fn;
    admin.grantLeaseAccess(this.migrateFunction);
    this.userSecret?.grantRead(this.migrateFunction);
    acknowledgeFunction(this.migrateFunction, { runtimeChosenByUser: options.runtime !== undefined });
    acknowledgeSynchronousFunction(this.migrateFunction);
    warnIfIsolated(this, 'The migration function', options.vpc, options.vpcSubnets, DATA_API_SERVICES);

    const framework = providerOptions(this, options);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.migrateFunction,
      frameworkOnEventRole: framework.role,
      logGroup: framework.logGroup,
      vpc: framework.vpc,
      vpcSubnets: framework.vpcSubnets,
      securityGroups: framework.securityGroups,
      providerFunctionEnvEncryption: framework.providerFunctionEnvEncryption,
    });
    configureProviderFunction(provider, framework.role, framework.logGroup, options);
    acknowledgeProvider(provider, framework.role, this.migrateFunction);
    warnIfIsolated(this, "The custom resource framework's function", options.vpc, options.vpcSubnets, ['lambda', 's3']);
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
        // runs the migration again (it adds the missing columns, revokes what the user must not have).
        Schema: createHash('sha256').update(createTableSql(this.tableName)).update(grantSql).digest('hex').slice(0, 16),
      },
    });
    // The Data API needs a running writer, not just the cluster resource.
    resource.node.addDependency(props.cluster);
  }

  /**
   * The lease table as guarded functions use it: the cluster and the least-privilege user's secret.
   * Give it to `GuardedSchedule` and `LeaseWatchdog` in this region; elsewhere use
   * `LeaseDatabase.fromArns`.
   */
  get leaseDatabase(): LeaseDatabase {
    if (!this.userSecret) {
      throw constructError(
        this,
        'there is no lease user (createLeaseUser is false): build the LeaseDatabase yourself with LeaseDatabase.fromCluster(cluster, secret, { databaseName, tableName }).',
      );
    }
    return LeaseDatabase.fromCluster(this.cluster, this.userSecret, {
      databaseName: this.databaseName,
      tableName: this.tableName,
    });
  }

  /**
   * The ARN of the lease user's secret in `region`, this stack's or one of
   * `userSecretReplicaRegions`: a replica keeps the name and the six-character suffix, only the
   * region differs. A token; use it in this stack or a stack of the same region.
   */
  userSecretArnIn(region: string): string {
    const here = Stack.of(this).region;
    if (!this.userSecret) throw constructError(this, 'there is no lease user (createLeaseUser is false).');
    if (region === here) return this.userSecret.secretArn;
    if (!this.replicaRegions.includes(region)) {
      throw constructError(
        this,
        `the lease user's secret has no replica in ${region}: add it to userSecretReplicaRegions (replicas: ${this.replicaRegions.join(', ') || 'none'}).`,
      );
    }
    // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<suffix>; names hold no colon.
    const parts = Fn.split(':', this.userSecret.secretArn, 7);
    return Fn.join(':', [parts[0], parts[1], parts[2], region, parts[4], parts[5], parts[6]] as string[]);
  }

  /** Lets `grantee` run statements as the lease user (see `LeaseDatabase.grantLeaseAccess`). */
  grantLeaseAccess(grantee: iam.IGrantable): iam.Grant {
    return this.leaseDatabase.grantLeaseAccess(grantee);
  }
}
