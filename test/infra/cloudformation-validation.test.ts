/**
 * aws-cdk-lib's built-in CloudFormation validation, as the example app and the consumer tests use it:
 * with `@aws-cdk/core:validateAgainstDefaultRules` a template that breaks a resource schema fails the
 * synth (left at its default, the same finding is only a warning). The negative control for
 * app-synth.test.ts and cdk-consumers.test.ts, which rely on the synth failing.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';

const STRICT = { '@aws-cdk/core:validateAgainstDefaultRules': true };

function appWithQueue(context: Record<string, unknown>, properties: Record<string, unknown>): App {
  const app = new App({ context });
  new CfnResource(new Stack(app, 'Queue'), 'Queue', { type: 'AWS::SQS::Queue', properties });
  return app;
}

describe('CloudFormation validation at synth', { timeout: 120_000 }, () => {
  it('fails the synth on a property the resource schema does not allow', () => {
    const app = appWithQueue(STRICT, { VisibilityTimeout: 'thirty seconds' });
    expect(() => app.synth()).toThrow(/is not of type 'integer'/);
  });

  it('passes a template that follows the schema', () => {
    expect(() => appWithQueue(STRICT, { VisibilityTimeout: 30 }).synth()).not.toThrow();
  });

  it('only warns when the flag is not set', () => {
    expect(() => appWithQueue({}, { VisibilityTimeout: 'thirty seconds' }).synth()).not.toThrow();
  });
});
