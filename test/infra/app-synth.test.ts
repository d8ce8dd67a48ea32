import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledHandlers, importScript } from './bundled-handlers.js';

const run = promisify(execFile);

// The example app through the real CLI, offline: no account, no lookups, the real functions bundled
// with the local esbuild.
describe('cdk synth of the example app', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'lease-guard-synth-'));
  const readJson = (file: string) => JSON.parse(readFileSync(join(outdir, file), 'utf8'));

  beforeAll(async () => {
    await run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', outdir], {
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      // CPU-bound (four bundles, four stacks, cdk-nag): generous on a loaded machine.
      timeout: 300_000,
    });
  }, 330_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('writes the global database (primary and secondary stacks) and a jobs stack per region, for any account', () => {
    const artifacts = readJson('manifest.json').artifacts as Record<string, { type: string; environment: string }>;
    const stacks = Object.entries(artifacts)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([id, artifact]) => [id, artifact.environment]);
    expect(Object.fromEntries(stacks)).toEqual({
      LeaseGuardDatabase: 'aws://unknown-account/us-east-1',
      'LeaseGuardDatabase-eu-west-1': 'aws://unknown-account/eu-west-1',
      'LeaseGuardJobs-us-east-1': 'aws://unknown-account/us-east-1',
      'LeaseGuardJobs-eu-west-1': 'aws://unknown-account/eu-west-1',
    });
    const types = (id: string) =>
      Object.values<{ Type: string }>(readJson(`${id}.template.json`).Resources).map((r) => r.Type);
    expect(types('LeaseGuardDatabase')).toEqual(
      expect.arrayContaining([
        'AWS::RDS::GlobalCluster',
        'AWS::RDS::DBCluster',
        'Custom::LeaseGuardTable',
        'AWS::SecretsManager::Secret',
      ]),
    );
    expect(types('LeaseGuardDatabase-eu-west-1')).toEqual(
      expect.arrayContaining(['AWS::RDS::DBCluster', 'AWS::RDS::DBInstance']),
    );
    for (const id of ['LeaseGuardJobs-us-east-1', 'LeaseGuardJobs-eu-west-1']) {
      expect(types(id).filter((type) => type === 'AWS::Scheduler::Schedule')).toHaveLength(2);
    }
  });

  it("passes CloudFormation's resource schemas with validation errors fatal (cdk.json turns them on)", () => {
    const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };
    expect(context['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
    // A finding would have failed the synth above; the report aws-cdk-lib writes lists none.
    expect(readJson('validation-report.json').pluginReports).toEqual([]);
  });

  it('bundles every function into ES modules whose handlers load in Node', async () => {
    const stacks = [
      'LeaseGuardDatabase',
      'LeaseGuardDatabase-eu-west-1',
      'LeaseGuardJobs-us-east-1',
      'LeaseGuardJobs-eu-west-1',
    ];
    const handlers = stacks.flatMap((id) => bundledHandlers(outdir, `${id}.template.json`));
    // The migration and the watchdog (one asset, two exports), and the two example handlers in each job
    // region; aws-cdk-lib's own framework functions are CommonJS and not counted.
    expect(handlers.map((handler) => `${handler.file}#${handler.exportName}`).sort()).toEqual([
      'index.mjs#handler',
      'index.mjs#handler',
      'index.mjs#handler',
      'index.mjs#handler',
      'index.mjs#migrate',
      'index.mjs#watchdog',
    ]);
    // The guarded handlers read their LEASE_GUARD_* settings at import, as on a cold start.
    const env = {
      ...process.env,
      AWS_REGION: 'us-east-1',
      LEASE_GUARD_RESOURCE_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:lease-db',
      LEASE_GUARD_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lease-user-AbC123',
      LEASE_GUARD_DATABASE: 'lease_guard',
    };
    for (const handler of handlers) {
      const script = importScript(handler);
      const { stdout } = await run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
        cwd: handler.dir,
        env,
      });
      expect(stdout.trim()).toBe('function');
    }
  });
});
