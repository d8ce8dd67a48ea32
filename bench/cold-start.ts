/**
 * Cold start of a guarded handler against the same handler unguarded: the size of the one-file
 * bundle the CDK construct deploys (esbuild, minified, ESM, node22, the construct's banner and
 * main fields), with the AWS SDK bundled and with `@aws-sdk/*` left to the runtime, and the time a
 * fresh `node` process takes to import it (median of several runs, each in its own process).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { LEASE_ENV } from '../src/constants.js';
import { median } from './stats.js';

const run = promisify(execFile);

const ROOT = resolve(import.meta.dirname, '..');
// Under node_modules so an SDK-external bundle resolves `@aws-sdk/*` from the project, as the runtime would.
const OUT = join(ROOT, 'node_modules', '.cache', 'lease-guard-bench');

export const HANDLERS = {
  guarded: 'functions/nightly-report.ts',
  unguarded: 'bench/fixtures/unguarded-report.ts',
} as const;

export interface BundleResult {
  readonly handler: keyof typeof HANDLERS;
  readonly sdk: 'bundled' | 'external';
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly importMs: number;
  readonly importRuns: readonly number[];
  /** Minified bytes per package in the bundle, largest first: what the bytes are. */
  readonly packages: readonly { readonly name: string; readonly bytes: number }[];
}

// What the guarded handler reads at import: the Data API executor is built at cold start.
const IMPORT_ENV = {
  [LEASE_ENV.RESOURCE_ARN]: 'arn:aws:rds:us-east-1:123456789012:cluster:bench',
  [LEASE_ENV.SECRET_ARN]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
  [LEASE_ENV.DATABASE]: 'bench',
  AWS_REGION: 'us-east-1',
};

/** `node_modules/@scope/name/...` → `@scope/name`; the project's own files → `lease-guard`. */
function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match ? (match[1] as string) : 'lease-guard';
}

async function bundle(
  handler: keyof typeof HANDLERS,
  sdk: BundleResult['sdk'],
): Promise<{ file: string; packages: BundleResult['packages'] }> {
  const outfile = join(OUT, `${handler}-sdk-${sdk}.mjs`);
  const { metafile } = await build({
    entryPoints: [join(ROOT, HANDLERS[handler])],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    external: sdk === 'external' ? ['@aws-sdk/*'] : [],
    logLevel: 'error',
    metafile: true,
  });
  const bytes = new Map<string, number>();
  for (const [path, input] of Object.entries(Object.values(metafile.outputs)[0]?.inputs ?? {})) {
    bytes.set(packageOf(path), (bytes.get(packageOf(path)) ?? 0) + input.bytesInOutput);
  }
  const packages = [...bytes].map(([name, n]) => ({ name, bytes: n })).sort((a, b) => b.bytes - a.bytes);
  return { file: outfile, packages };
}

async function importMs(file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...IMPORT_ENV },
  });
  return Number(stdout);
}

export async function measureColdStart({ runs }: { runs: number }): Promise<BundleResult[]> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const variants: (Awaited<ReturnType<typeof bundle>> & {
    handler: keyof typeof HANDLERS;
    sdk: BundleResult['sdk'];
    times: number[];
  })[] = [];
  for (const handler of Object.keys(HANDLERS) as (keyof typeof HANDLERS)[]) {
    for (const sdk of ['bundled', 'external'] as const) {
      variants.push({ handler, sdk, ...(await bundle(handler, sdk)), times: [] });
    }
  }
  // One unmeasured import each fills the file cache; then the variants take turns, run by run.
  for (const v of variants) await importMs(v.file);
  for (let i = 0; i < runs; i++) {
    for (const v of variants) v.times.push(await importMs(v.file));
  }
  return Promise.all(
    variants.map(async (v) => {
      const bytes = await readFile(v.file);
      return {
        handler: v.handler,
        sdk: v.sdk,
        bytes: bytes.length,
        gzipBytes: gzipSync(bytes).length,
        importMs: median(v.times),
        importRuns: v.times.map((t) => Math.round(t * 100) / 100),
        packages: v.packages,
      };
    }),
  );
}
