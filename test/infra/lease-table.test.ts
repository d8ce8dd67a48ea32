import { createHash } from 'node:crypto';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { LeaseTable, type LeaseTableProps } from '../../src/cdk/index.js';
import { leaseUserGrantSql } from '../../src/lease/grants.js';
import { createTableSql } from '../../src/lease/schema.js';
import { auroraCluster } from './aurora-cluster.js';
import { templateApp } from './template-app.js';

function stackWithCluster(enableDataApi = true): { stack: Stack; cluster: rds.DatabaseCluster } {
  const app = templateApp();
  const stack = new Stack(app, 'Database', { env: { region: 'us-east-1' } });
  const cluster = auroraCluster(stack, { enableDataApi, defaultDatabaseName: 'app' });
  return { stack, cluster };
}

function leaseTable(props: Partial<LeaseTableProps> = {}): { stack: Stack; table: LeaseTable } {
  const { stack, cluster } = stackWithCluster();
  const table = new LeaseTable(stack, 'Leases', { cluster, databaseName: 'app', ...props });
  return { stack, table };
}

function statements(template: Template, policyPrefix: string): { Action: string | string[]; Resource: unknown }[] {
  return ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']
    .flatMap((type) => Object.entries(template.findResources(type)))
    .filter(([id]) => id.startsWith(policyPrefix))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
}

