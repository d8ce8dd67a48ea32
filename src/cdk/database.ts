import { Arn, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { constructError } from './errors.js';
import { literalIdentifier } from './literal-identifier.js';

/** Where the lease table lives: the database (schema) and the table in it. */
export interface LeaseDatabaseOptions {
  /** The database (schema) that holds the lease table. */
  readonly databaseName: string;
  /** @default 'lease_guard' */
  readonly tableName?: string;
}

/** A lease database known only by its ARNs: a cluster in another stack, region or account. */
export interface LeaseDatabaseArns extends LeaseDatabaseOptions {
  /** The Aurora cluster's ARN, `arn:aws:rds:<region>:<account>:cluster:<id>`. */
  readonly clusterArn: string;
  /** The complete ARN (with its six-character suffix) of the credentials the statements run as. */
  readonly secretArn: string;
  /**
   * The cluster's region. Required when `clusterArn` is a token (e.g. read from another stack's
   * outputs), since the region cannot then be read from it.
   *
   * @default - the region in `clusterArn`
   */
  readonly region?: string;
  /**
   * The ARN of the customer-managed KMS key that encrypts the secret, for a secret not encrypted
   * with `aws/secretsmanager`. Grants get `kms:Decrypt` on it, only through Secrets Manager in the
   * secret's region (the key may be in another region than the function).
   *
   * @default - the secret uses the AWS managed key
   */
  readonly secretEncryptionKeyArn?: string;
}

const CLUSTER_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[A-Za-z][A-Za-z0-9-]*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/;

/**
 * The lease table a guarded function uses: the cluster, the credentials its statements run as, the
 * database and the table. One value, from constructs in this region (`fromCluster`) or from ARNs
 * (`fromArns`), given to `GuardedSchedule`, `LeaseWatchdog` or `grantLeaseAccess`.
 */
export class LeaseDatabase {
  /** A cluster and a secret defined in this app, in the same region as the functions that use them. */
  static fromCluster(
    cluster: rds.IDatabaseCluster,
    secret: secretsmanager.ISecret,
    options: LeaseDatabaseOptions,
  ): LeaseDatabase {
    return new LeaseDatabase(
      cluster.clusterArn,
      secret.secretArn,
      options,
      Stack.of(cluster).region,
      cluster,
      secret,
      undefined,
    );
  }

  /** A cluster known by its ARNs: in another stack, region or account. */
  static fromArns(arns: LeaseDatabaseArns): LeaseDatabase {
    // Read without Arn.split, which throws on a malformed ARN before check() can name the construct.
    const region =
      arns.region ??
      (Token.isUnresolved(arns.clusterArn) ? '' : (/^arn:[^:]+:rds:([^:]*):/.exec(arns.clusterArn)?.[1] ?? ''));
    return new LeaseDatabase(
      arns.clusterArn,
      arns.secretArn,
      arns,
      region,
      undefined,
      undefined,
      arns.secretEncryptionKeyArn,
    );
  }

  /**
   * An Aurora Global Database: the primary cluster's lease database and the secondary clusters',
   * each with its own secret in its own region (a replica of the lease user's secret), the same
   * database and table. Functions get every cluster, the primary first (LEASE_GUARD_CLUSTERS), and
   * access to all of them: after a failover they claim through the promoted one, fenced and
   * quarantined (README, guarantee 13). The Data API must be enabled on every cluster. The table is
   * created on the primary only (LeaseTable); it replicates.
   */
  static global(primary: LeaseDatabase, secondaries: readonly LeaseDatabase[]): LeaseDatabase {
    return new LeaseDatabase(
      primary.clusterArn,
      primary.secretArn,
      primary,
      primary.region,
      primary.cluster,
      primary.secret,
      primary.secretEncryptionKeyArn,
      [primary, ...secondaries],
    );
  }

  readonly databaseName: string;
  readonly tableName: string;

  private constructor(
    readonly clusterArn: string,
    readonly secretArn: string,
    options: LeaseDatabaseOptions,
    /** The cluster's region (a token when it cannot be known at synth time). */
    readonly region: string,
    /** The cluster construct, when given one (`fromCluster`). */
    readonly cluster: rds.IDatabaseCluster | undefined,
    /** The secret construct, when given one (`fromCluster`). */
    readonly secret: secretsmanager.ISecret | undefined,
    private readonly secretEncryptionKeyArn: string | undefined,
    /** A global database's clusters, the primary first; undefined for one cluster. */
    private readonly members?: readonly LeaseDatabase[],
  ) {
    this.databaseName = options.databaseName;
    this.tableName = options.tableName ?? DEFAULTS.table;
  }

  /**
   * Checks the names and ARNs for the construct that uses this database; throws an error naming
   * its path. Constructs call it in their constructor.
   */
  check(scope: IConstruct): void {
    if (this.members) {
      this.checkGlobal(scope, this.members);
      return;
    }
    literalIdentifier(scope, this.databaseName, 'databaseName');
    literalIdentifier(scope, this.tableName, 'tableName');
    if (this.cluster) {
      const here = Stack.of(scope).region;
      if (!Token.isUnresolved(here) && !Token.isUnresolved(this.region) && here !== this.region) {
        throw constructError(
          scope,
          `the cluster is in ${this.region} but this construct is in ${here}; use LeaseDatabase.fromArns({ clusterArn, secretArn, region }) for a cluster in another region.`,
        );
      }
      return;
    }
    const checkArn = (name: string, value: string | undefined, pattern: RegExp, what: string) => {
      if (value !== undefined && !Token.isUnresolved(value) && !pattern.test(value)) {
        throw constructError(scope, `${name} must be ${what}, got ${JSON.stringify(value)}.`);
      }
    };
    checkArn(
      'clusterArn',
      this.clusterArn,
      CLUSTER_ARN,
      'an Aurora cluster ARN (arn:aws:rds:<region>:<account>:cluster:<id>)',
    );
    checkArn(
      'secretArn',
      this.secretArn,
      SECRET_ARN,
      'a complete secret ARN, ending in the six-character suffix Secrets Manager adds',
    );
    checkArn(
      'secretEncryptionKeyArn',
      this.secretEncryptionKeyArn,
      KEY_ARN,
      'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
    );
    if (this.region === '') {
      throw constructError(
        scope,
        'the cluster region cannot be read from a clusterArn that is a token: pass region to LeaseDatabase.fromArns.',
      );
    }
    if (!Token.isUnresolved(this.clusterArn)) {
      const arnRegion = Arn.split(this.clusterArn, ArnFormat.COLON_RESOURCE_NAME).region;
      if (arnRegion !== this.region) {
        throw constructError(scope, `region is ${this.region} but clusterArn is in ${arnRegion}; they must agree.`);
      }
    }
  }

  private checkGlobal(scope: IConstruct, members: readonly LeaseDatabase[]): void {
    if (members.length < 2) {
      throw constructError(
        scope,
        'LeaseDatabase.global needs the primary and at least one secondary cluster; for one cluster use the primary alone.',
      );
    }
    const seen = new Set<string>();
    for (const member of members) {
      if (member.members)
        throw constructError(scope, 'LeaseDatabase.global takes single clusters, not another global one.');
      member.check(scope);
      if (member.databaseName !== this.databaseName || member.tableName !== this.tableName) {
        throw constructError(
          scope,
          `every cluster of a global database holds the same table: ${this.databaseName}.${this.tableName} on the primary, ${member.databaseName}.${member.tableName} on ${member.clusterArn}.`,
        );
      }
      if (!Token.isUnresolved(member.clusterArn)) {
        if (seen.has(member.clusterArn))
          throw constructError(scope, `the cluster ${member.clusterArn} is listed twice.`);
        seen.add(member.clusterArn);
      }
    }
  }

  /**
   * A synth-time check for a cluster defined in this app: the Data API must be enabled, since the
   * guarded functions and the migration reach the cluster only through it. Returns the errors.
   */
  dataApiErrors(): string[] {
    if (this.members) return this.members.flatMap((member) => member.dataApiErrors());
    const cfn = this.cluster?.node.defaultChild;
    // A cluster imported by attributes has no resource here and cannot be checked.
    if (!(cfn instanceof rds.CfnDBCluster) || Stack.of(cfn).resolve(cfn.enableHttpEndpoint) === true) return [];
    return [
      `the Data API is not enabled on the cluster ${this.cluster?.node.path}: set enableDataApi: true on the DatabaseCluster (lease-guard reaches it only through the Data API).`,
    ];
  }

  /** The `LEASE_GUARD_*` variables a function in `scope` needs to reach this lease table. */
  environment(scope: IConstruct): Record<string, string> {
    if (this.members) {
      const clusters = this.members.map((m) => ({
        resourceArn: m.clusterArn,
        secretArn: m.secretArn,
        region: m.region,
      }));
      return {
        [LEASE_ENV.CLUSTERS]: Stack.of(scope).toJsonString(clusters),
        [LEASE_ENV.DATABASE]: this.databaseName,
        [LEASE_ENV.TABLE]: this.tableName,
      };
    }
    const here = Stack.of(scope).region;
    const sameRegion = !Token.isUnresolved(here) && !Token.isUnresolved(this.region) && here === this.region;
    return {
      [LEASE_ENV.RESOURCE_ARN]: this.clusterArn,
      [LEASE_ENV.SECRET_ARN]: this.secretArn,
      [LEASE_ENV.DATABASE]: this.databaseName,
      [LEASE_ENV.TABLE]: this.tableName,
      // The SDK calls the Data API in the function's region unless told otherwise.
      ...(sameRegion ? {} : { [LEASE_ENV.REGION]: this.region }),
    };
  }

  /**
   * Lets `grantee` run statements on the cluster as the secret's user: `rds-data:ExecuteStatement`
   * on the one cluster and read on the one secret (and `kms:Decrypt` on its key through Secrets
   * Manager). IAM cannot restrict which SQL runs: the database user's grants are the real boundary.
   */
  grantLeaseAccess(grantee: iam.IGrantable): iam.Grant {
    if (this.members) {
      const [first, ...rest] = this.members.map((member) => member.grantLeaseAccess(grantee));
      return rest.reduce((all, grant) => all.combine(grant), first as iam.Grant);
    }
    const dataApi = iam.Grant.addToPrincipal({
      grantee,
      actions: ['rds-data:ExecuteStatement'],
      resourceArns: [this.clusterArn],
    });
    if (this.secret) return dataApi.combine(this.secret.grantRead(grantee));
    const secret = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [this.secretArn],
    });
    let grant = dataApi.combine(secret);
    if (this.secretEncryptionKeyArn) {
      const secretRegion = Token.isUnresolved(this.secretArn)
        ? this.region
        : Arn.split(this.secretArn, ArnFormat.COLON_RESOURCE_NAME).region;
      grant = grant.combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['kms:Decrypt'],
          resourceArns: [this.secretEncryptionKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${secretRegion}.amazonaws.com` } },
        }),
      );
    }
    return grant;
  }
}
