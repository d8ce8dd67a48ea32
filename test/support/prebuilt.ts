import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { LEASE_ENV } from '../../src/constants.js';

const REPO = resolve(import.meta.dirname, '../..');

/** Names the directory of this run's prebuilt modules; inherited by the test workers and their children. */
export const PREBUILT_ENV = 'LEASE_GUARD_TEST_PREBUILT';

/**
 * The modules the tests run in child processes, by their source in this repository, and the name of
 * each one's bundle. The fleet's two are the names LEASE_GUARD_FLEET_WORKER expects.
 */
const ENTRIES: Readonly<Record<string, string>> = {
  'src/fleet/worker.ts': 'worker',
  'src/fleet/clock-skew.ts': 'clock-skew',
  'src/cli/main.ts': 'cli-main',
  'src/local/throwaway-mysql.ts': 'throwaway-mysql',
  'test/faults/burst-worker.ts': 'burst-worker',
  'test/faults/frozen-sandbox.ts': 'frozen-sandbox',
  'test/faults/managed-instances-worker.ts': 'managed-instances',
};

/**
 * Bundles the child-process modules once for a run, so each child starts with plain node instead of
 * compiling the sources under tsx (about half a second of CPU per child; a test run starts dozens).
 * The directory sits two levels below the repository, so the CLI's `../../package.json` (read at
 * run time, not bundled) resolves as it does from `src/`.
 */
export async function buildPrebuilt(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = join(REPO, 'node_modules', `.lease-guard-prebuilt-${process.pid}`);
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([source, name]) => [name, join(REPO, source)])),
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    // Dependencies too: a child then reads one file instead of resolving hundreds (the AWS SDK's).
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS dependencies bundled into an ES module still call require (for node: built-ins).
    banner: {
      js: "import { createRequire as leaseGuardCreateRequire } from 'node:module'; const require = leaseGuardCreateRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Points this process, and every child it starts, at a prebuilt directory. */
export function usePrebuilt(dir: string): void {
  process.env[PREBUILT_ENV] = dir;
  process.env[LEASE_ENV.FLEET_WORKER] = dir;
}

export interface ChildModule {
  /** The file to fork. */
  readonly file: string;
  /** Its URL, for an `--eval` script's import. */
  readonly url: string;
  /** What node needs to run it: tsx for a source file. */
  readonly execArgv: string[];
}

/**
 * How a child process runs one of this repository's modules (a path relative to the repository):
 * the run's bundle where one was built, else the source under tsx (`npm run faults`, a single file
 * run outside vitest). The child's working directory must be the repository, where tsx resolves.
 */
export function childModule(source: string): ChildModule {
  const name = ENTRIES[source];
  if (name === undefined) throw new Error(`${source} is not one of the prebuilt child modules`);
  const dir = process.env[PREBUILT_ENV];
  const bundle = dir ? join(dir, `${name}.mjs`) : undefined;
  const file = bundle && existsSync(bundle) ? bundle : join(REPO, source);
  return { file, url: pathToFileURL(file).href, execArgv: file === bundle ? [] : ['--import', 'tsx'] };
}
