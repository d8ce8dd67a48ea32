import { App } from 'aws-cdk-lib';

/**
 * An app for assertions on parts of templates: no asset bundling (no stack is listed for it), and no
 * built-in CloudFormation validation. That validation loads a WebAssembly engine on every synth (most
 * of a small synth's CPU, over a hundred synths here) and, without cdk.json's context, only warns.
 * Whole apps are validated with errors fatal: the example app and its variants (cdk.json;
 * app-synth.test.ts, example-stacks.test.ts) and the consumer apps (test/package/cdk-consumers.test.ts).
 */
export function templateApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
}
