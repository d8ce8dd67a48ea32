import { Annotations, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { constructError } from './errors.js';
import { HANDLER_RUNTIME } from './handler-code.js';
import { acknowledgeExecutionPolicy, acknowledgeKeyGrant } from './nag.js';

/**
 * Settings of the functions lease-guard deploys itself: `LeaseTable`'s migration (and the custom
 * resource framework function that calls it) and `LeaseWatchdog`'s function. The names and
 * meanings are aws-cdk-lib's `FunctionProps`; each is optional and applies to every such function
 * of the construct.
 */
export interface LeaseGuardFunctionOptions {
  /**
   * The runtime: Node.js 22 or later (the functions ship as one bundle built for Node.js 22).
   *
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * The VPC to run the functions in. They reach the cluster only through the Data API, which is
   * outside the VPC: subnets without NAT need interface endpoints (`LeaseGuardEndpoints`).
   *
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /** @default - the VPC's default selection (private subnets) */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /** @default - a new security group that allows all outbound traffic and no inbound */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /** @default lambda.Tracing.DISABLED */
  readonly tracing?: lambda.Tracing;

  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;

  /**
   * Where the events of asynchronous invocations that failed go: the watchdog's scheduled runs (its
   * on-failure destination) and CloudFormation's calls of the custom resource framework's function
   * (its dead-letter queue). The migration function is invoked synchronously by that framework, so
   * its failures fail the deployment instead.
   *
   * @default - none
   */
  readonly deadLetterQueue?: sqs.IQueue;

  /**
   * The key that encrypts the functions' environment variables.
   *
   * @default - the AWS managed key for Lambda
   */
  readonly environmentEncryption?: kms.IKey;

  /**
   * How long the functions' logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The KMS key that encrypts the functions' log groups. Its key policy is given a statement that
   * lets CloudWatch Logs in this region use it for these log groups.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * What happens to the log groups when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The log group of one of lease-guard's functions, with retention, key and removal policy. */
export function createLogGroup(
  scope: Construct,
  id: string,
  options: Pick<LeaseGuardFunctionOptions, 'logRetention' | 'logEncryptionKey' | 'logRemovalPolicy'>,
): logs.LogGroup {
  const key = options.logEncryptionKey;
  const group = new logs.LogGroup(scope, id, {
    retention: options.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    ...(key ? { encryptionKey: key } : {}),
  });
  if (key) allowLogsToUse(key, group);
  return group;
}

/** Keys whose policy already lets CloudWatch Logs in. */
const logKeys = new WeakSet<kms.IKey>();

/**
 * CloudWatch Logs may use a customer-managed key only if the key policy lets its service principal
 * in, for log groups of this account and region (the encryption context it sends; naming the log
 * group itself would make the key and the group depend on each other). A no-op on an imported key,
 * whose policy is its owner's to change.
 */
function allowLogsToUse(key: kms.IKey, group: logs.ILogGroup): void {
  if (logKeys.has(key)) return;
  logKeys.add(key);
  const stack = Stack.of(group);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
    true,
  );
}

/** A Node.js 22 or later runtime for lease-guard's own functions. */
export function checkHandlerRuntime(scope: IConstruct, runtime: lambda.Runtime | undefined): lambda.Runtime {
  if (runtime === undefined) return HANDLER_RUNTIME;
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (runtime.family !== lambda.RuntimeFamily.NODEJS || (major !== undefined && Number(major) < 22)) {
    throw constructError(
      scope,
      `functionOptions.runtime must be Node.js 22 or later (lease-guard's functions are built for it), got ${runtime.name}; use lambda.Runtime.NODEJS_22_X or NODEJS_24_X.`,
    );
  }
  return runtime;
}

/**
 * A function role whose permissions go to one customer-managed policy (`AWS::IAM::ManagedPolicy`)
 * instead of an inline default policy: every grant to it (lease-guard's and yours) lands there, no
 * AWS managed policy is attached (logs and, in a VPC, network interfaces are granted explicitly),
 * and HIPAA's IAMNoInlinePolicy has nothing to flag.
 */
export class LeaseGuardRole extends iam.Role {
  /** The policy every statement added to this role goes to. */
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: iam.RoleProps) {
    super(scope, id, props);
    this.policy = new iam.ManagedPolicy(this, 'Policy', { roles: [this] });
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    // aws-cdk-lib's key grants (a KMS-encrypted queue or secret) name action families with a
    // wildcard, on one key.
    const families = statement.actions.filter((action) => action.startsWith('kms:') && action.includes('*'));
    if (families.length > 0 && !statement.resources.includes('*')) acknowledgeKeyGrant(this.policy, families);
    return { statementAdded: true, policyDependable: this.policy };
  }
}

/** The execution role of a function lease-guard makes: Lambda may assume it; nothing granted yet. */
export function functionRole(scope: Construct, id: string, service = 'lambda.amazonaws.com'): LeaseGuardRole {
  return new LeaseGuardRole(scope, id, { assumedBy: new iam.ServicePrincipal(service) });
}

