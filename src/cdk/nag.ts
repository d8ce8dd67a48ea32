import * as cdk from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag (AwsSolutions) findings the constructs cannot fix, acknowledged on the construct that
 * owns them, each with its reason. Written both ways cdk-nag reads them, so the constructs need no
 * dependency on it: CDK's `Validations.of(scope).acknowledge` (cdk-nag 3, aws-cdk-lib 2.257+) and
 * the `cdk_nag` metadata on each resource below (cdk-nag 2).
 */
interface Finding {
  /** The rule, with the finding in brackets when the rule reports findings (cdk-nag 3 matches it exactly). */
  readonly id: string;
  readonly reason: string;
}

export function acknowledge(scope: IConstruct, findings: readonly Finding[]): void {
  // Feature-detected: older aws-cdk-lib releases have no Validations.
  const validations = (cdk as { Validations?: typeof cdk.Validations }).Validations;
  for (const finding of findings) validations?.of(scope).acknowledge({ id: finding.id, reason: finding.reason });
  for (const construct of scope.node.findAll()) {
    if (!(construct instanceof cdk.CfnResource)) continue;
    const previous = (construct.getMetadata('cdk_nag') as { rules_to_suppress?: unknown[] } | undefined)
      ?.rules_to_suppress;
    construct.addMetadata('cdk_nag', {
      rules_to_suppress: [...(previous ?? []), ...findings.map(toVersion2)],
    });
  }
}

/** `AwsSolutions-IAM4[Policy::x]` is rule `AwsSolutions-IAM4` applied to `Policy::x` in cdk-nag 2. */
function toVersion2(finding: Finding): Record<string, unknown> {
  const match = /^([^[]+)\[(.+)\]$/.exec(finding.id);
  return match
    ? { id: match[1], reason: finding.reason, applies_to: [match[2]] }
    : { id: finding.id, reason: finding.reason };
}

const BASIC_EXECUTION_ROLE: Finding = {
  id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  reason: 'AWSLambdaBasicExecutionRole only lets the function write its own logs; CDK gives it to every function role.',
};

/** cdk-nag's name for "any version of this function": `<LogicalId.Arn>:*`. */
function functionVersions(fn: lambda.IFunction): string {
  const cfn = fn.node.defaultChild as cdk.CfnElement;
  return `Resource::<${cdk.Stack.of(cfn).resolve(cdk.Stack.of(cfn).getLogicalId(cfn))}.Arn>:*`;
}

/** A function lease-guard makes (the migration, the watchdog, a guarded job's function). */
export function acknowledgeFunction(fn: lambda.Function, options: { readonly runtimeChosenByUser: boolean }): void {
  acknowledge(fn, [
    BASIC_EXECUTION_ROLE,
    ...(options.runtimeChosenByUser
      ? []
      : [
          {
            id: 'AwsSolutions-L1',
            reason:
              'lease-guard runs on nodejs22.x, the runtime it is tested on (Lambda supports it); a guarded function takes another runtime through functionProps.runtime.',
          },
        ]),
  ]);
}

/** The role Scheduler assumes to invoke one function. */
export function acknowledgeInvokeRole(role: IConstruct, fn: lambda.IFunction): void {
  acknowledge(role, [
    {
      id: `AwsSolutions-IAM5[${functionVersions(fn)}]`,
      reason:
        'lambda:InvokeFunction on the function and its versions (<arn>:*), as Function.grantInvoke writes it; the role invokes that one function only.',
    },
  ]);
}

/** The CDK custom-resource Provider framework, whose resources aws-cdk-lib owns. */
export function acknowledgeProvider(provider: IConstruct, onEvent: lambda.IFunction): void {
  acknowledge(provider, [
    BASIC_EXECUTION_ROLE,
    {
      id: `AwsSolutions-IAM5[${functionVersions(onEvent)}]`,
      reason:
        "aws-cdk-lib's Provider framework may invoke the onEvent function and its versions; CDK writes that policy.",
    },
    { id: 'AwsSolutions-L1', reason: "The Provider framework's function and its runtime are chosen by aws-cdk-lib." },
  ]);
}

/** A dead-letter queue: nothing dead-letters a dead-letter queue. */
export function acknowledgeDeadLetterQueue(queue: IConstruct): void {
  acknowledge(queue, [
    {
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue; a dead-letter queue of a dead-letter queue would have nothing to catch.',
    },
  ]);
}

/** The lease user's generated secret. */
export function acknowledgeLeaseUserSecret(secret: IConstruct): void {
  acknowledge(secret, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'The lease user may only SELECT, INSERT and UPDATE one table. Rotation needs a rotation function with network access to the cluster; add it with userSecret.addRotationSchedule if your policy requires it (each deploy sets the password from the secret).',
    },
  ]);
}
