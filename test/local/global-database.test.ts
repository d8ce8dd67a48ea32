/**
 * The local global database (two MariaDB servers in replication, a Data API endpoint and ARN
 * each) and the cluster executor over it, with the real SDK client: a secondary refuses until it
 * is promoted; the executor moves to the writer and stays there; the first claim through the new
 * primary fences the lost window (epoch step) and quarantines the job on the database clock.
 */
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEASE_ENV } from '../../src/constants.js';
import { LeaseGuardConfigError } from '../../src/errors.js';
import { parseLeaseGuardOptions } from '../../src/guard/options.js';
import { SkipReason } from '../../src/lease/lease-store.js';
import { FENCE_EPOCH } from '../../src/lease/sql.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { LOCAL_ARNS } from '../../src/local/local-command.js';
import {
  LOCAL_GLOBAL_ARNS,
  type LocalGlobalDatabase,
  startLocalGlobalDatabase,
} from '../../src/local/local-global-database.js';
import { createClusterExecutor } from '../../src/sql/cluster-executor.js';
import { parseClusters } from '../../src/sql/cluster-settings.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { cli } from '../support/cli.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('a local global database and the cluster executor', () => {
  let db: LocalGlobalDatabase;

  beforeAll(async () => {
    // The executor's clients resolve credentials the SDK's standard way, as in a Lambda.
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    db = await startLocalGlobalDatabase();
  }, 120_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await db?.stop();
  });

  function send(endpoint: string, resourceArn: string, sql: string) {
    const client = new RDSDataClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    return client
      .send(new ExecuteStatementCommand({ resourceArn, secretArn: LOCAL_ARNS.secretArn, database: 'lease_guard', sql }))
      .finally(() => client.destroy());
  }

  it('refuses reads and writes on the secondary as a cluster without a writer, and another ARN as not enabled', async () => {
    await expect(send(db.primaryApi.url, LOCAL_GLOBAL_ARNS.primary, 'SELECT 1')).resolves.toBeDefined();
    for (const sql of ['SELECT 1', "UPDATE lease_guard SET version = version + 1 WHERE job = 'x'"]) {
      await expect(send(db.secondaryApi.url, LOCAL_GLOBAL_ARNS.secondary, sql)).rejects.toMatchObject({
        name: 'DatabaseUnavailableException',
        message: expect.stringMatching(/no writer instance.*until it is promoted/),
      });
    }
    await expect(send(db.primaryApi.url, LOCAL_GLOBAL_ARNS.secondary, 'SELECT 1')).rejects.toMatchObject({
      name: 'HttpEndpointNotEnabledException',
    });
  });

  it('moves to the promoted cluster, stays there, and fences the lost window with a quarantine on the database clock', async () => {
    const switches: string[] = [];
    const executor = createClusterExecutor({
      clusters: db.clusters,
      database: 'lease_guard',
      onSwitch: (_from, to) => switches.push(to.resourceArn),
    });
    const store = createSqlLeaseStore({ executor });
    const claim = (holder: string) =>
      store.claim({ job: 'global', holder, leaseMs: 60_000, failoverQuarantineMs: 1500 });
    try {
      // Replicated: the first holder; lost: the second, claimed after replication stopped.
      expect(await claim('h1')).toEqual({ acquired: true, fence: 1 });
      await store.release({ job: 'global', holder: 'h1', fence: 1, outcome: 'success' });
      await db.pair.waitForReplica();
      await db.pair.stopReplication();
      expect(await claim('h2')).toEqual({ acquired: true, fence: 2 });
      await db.pair.primary.kill();
      // No writer anywhere yet: the claim fails, transient, after trying both clusters.
      await expect(claim('h3')).rejects.toMatchObject({ code: 'DatabaseUnavailableException', retryable: true });
      await db.pair.promoteReplica();

      // The first claim through the new primary sees the failover; the next ones wait it out.
      expect(await claim('h4')).toEqual({ acquired: false, reason: SkipReason.FAILOVER_QUARANTINE });
      expect(switches).toEqual([LOCAL_GLOBAL_ARNS.secondary]);
      expect(await claim('h5')).toEqual({ acquired: false, reason: SkipReason.FAILOVER_QUARANTINE });
      let won: Awaited<ReturnType<typeof claim>> | undefined;
      for (let attempt = 0; attempt < 200 && !won?.acquired; attempt++) {
        won = await claim(`h6-${attempt}`);
        if (!won.acquired) {
          expect(won.reason).toBe(SkipReason.FAILOVER_QUARANTINE);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      // Past every token the lost primary handed out (h2's 2), and not before the quarantine's end.
      expect(won).toEqual({ acquired: true, fence: FENCE_EPOCH + 1 });
      expect(switches).toHaveLength(1);
      const root = createMysql2Executor({ url: db.pair.replica.url, connectionLimit: 1 });
      try {
        const { rows } = await root.execute({
          sql: "SELECT claimed_at >= quarantine_until AS after_quarantine, cluster FROM lease_guard WHERE job = 'global'",
        });
        expect(rows[0]).toEqual({ after_quarantine: 1, cluster: LOCAL_GLOBAL_ARNS.secondary });
      } finally {
        await root.close();
      }
    } finally {
      await executor.close();
    }
  }, 60_000);

  it('serves the CLI through --clusters after the failover, and refuses --clusters beside --resource-arn', async () => {
    const clusters = JSON.stringify(db.clusters);
    const status = await cli('status', '--json', '--clusters', clusters, '--database', 'lease_guard');
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toEqual(
      expect.arrayContaining([expect.objectContaining({ job: 'global', fence: FENCE_EPOCH + 1 })]),
    );
    const both = await cli('status', '--clusters', clusters, '--resource-arn', LOCAL_GLOBAL_ARNS.primary);
    expect(both).toMatchObject({ code: 1, err: expect.stringMatching(/--clusters .* or --resource-arn .*not both/) });
    const bad = await cli('status', '--clusters', '[{"resourceArn":"x"}]');
    expect(bad).toMatchObject({ code: 1, err: expect.stringMatching(/--clusters is not a list of clusters/) });
  });
});

describe('clusters options', () => {
  const cluster = (name: string, region = 'us-east-1') => ({
    resourceArn: `arn:aws:rds:${region}:123456789012:cluster:${name}`,
    secretArn: `arn:aws:secretsmanager:${region}:123456789012:secret:${name}`,
    region,
  });

  it('accepts two clusters and refuses one, or clusters beside a single cluster setting', () => {
    expect(
      parseLeaseGuardOptions({ job: 'j', clusters: [cluster('a'), cluster('b', 'eu-west-1')] }).clusters,
    ).toHaveLength(2);
    expect(() => parseLeaseGuardOptions({ job: 'j', clusters: [cluster('a')] })).toThrow(/at least two clusters/);
    expect(() =>
      parseLeaseGuardOptions({
        job: 'j',
        clusters: [cluster('a'), cluster('b')],
        resourceArn: cluster('a').resourceArn,
      }),
    ).toThrow(/give clusters or resourceArn, not both/);
    expect(() => parseLeaseGuardOptions({ job: 'j', clusters: [cluster('a'), { resourceArn: 'x' }] })).toThrow(
      /clusters\.1\.secretArn: secretArn is required/,
    );
    expect(() => createClusterExecutor({ clusters: [cluster('a'), cluster('a')] })).toThrow(/listed twice/);
    expect(() => createClusterExecutor({ clusters: [cluster('a'), { ...cluster('b'), resourceArn: 'b' }] })).toThrow(
      /resourceArn option must be the Aurora cluster ARN/,
    );
  });

  it('reads LEASE_GUARD_CLUSTERS as JSON and names the variable when it is not', () => {
    expect(parseClusters(JSON.stringify([cluster('a'), cluster('b')]), LEASE_ENV.CLUSTERS)).toHaveLength(2);
    expect(() => parseClusters('arn:aws:rds:…', LEASE_ENV.CLUSTERS)).toThrow(LeaseGuardConfigError);
    expect(() => parseClusters('arn:aws:rds:…', LEASE_ENV.CLUSTERS)).toThrow(/LEASE_GUARD_CLUSTERS must be JSON/);
    expect(() => parseClusters('[{"resourceArn":"a"}]', LEASE_ENV.CLUSTERS)).toThrow(
      /LEASE_GUARD_CLUSTERS is not a list of clusters.*at least two/,
    );
  });
});