/**
 * What a function needs from its role beyond its grants, written least-privilege: writing to its
 * own log group, and in a VPC the network-interface actions Lambda performs with the role (what
 * `AWSLambdaVPCAccessExecutionRole` allows, without an AWS managed policy). The function waits for
 * the policy: Lambda checks the network-interface permissions when it creates a VPC function.
 */
export function grantExecution(fn: lambda.Function, role: LeaseGuardRole, logGroup: logs.ILogGroup): void {
  // The log group's ARN attribute already ends in `:*`, which covers its streams.
  logGroup.grantWrite(role);
  if (fn.isBoundToVpc) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }
  fn.node.addDependency(role.policy);
  const tracing = Stack.of(fn).resolve((fn.node.defaultChild as lambda.CfnFunction).tracingConfig) as
    | { mode?: string }
    | undefined;
  acknowledgeExecutionPolicy(role.policy, logGroup.logGroupArn, {
    vpc: fn.isBoundToVpc,
    tracing: tracing?.mode !== undefined && tracing.mode !== lambda.Tracing.DISABLED,
  });
}

/** The interface endpoints a function in subnets without NAT needs, by the AWS service it calls. */
export const DATA_API_SERVICES = ['rds-data', 'secretsmanager'] as const;

/**
 * A function in isolated subnets (no NAT) reaches AWS APIs only through VPC endpoints. Unless the
 * stack defines interface endpoints for every service in `services` in that VPC, the construct
 * gets a warning (acknowledge it with `Annotations.of(construct).acknowledgeWarning(id)` when the
 * endpoints live elsewhere, e.g. in a shared VPC).
 */
export function warnIfIsolated(
  scope: IConstruct,
  what: string,
  vpc: ec2.IVpc | undefined,
  subnets: ec2.SubnetSelection | undefined,
  services: readonly string[],
): void {
  if (!vpc) return;
  const selected = vpc.selectSubnets(subnets);
  const isolated = new Set(vpc.isolatedSubnets.map((subnet) => subnet.subnetId));
  if (selected.subnets.length === 0 || !selected.subnets.every((subnet) => isolated.has(subnet.subnetId))) return;
  // Checked when the app is synthesised, so endpoints defined after this construct count.
  scope.node.addValidation({
    validate: () => {
      const missing = services.filter((service) => !hasEndpoint(scope, vpc, service));
      if (missing.length > 0) {
        Annotations.of(scope).addWarningV2(
          'lease-guard:isolated-subnets',
          `${what} runs in isolated subnets (no NAT) but the VPC has no endpoint for ${missing.join(', ')} in this stack: its calls will time out. Add new LeaseGuardEndpoints(this, 'Endpoints', { vpc }) (or your own endpoints, or a NAT gateway), or acknowledge this warning if the endpoints are defined elsewhere.`,
        );
      }
      return [];
    },
  });
}

function hasEndpoint(scope: IConstruct, vpc: ec2.IVpc, service: string): boolean {
  const stack = Stack.of(scope);
  const vpcId = stack.resolve(vpc.vpcId);
  return stack.node.findAll().some((construct) => {
    if (!(construct instanceof ec2.CfnVPCEndpoint)) return false;
    const name = stack.resolve(construct.serviceName);
    const serviceName = typeof name === 'string' ? name : JSON.stringify(name);
    return (
      JSON.stringify(stack.resolve(construct.vpcId)) === JSON.stringify(vpcId) &&
      (serviceName.endsWith(`.${service}`) || serviceName.includes(`.${service}"`))
    );
  });
}

export interface LeaseGuardEndpointsProps {
  /** The VPC the guarded (or lease-guard's own) functions run in. */
  readonly vpc: ec2.IVpc;

  /**
   * Where the endpoints' network interfaces go.
   *
   * @default - the VPC's isolated subnets, else its private ones (one per availability zone)
   */
  readonly subnets?: ec2.SubnetSelection;

  /**
   * What may reach the endpoints on port 443, e.g. the security group your functions and
   * `functionOptions.securityGroups` share. More with `allowFrom`.
   *
   * @default - the VPC's address range (aws-cdk-lib's `open`)
   */
  readonly allowFrom?: readonly ec2.IConnectable[];

  /**
   * Whether to add what `LeaseTable`'s custom resource framework needs in the VPC besides: a
   * `lambda` interface endpoint (it invokes the migration) and an S3 gateway endpoint (it answers
   * CloudFormation through a presigned S3 URL).
   *
   * @default false
   */
  readonly forLeaseTable?: boolean;
}

/**
 * The VPC endpoints lease-guard's functions need in subnets without NAT: `rds-data` (the Data API)
 * and `secretsmanager` (the Data API reads the secret as the caller; the migration's extension
 * reads the lease user's secret), with private DNS, open to the VPC's address range on 443.
 * Define one per VPC: interface endpoints with private DNS for the same service cannot coexist.
 */
export class LeaseGuardEndpoints extends Construct {
  readonly endpoints: readonly ec2.IVpcEndpoint[];
  private readonly interfaces: readonly ec2.InterfaceVpcEndpoint[];

