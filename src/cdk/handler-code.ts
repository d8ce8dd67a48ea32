import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The functions lease-guard itself deploys, by their export in the one bundle (`handlers/index.ts`). */
export type LeaseGuardHandler = 'migrate' | 'watchdog';

/** The runtime lease-guard's own functions run on; their bundles target it. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * How the handlers are bundled: one ES module (`index.mjs`) exporting both, with the AWS SDK inside
 * (the Data API client is the version the tests ran against) and a `require` for CommonJS
 * dependencies. The package build and the repository's own synth use the same options.
 */
export function handlerBuildOptions(outdir: string) {
  return {
    entryPoints: [fileURLToPath(new URL('./handlers/index.ts', import.meta.url))],
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
 * The code and handler of one of lease-guard's own functions. The published package carries them
 * prebuilt (`dist/cdk/assets/handlers/`, made by `npm run build`), so an app needs neither esbuild
 * nor Docker for them and every app deploys the bytes the package was tested with; both functions
 * deploy the same asset, each with its own export as the handler. Run from the repository's TypeScript sources there is no prebuilt copy,
 * so they are bundled at synth with the repository's esbuild, with the same options.
 */
export function handlerCode(name: LeaseGuardHandler): { readonly code: lambda.Code; readonly handler: string } {
  const handler = `index.${name}`;
  const prebuilt = fileURLToPath(new URL('./assets/handlers/', import.meta.url));
  if (existsSync(`${prebuilt}index.mjs`)) return { code: lambda.Code.fromAsset(prebuilt), handler };
  const source = fileURLToPath(new URL('./handlers/', import.meta.url));
  if (!existsSync(`${source}index.ts`)) {
    throw new Error(
      `lease-guard's ${name} function is missing from ${prebuilt}: the package is incomplete; reinstall lease-guard (or run npm run build in its repository).`,
    );
  }
  const code = lambda.Code.fromAsset(source, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: the local bundler below always succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
      local: {
        tryBundle(outputDir: string): boolean {
          const esbuild = createRequire(import.meta.url)('esbuild') as { buildSync(options: unknown): unknown };
          esbuild.buildSync(handlerBuildOptions(outputDir));
          return true;
        },
      },
    },
  });
  return { code, handler };
}
