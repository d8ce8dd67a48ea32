import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const REPO = resolve(import.meta.dirname, '../..');

/**
 * The fleet worker and its clock-skew preload, bundled once for the test run into a directory that
 * resolves this checkout's node_modules; the supervisor forks it with plain node
 * (LEASE_GUARD_FLEET_WORKER) instead of the sources under tsx, once per worker.
 */
export async function buildFleetWorker(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = join(REPO, 'node_modules', '.cache', 'lease-guard-tests', `fleet-worker-${process.pid}`);
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: { worker: join(REPO, 'src/fleet/worker.ts'), 'clock-skew': join(REPO, 'src/fleet/clock-skew.ts') },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
