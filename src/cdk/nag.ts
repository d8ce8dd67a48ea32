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

/**
 * cdk-nag's name for an ARN and everything under it (`<arn>:*`): `<LogicalId.Arn>:*` for a resource
 * in the app, the ARN itself for an imported one.
 */
function arnWildcard(scope: IConstruct, arn: string): string {
  const resolved = cdk.Stack.of(scope).resolve(arn) as unknown;
  const getAtt = (resolved as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `Resource::<${String(getAtt[0])}.${String(getAtt[1])}>:*`;
  return `Resource::${typeof resolved === 'string' ? resolved : JSON.stringify(resolved)}:*`;
}

/** cdk-nag's name for "any version of this function". */
function functionVersions(fn: lambda.IFunction): string {
  return arnWildcard(fn, fn.functionArn);
}

/**
 * The customer-managed policy of a function role lease-guard makes (`LeaseGuardRole`): writing to
 * the function's own log streams, and the statements Lambda itself requires with `*`.
 */
export function acknowledgeExecutionPolicy(
  policy: IConstruct,
  logGroupArn: string,
  options: { readonly vpc: boolean; readonly tracing: boolean },
): void {
  const star = [
    ...(options.vpc
      ? [
          'the network-interface actions Lambda needs to attach a VPC function (ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DescribeSubnets, DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses, the actions of AWSLambdaVPCAccessExecutionRole), whose Describe actions support no resource-level permissions and whose interfaces do not exist before Lambda creates them',
        ]
      : []),
    ...(options.tracing
      ? ['xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions']
      : []),
  ];
  // A log group of this app is <LogicalId.Arn> (CloudFormation's ARN ends in `:*`); an imported one
  // is written out with its `:*`.
  const logs = cdk.Stack.of(policy).resolve(logGroupArn) as unknown;
  acknowledge(policy, [
    ...(typeof logs === 'string' && logs.includes('*')
      ? [
          {
            id: `AwsSolutions-IAM5[Resource::${logs}]`,
            reason:
              "logs:CreateLogStream and logs:PutLogEvents on the function's own log group and its streams, whose names Lambda chooses at run time.",
          },
        ]
      : []),
    ...(star.length > 0
      ? [{ id: 'AwsSolutions-IAM5[Resource::*]', reason: `Resource * only for ${star.join('; and ')}.` }]
      : []),
  ]);
}

/** A statement of aws-cdk-lib's KMS grants on one key, added to a lease-guard role. */
export function acknowledgeKeyGrant(policy: IConstruct, actions: readonly string[]): void {
  acknowledge(
    policy,
    actions.map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} is how aws-cdk-lib's key grants (grantEncryptDecrypt, grantDecrypt) name the variants of that action, on one key only: the key that encrypts a queue or secret the function uses.`,
    })),
  );
}

/** A function lease-guard makes (the migration, the watchdog, a guarded job's function). */
export function acknowledgeFunction(fn: lambda.Function, options: { readonly runtimeChosenByUser: boolean }): void {
  acknowledge(fn, [
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

/**
 * A function whose failed asynchronous invocations go to an on-failure destination (a dead-letter
 * queue of the construct's or yours): a dead-letter queue on the function as well would receive
 * every failed event a second time, with less in it (no error, no request context).
 */
export function acknowledgeOnFailureDestination(fn: lambda.Function): void {
  const reason =
    "Failed asynchronous invocations go to the function's on-failure destination (its EventInvokeConfig), an SQS queue that also records the error and request context; a DLQ as well would receive every failed event twice.";
  acknowledge(fn, [
    { id: 'Serverless-LambdaDLQ', reason },
    { id: 'HIPAA.Security-LambdaDLQ', reason },
  ]);
}

/** A function only ever invoked synchronously: a dead-letter queue would never receive anything. */
export function acknowledgeSynchronousFunction(fn: lambda.Function): void {
  const reason =
    'The Provider framework invokes this function synchronously (RequestResponse) and reports its errors to CloudFormation, which fails the deployment; a DLQ only receives failed asynchronous invocations, so it would stay empty. The framework function, which CloudFormation invokes asynchronously, takes functionOptions.deadLetterQueue.';
  acknowledge(fn, [
    { id: 'Serverless-LambdaDLQ', reason },
    { id: 'HIPAA.Security-LambdaDLQ', reason },
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
export function acknowledgeProvider(provider: IConstruct, role: IConstruct, onEvent: lambda.IFunction): void {
  acknowledge(role, [
    {
      id: `AwsSolutions-IAM5[${functionVersions(onEvent)}]`,
      reason:
        "aws-cdk-lib's Provider framework may invoke the onEvent function and its versions; CDK writes that policy.",
    },
  ]);
  acknowledge(provider, [
    { id: 'AwsSolutions-L1', reason: "The Provider framework's function and its runtime are chosen by aws-cdk-lib." },
  ]);
}

/** A dead-letter queue: nothing dead-letters a dead-letter queue. */
export function acknowledgeDeadLetterQueue(queue: IConstruct): void {
  const reason =
    'This queue is the dead-letter queue; a dead-letter queue of a dead-letter queue would have nothing to catch.';
  acknowledge(queue, [
    { id: 'AwsSolutions-SQS3', reason },
    { id: 'Serverless-SQSRedrivePolicy', reason },
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