// Synthesis is CPU-bound and the first one in a file also loads aws-cdk-lib: generous on a loaded machine.
describe('LeaseTable', { timeout: 180_000 }, () => {
  it('creates or upgrades the table through a custom resource on a nodejs22.x function', () => {
    const { stack } = leaseTable({ tableName: 'job_leases' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::LeaseGuardTable', {
      ResourceArn: Match.anyValue(),
      AdminSecretArn: { Ref: Match.stringLikeRegexp('^ClusterSecretAttachment') },
      Database: 'app',
      Table: 'job_leases',
      UserSecretArn: { Ref: Match.stringLikeRegexp('^LeasesUserSecret') },
      Schema: Match.stringLikeRegexp('^[0-9a-f]{16}$'),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.migrate',
      Timeout: 300,
      Description: 'lease-guard: creates or upgrades app.job_leases',
    });
  });

  it('hashes the DDL and the grant, so a schema change runs the migration again', () => {
    const { stack } = leaseTable();
    const grant = leaseUserGrantSql({ user: 'lease_guard', database: 'app', table: 'lease_guard' });
    const expected = createHash('sha256')
      .update(createTableSql('lease_guard'))
      .update(grant)
      .digest('hex')
      .slice(0, 16);
    Template.fromStack(stack).hasResourceProperties('Custom::LeaseGuardTable', { Schema: expected });
  });

  it('waits for the cluster and its writer before migrating', () => {
    const { stack } = leaseTable();
    const [resource] = Object.values(Template.fromStack(stack).findResources('Custom::LeaseGuardTable'));
    expect(resource!.DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ClusterWriter/), expect.stringMatching(/^Cluster[0-9A-F]{8}$/)]),
    );
  });

  it('gives the migrate function ExecuteStatement on the cluster and read on the two secrets, never on *', () => {
    const { stack } = leaseTable();
    const template = Template.fromStack(stack);
    const all = statements(template, 'LeasesMigrateFunction');
    const dataApi = all.filter((s) => JSON.stringify(s.Action).includes('rds-data:'));
    expect(dataApi.map((s) => s.Action)).toEqual(['rds-data:ExecuteStatement']);
    expect(JSON.stringify(dataApi[0]!.Resource)).toContain(':cluster:');
    const secrets = all.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'));
    expect(secrets.map((s) => s.Resource)).toEqual([
      { Ref: expect.stringMatching(/^ClusterSecretAttachment/) },
      { Ref: expect.stringMatching(/^LeasesUserSecret/) },
    ]);
    for (const statement of [...dataApi, ...secrets]) expect(JSON.stringify(statement.Resource)).not.toContain('"*"');
  });

  it('generates the lease user secret without quotes or backslashes, and reads it through the extension layer', () => {
    const { stack, table } = leaseTable({ leaseUserName: 'jobs' });
    const template = Template.fromStack(stack);
    expect(table.userSecret).toBeDefined();
    const secret = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([id]) =>
      id.startsWith('LeasesUserSecret'),
    )?.[1];
    const generate = secret!.Properties.GenerateSecretString;
    // The template is a join: it also carries the admin secret's ARN (`masterarn`) for rotation.
    expect(JSON.stringify(generate.SecretStringTemplate)).toContain('{\\"username\\":\\"jobs\\"');
    expect(generate.GenerateStringKey).toBe('password');
    for (const character of ["'", '"', '\\', '@']) expect(generate.ExcludeCharacters).toContain(character);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^lease-guard: creates'),
      Layers: [
        Match.stringLikeRegexp('^arn:aws:lambda:us-east-1:\\d+:layer:AWS-Parameters-and-Secrets-Lambda-Extension'),
      ],
    });
  });

  it('creates no user, no secret and no layer when createLeaseUser is false', () => {
    const { stack, table } = leaseTable({ createLeaseUser: false });
    const template = Template.fromStack(stack);
    expect(table.userSecret).toBeUndefined();
    template.hasResourceProperties('Custom::LeaseGuardTable', { UserSecretArn: Match.absent() });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^lease-guard: creates'),
      Layers: Match.absent(),
    });
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(1);
  });

  it('gives guarded functions the lease user, not the admin: leaseDatabase and grantLeaseAccess', () => {
    const { stack, table } = leaseTable({ tableName: 'job_leases' });
    const database = table.leaseDatabase;
    expect([database.databaseName, database.tableName, database.secret]).toEqual([
      'app',
      'job_leases',
      table.userSecret,
    ]);
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    table.grantLeaseAccess(role);
    const granted = statements(Template.fromStack(stack), 'ReaderDefaultPolicy');
    expect(granted.map((s) => s.Resource)).toEqual([
      expect.objectContaining({ 'Fn::Join': expect.anything() }),
      { Ref: expect.stringMatching(/^LeasesUserSecret/) },
    ]);
  });

  describe('fails on invalid props', () => {
    it('fails synthesis, naming the construct, on a cluster without the Data API', () => {
      const { stack, cluster } = stackWithCluster(false);
      new LeaseTable(stack, 'Leases', { cluster, databaseName: 'app' });
      expect(() => Template.fromStack(stack)).toThrow(
        /\[Database\/Leases\] the Data API is not enabled on the cluster Database\/Cluster/,
      );
    });

    it('has no leaseDatabase without a lease user, and says what to do instead', () => {
      const { table } = leaseTable({ createLeaseUser: false });
      expect(() => table.leaseDatabase).toThrow(
        /^Database\/Leases: there is no lease user .* LeaseDatabase.fromCluster/,
      );
    });

    it('fails on an imported cluster without adminSecret', () => {
      const stack = new Stack(templateApp(), 'S');
      const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'C', { clusterIdentifier: 'db' });
      expect(() => new LeaseTable(stack, 'Leases', { cluster, databaseName: 'app' })).toThrow(
        /adminSecret is required/,
      );
      const adminSecret = new secretsmanager.Secret(stack, 'Admin');
      expect(() => new LeaseTable(stack, 'WithAdmin', { cluster, adminSecret, databaseName: 'app' })).not.toThrow();
    });

    it('fails on names that are not identifiers', () => {
      expect(() => leaseTable({ tableName: 'lease-guard' })).toThrow(/tableName must be an SQL identifier/);
      expect(() => leaseTable({ databaseName: 'app db' })).toThrow(/databaseName must be an SQL identifier/);
      expect(() => leaseTable({ leaseUserName: "x'@'%" })).toThrow(/leaseUserName must be an SQL identifier/);
      expect(() => leaseTable({ leaseUserName: 'u'.repeat(33) })).toThrow(/leaseUserName must be at most 32/);
    });
  });
});
