import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The functions lease-guard itself deploys, bundled when the package is built. */
export type LeaseGuardHandler = 'lease-table-migrate' | 'lease-watchdog';

/** The runtime lease-guard's own functions run on; their bundles target it. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * How a handler is bundled: one ES module with the AWS SDK inside (the Data API client is
 * the version the tests ran against), and a `require` for CommonJS dependencies. The package build
 * and the repository's own synth use the same options.
 */
export function handlerBuildOptions(name: LeaseGuardHandler, outdir: string) {
  return {
    entryPoints: [fileURLToPath(new URL(`./handlers/${name}.ts`, import.meta.url))],
    outfile: `${outdir}/index.mjs`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    // Minified but with function names kept, so a stack trace still says where; no source map (it
    // would be larger than the bundle and point into sources the package does not ship).
    minify: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  } as const;
}

/**
 * The code of one of lease-guard's own functions. The published package carries it prebuilt
 * (`dist/cdk/assets/<name>/index.mjs`, made by `npm run build`), so an app needs neither esbuild nor
 * Docker for it and every app deploys the bytes the package was tested with. Run from the
 * repository's TypeScript sources there is no prebuilt copy, so it is bundled at synth with the
 * repository's esbuild, with the same options.
 */
export function handlerCode(name: LeaseGuardHandler): lambda.Code {
  const prebuilt = fileURLToPath(new URL(`./assets/${name}/`, import.meta.url));
  if (existsSync(`${prebuilt}index.mjs`)) return lambda.Code.fromAsset(prebuilt);
  const source = fileURLToPath(new URL('./handlers/', import.meta.url));
  if (!existsSync(`${source}${name}.ts`)) {
    throw new Error(
      `lease-guard's ${name} function is missing from ${prebuilt}: the package is incomplete; reinstall lease-guard (or run npm run build in its repository).`,
    );
  }
  return lambda.Code.fromAsset(source, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: the local bundler below always succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
      // Part of CDK's bundling cache key: without it both handlers (same source folder, same
      // options) would share the first one's bundle.
      environment: { LEASE_GUARD_HANDLER: name },
      local: {
        tryBundle(outputDir: string): boolean {
          const esbuild = createRequire(import.meta.url)('esbuild') as { buildSync(options: unknown): unknown };
          esbuild.buildSync(handlerBuildOptions(name, outputDir));
          return true;
        },
      },
    },
  });
}