  constructor(scope: Construct, id: string, props: LeaseGuardEndpointsProps) {
    super(scope, id);
    const subnets =
      props.subnets ??
      (props.vpc.isolatedSubnets.length > 0
        ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED, onePerAz: true }
        : { onePerAz: true });
    const interfaces: [string, ec2.InterfaceVpcEndpointAwsService][] = [
      ['DataApi', new ec2.InterfaceVpcEndpointAwsService('rds-data')],
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
      ...(props.forLeaseTable
        ? ([['Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA]] as [string, ec2.InterfaceVpcEndpointAwsService][])
        : []),
    ];
    this.interfaces = interfaces.map(
      ([name, service]) =>
        new ec2.InterfaceVpcEndpoint(this, name, {
          vpc: props.vpc,
          service,
          subnets,
          privateDnsEnabled: true,
          open: props.allowFrom === undefined,
        }),
    );
    this.allowFrom(...(props.allowFrom ?? []));
    const endpoints: ec2.IVpcEndpoint[] = [...this.interfaces];
    if (props.forLeaseTable) {
      endpoints.push(
        new ec2.GatewayVpcEndpoint(this, 'S3', {
          vpc: props.vpc,
          service: ec2.GatewayVpcEndpointAwsService.S3,
          subnets: [subnets],
        }),
      );
    }
    this.endpoints = endpoints;
  }

  /** Lets `peers` reach the interface endpoints on port 443. */
  allowFrom(...peers: ec2.IConnectable[]): void {
    for (const endpoint of this.interfaces) {
      for (const peer of peers) endpoint.connections.allowDefaultPortFrom(peer, 'lease-guard functions');
    }
  }
}

/** One of lease-guard's own functions, as `LeaseTable` and `LeaseWatchdog` define it. */
export interface HandlerFunction {
  readonly fn: lambda.Function;
  readonly role: LeaseGuardRole;
  readonly logGroup: logs.LogGroup;
}

/**
 * One of lease-guard's own functions (prebuilt code, ARM64, 256 MB) with `options` applied: its own
 * role with one customer-managed policy, its own log group, the network, tracing, concurrency,
 * dead-letter queue and environment key asked for.
 */
export function createHandlerFunction(
  scope: Construct,
  id: string,
  options: LeaseGuardFunctionOptions,
  props: Pick<
    lambda.FunctionProps,
    'code' | 'handler' | 'timeout' | 'description' | 'environment' | 'paramsAndSecrets'
  >,
  logGroupId: string,
): HandlerFunction {
  const logGroup = createLogGroup(scope, logGroupId, options);
  const role = functionRole(scope, `${id}Role`);
  const fn = new lambda.Function(scope, id, {
    ...props,
    runtime: checkHandlerRuntime(scope, options.runtime),
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    role,
    logGroup,
    vpc: options.vpc,
    vpcSubnets: options.vpcSubnets,
    securityGroups: options.securityGroups,
    tracing: options.tracing,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    environmentEncryption: options.environmentEncryption,
  });
  grantExecution(fn, role, logGroup);
  return { fn, role, logGroup };
}

/** `options` as the props of `cr.Provider`, with its own role and log group. */
export function providerOptions(
  scope: Construct,
  options: LeaseGuardFunctionOptions,
): { readonly role: LeaseGuardRole; readonly logGroup: logs.LogGroup } & Pick<
  cr.ProviderProps,
  'vpc' | 'vpcSubnets' | 'securityGroups' | 'providerFunctionEnvEncryption'
> {
  return {
    role: functionRole(scope, 'ProviderRole'),
    logGroup: createLogGroup(scope, 'ProviderLogs', options),
    vpc: options.vpc,
    vpcSubnets: options.vpcSubnets,
    securityGroups: options.securityGroups,
    providerFunctionEnvEncryption: options.environmentEncryption,
  };
}

/**
 * The rest of `options` on the Provider framework's function, which `cr.Provider` has no props
 * for: tracing, reserved concurrency, the dead-letter queue (CloudFormation invokes it
 * asynchronously), an explicit memory size (aws-cdk-lib leaves Lambda's 128 MB default implicit),
 * and its execution permissions on the role given to the Provider.
 */
export function configureProviderFunction(
  provider: cr.Provider,
  role: LeaseGuardRole,
  logGroup: logs.ILogGroup,
  options: LeaseGuardFunctionOptions,
): lambda.Function {
  const fn = provider.node.findChild('framework-onEvent') as lambda.Function;
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  cfn.memorySize = 128;
  if (options.tracing !== undefined && options.tracing !== lambda.Tracing.DISABLED) {
    cfn.tracingConfig = { mode: options.tracing };
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
    );
  }
  if (options.reservedConcurrentExecutions !== undefined) {
    cfn.reservedConcurrentExecutions = options.reservedConcurrentExecutions;
  }
  if (options.deadLetterQueue) {
    cfn.deadLetterConfig = { targetArn: options.deadLetterQueue.queueArn };
    options.deadLetterQueue.grantSendMessages(role);
  }
  grantExecution(fn, role, logGroup);
  return fn;
}
