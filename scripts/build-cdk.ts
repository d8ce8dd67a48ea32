/**
 * The build steps of `lease-guard/cdk` beyond tsc (run by `npm run build`, after tsc):
 * - lease-guard's own Lambda functions, bundled once into `dist/cdk/assets/handlers/index.mjs`, so an
 *   app that uses the constructs needs neither esbuild nor Docker for them;
 * - a CommonJS copy of the entry (`dist/cdk/index.cjs`, with `index.d.cts`) for apps laid out like
 *   `cdk init app --language typescript` and their jest tests, which `require` it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { handlerBuildOptions } from '../src/cdk/handler-code.js';

const DIST = new URL('../dist/cdk/', import.meta.url);

await build({ ...handlerBuildOptions(new URL('assets/handlers', DIST).pathname) });

// The CommonJS copy: one file, aws-cdk-lib and constructs left to the app. `import.meta.url` (used to
// find the prebuilt assets beside it) becomes the file's own URL.
const shim = new URL('cjs-import-meta.js', DIST).pathname;
writeFileSync(shim, "export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n");
await build({
  entryPoints: [new URL('../src/cdk/index.ts', import.meta.url).pathname],
  outfile: new URL('index.cjs', DIST).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['aws-cdk-lib', 'constructs', 'esbuild'],
  inject: [shim],
  define: { 'import.meta.url': 'importMetaUrl' },
  logLevel: 'warning',
});
rmSync(shim);
// The types are the ES module's; a CommonJS declaration file re-exports them for `require` users.
writeFileSync(new URL('index.d.cts', DIST), "export * from './index.js';\n");
