import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledHandlers, importScript } from '../infra/bundled-handlers.js';
import { packedTarball, REPO } from '../support/pack.js';

const execFileAsync = promisify(execFile);

/** execFile that fails with the command's own output, so a compiler or synth error is readable. */
async function run(
  command: string,
  args: readonly string[],
  options: Parameters<typeof execFileAsync>[2],
): Promise<{ stdout: string }> {
  try {
    const { stdout } = await execFileAsync(command, args, { ...options, encoding: 'utf8' });
    return { stdout };
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}
const MODULES = join(REPO, 'node_modules');
const TSC = join(MODULES, 'typescript/bin/tsc');
/** Offline and quiet, as a CI machine runs the CDK. */
const ENV = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_NOTICES: 'false', NO_UPDATE_NOTIFIER: '1' };

/**
 * A user's app, the same source for both module systems: a cluster with the Data API, the lease
 * table, a guarded schedule of a function the app already has, and the watchdog; synthesised to the
 * directory given as its argument, offline (explicit region, no lookups).
 */
const APP = `import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { GuardedSchedule, LeaseTable, LeaseWatchdog } from 'lease-guard/cdk';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Consumer', { env: { region: 'eu-west-1' } });
const vpc = new ec2.Vpc(stack, 'Vpc', {
  natGateways: 0,
  subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
});
const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
  engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_3 }),
  writer: rds.ClusterInstance.serverlessV2('Writer'),
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  enableDataApi: true,
  defaultDatabaseName: 'app',
});
const leases = new LeaseTable(stack, 'Leases', { cluster, databaseName: 'app' });
const job = new lambda.Function(stack, 'Job', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => {};'),
  timeout: Duration.minutes(1),
});
new GuardedSchedule(stack, 'Report', {
  job: 'report',
  database: leases.leaseDatabase,
  lambdaFunction: job,
  schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
});
new LeaseWatchdog(stack, 'Watchdog', { database: leases.leaseDatabase }).watch('report', {
  period: Duration.minutes(5),
});
app.synth();
`;

/** `cdk init app --language typescript`'s compiler settings (CommonJS package, NodeNext), emitting JS. */
const CDK_INIT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    strict: true,
    skipLibCheck: true,
    isolatedModules: true,
    types: ['node'],
    outDir: 'build',
  },
  include: ['bin/**/*.ts'],
};

// A user outside this repository installs the packed tarball and synthesises with lease-guard/cdk,
// from an ES-module app and from a CommonJS TypeScript app laid out like `cdk init`'s. Both apps
// live in one project (a CommonJS package, as `cdk init` makes; the ES module is an `.mjs` file),
// so the tarball is installed once: what Node resolves depends on how each file imports.
describe.concurrent('lease-guard/cdk from the packed tarball', () => {
  const root = mkdtempSync(join(tmpdir(), 'lease-guard-consumers-'));
  let dir: string;

  beforeAll(async () => {
    // The run's one npm pack (its prepack build included), made from a copy of this checkout.
    dir = await freshProject((await packedTarball()).tarball);
  }, 300_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A fresh project: the tarball from the registry's point of view, aws-cdk-lib and constructs as the user has them. */
  async function freshProject(tarball: string): Promise<string> {
    const project = join(root, 'cdk-app');
    mkdirSync(join(project, 'bin'), { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'cdk-app', private: true }));
    // The CDK packages (and Node's types) are linked from this checkout (offline); lease-guard's own dependencies come
    // from the npm cache; its peers for the middleware are not needed by the constructs.
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--legacy-peer-deps',
        '--no-package-lock',
        tarball,
        join(MODULES, 'aws-cdk-lib'),
        join(MODULES, 'constructs'),
        join(MODULES, '@types/node'),
      ],
      { cwd: project, env: ENV, timeout: 180_000 },
    );
    return project;
  }

  /** Synthesises with the (compiled) app into its own output directory and returns that. */
  async function synth(script: string, compile: boolean): Promise<string> {
    const outdir = join(dir, `cdk.out.${script.replaceAll('/', '-')}`);
    if (compile) await run(TSC, ['-p', '.'], { cwd: dir, env: ENV });
    // As the CDK CLI passes a project's context, with CloudFormation validation errors fatal.
    const context = JSON.stringify({ '@aws-cdk/core:validateAgainstDefaultRules': true });
    await run(process.execPath, [script, outdir], { cwd: dir, env: { ...ENV, CDK_CONTEXT_JSON: context } });
    return outdir;
  }

  /** Every function of the stack whose code is an ES module loads in Node; returns their files. */
  async function loadHandlers(outdir: string): Promise<string[]> {
    const handlers = bundledHandlers(outdir, 'Consumer.template.json');
    for (const handler of handlers) {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', importScript(handler)], {
        cwd: handler.dir,
        env: ENV,
      });
      expect(stdout.trim()).toBe('function');
    }
    return handlers.map((handler) => `${handler.file}#${handler.exportName}`).sort();
  }

  function checkTemplate(outdir: string): void {
    const template = JSON.parse(readFileSync(join(outdir, 'Consumer.template.json'), 'utf8'));
    const types = Object.values<{ Type: string }>(template.Resources).map((resource) => resource.Type);
    expect(types).toEqual(expect.arrayContaining(['Custom::LeaseGuardTable', 'AWS::CloudWatch::Alarm']));
    expect(types.filter((type) => type === 'AWS::Scheduler::Schedule')).toHaveLength(2);
    // Every template passed CloudFormation's resource schemas (a finding would have failed the synth).
    expect(JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')).pluginReports).toEqual([]);
  }

  it('synthesises from an ES-module app, with the prebuilt migration and watchdog', async () => {
    // Plain JavaScript: the app's source has no types, and the TypeScript path is the CommonJS app's.
    writeFileSync(join(dir, 'bin/app.mjs'), APP);
    const outdir = await synth('bin/app.mjs', false);
    // An import resolves the ES module, where the CommonJS app beside it gets the CommonJS copy.
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('lease-guard/cdk'))"],
      { cwd: dir },
    );
    expect(stdout.trim()).toMatch(/node_modules\/lease-guard\/dist\/cdk\/index\.js$/);
    checkTemplate(outdir);
    // The migration and the watchdog, from dist/cdk/assets: no esbuild in this app.
    expect(existsSync(join(dir, 'node_modules/esbuild'))).toBe(false);
    expect(await loadHandlers(outdir)).toEqual(['index.mjs#migrate', 'index.mjs#watchdog']);
  }, 420_000);

  it('synthesises from a CommonJS TypeScript app laid out like cdk init, through the CommonJS copy', async () => {
    writeFileSync(join(dir, 'bin/app.ts'), APP);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(CDK_INIT_TSCONFIG));
    const outdir = await synth('build/app.js', true);
    // tsc wrote require() calls, and require resolves the CommonJS copy, not the ES module.
    expect(readFileSync(join(dir, 'build/app.js'), 'utf8')).toContain('require("lease-guard/cdk")');
    const { stdout } = await run(process.execPath, ['-p', "require.resolve('lease-guard/cdk')"], { cwd: dir });
    expect(stdout.trim()).toMatch(/node_modules\/lease-guard\/dist\/cdk\/index\.cjs$/);
    checkTemplate(outdir);
    expect(await loadHandlers(outdir)).toEqual(['index.mjs#migrate', 'index.mjs#watchdog']);
  }, 420_000);
});
