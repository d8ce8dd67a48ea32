import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The runtime every lease-guard function runs on. */
export const NODE_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * How lease-guard bundles a function: one ESM file for Node 22, built by the local esbuild (never
 * Docker). The AWS SDK is bundled rather than taken from the runtime, so the Data API client is the
 * version the tests ran against. The banner gives CommonJS dependencies a `require` inside ESM.
 */
export const NODE_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  bundleAwsSDK: true,
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
};

/** Source maps are only read when Node is told to; stack traces then point into the TypeScript. */
export const NODE_ENVIRONMENT: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--enable-source-maps',
};
