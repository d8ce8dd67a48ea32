import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

// The example app through the real CLI, offline: no account, no lookups, the real functions bundled
// with the local esbuild.
describe('cdk synth of the example app', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'lease-guard-synth-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesises the database stack and a jobs stack per region', async () => {
    await run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', outdir], {
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      timeout: 120_000,
    });
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    const stacks = Object.entries(manifest.artifacts as Record<string, { type: string; environment: string }>)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([id, artifact]) => [id, artifact.environment]);
    expect(Object.fromEntries(stacks)).toEqual({
      LeaseGuardDatabase: 'aws://unknown-account/us-east-1',
      'LeaseGuardJobs-us-east-1': 'aws://unknown-account/us-east-1',
      'LeaseGuardJobs-eu-west-1': 'aws://unknown-account/eu-west-1',
    });

    const template = (id: string) => JSON.parse(readFileSync(join(outdir, `${id}.template.json`), 'utf8'));
    const types = (id: string) => Object.values<{ Type: string }>(template(id).Resources).map((r) => r.Type);
    expect(types('LeaseGuardDatabase')).toEqual(
      expect.arrayContaining(['AWS::RDS::DBCluster', 'Custom::LeaseGuardTable', 'AWS::SecretsManager::Secret']),
    );
    for (const id of ['LeaseGuardJobs-us-east-1', 'LeaseGuardJobs-eu-west-1']) {
      expect(types(id).filter((type) => type === 'AWS::Scheduler::Schedule')).toHaveLength(2);
    }

    // Every function was bundled into one ESM file: the two guarded handlers and the migration.
    const assets = Object.values<{ source: { path: string; packaging: string } }>(
      JSON.parse(readFileSync(join(outdir, 'LeaseGuardJobs-eu-west-1.assets.json'), 'utf8')).files,
    ).filter((asset) => asset.source.packaging === 'zip');
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect(existsSync(join(outdir, asset.source.path, 'index.mjs'))).toBe(true);
  });
});
