import { CfnResource } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag suppressions, each with its reason, written as the `cdk_nag` metadata cdk-nag reads, so
 * the constructs need no dependency on cdk-nag. Only findings the construct cannot fix are here.
 */
interface Suppression {
  readonly id: string;
  readonly reason: string;
  readonly appliesTo?: readonly string[];
}

function suppress(scope: IConstruct, suppressions: readonly Suppression[]): void {
  for (const construct of scope.node.findAll()) {
    if (!(construct instanceof CfnResource)) continue;
    const existing = (construct.getMetadata('cdk_nag') as { rules_to_suppress?: unknown[] } | undefined)
      ?.rules_to_suppress;
    construct.addMetadata('cdk_nag', {
      rules_to_suppress: [
        ...(existing ?? []),
        ...suppressions.map((s) => ({
          id: s.id,
          reason: s.reason,
          ...(s.appliesTo ? { applies_to: s.appliesTo } : {}),
        })),
      ],
    });
  }
}

const BASIC_EXECUTION_ROLE = {
  id: 'AwsSolutions-IAM4',
  reason:
    'AWSLambdaBasicExecutionRole only lets the function write its own logs; CDK attaches it to every function role.',
  appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
};

/** A lease-guard function (the migration, the watchdog) and its role. */
export function suppressFunctionFindings(fn: lambda.Function): void {
  suppress(fn, [
    BASIC_EXECUTION_ROLE,
    {
      id: 'AwsSolutions-L1',
      reason:
        "lease-guard's own functions run on the Node.js version their prebuilt bundle was built and tested for (nodejs22.x).",
    },
  ]);
}

/** The CDK custom-resource Provider framework, whose resources CDK owns. */
export function suppressFrameworkFindings(provider: IConstruct): void {
  suppress(provider, [
    BASIC_EXECUTION_ROLE,
    {
      id: 'AwsSolutions-IAM5',
      reason:
        "CDK's Provider framework grants itself lambda:InvokeFunction on the onEvent function's versions (<arn>:*); CDK owns that policy.",
    },
    {
      id: 'AwsSolutions-L1',
      reason: "The Provider framework's function and its runtime are chosen by aws-cdk-lib, not by this construct.",
    },
  ]);
}

/** A dead-letter queue: nothing dead-letters a dead-letter queue. */
export function suppressDeadLetterQueueFindings(queue: sqs.Queue): void {
  suppress(queue, [
    {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue; a dead-letter queue of a dead-letter queue has nothing to catch.',
    },
  ]);
}
