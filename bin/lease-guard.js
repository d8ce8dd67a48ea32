#!/usr/bin/env node
// The published entry point: the compiled CLI in dist/ (built by `npm run build`, which `npm pack` runs first).
// The AWS SDK's Node 22 notice is noise in the CLI's own processes (src/cli/quiet-sdk-warning.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js')) throw error;
  process.stderr.write('lease-guard: the CLI is not built yet; run `npm run build` in the package directory.\n');
  process.exit(1);
}
await cli.main(process.argv);
