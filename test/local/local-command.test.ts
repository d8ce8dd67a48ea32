import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { LocalEnvironment } from '../../src/local/local-command.js';
import { createDataApiExecutor } from '../../src/sql/data-api-executor.js';
import { freshDatabase } from '../support/database.js';
import { childModule } from '../support/prebuilt.js';

// The CLI's main as the bin file runs it from dist/, but from this run's bundle of the source (or the
// source under tsx): the test needs no build step and cannot pick up a stale dist/.
const MAIN = childModule('src/cli/main.ts');
const CLI = `import { main } from '${MAIN.url}'; await main(process.argv);`;

interface Cli {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

function lease_guard(...args: string[]): Cli {
  return lease_guard_with({}, ...args);
}

function lease_guard_with(env: Readonly<Record<string, string>>, ...args: string[]): Cli {
  const child = spawn(
    process.execPath,
    [...MAIN.execArgv, '--input-type=module', '--eval', CLI, 'lease-guard', ...args],
    {
      cwd: process.cwd(),
      env: { ...process.env, LEASE_GUARD_MYSQL_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** The first line on stdout: the environment, once everything is ready. */
async function firstLine(cli: Cli): Promise<string> {
  const ready = new Promise<string>((resolve) => {
    const check = (): void => {
      const text = cli.stdout();
      if (text.includes('\n')) {
        cli.child.stdout?.off('data', check);
        resolve(text.slice(0, text.indexOf('\n')));
      }
    };
    cli.child.stdout?.on('data', check);
    check();
  });
  const exited = cli.exit.then((code) => {
    throw new Error(`lease-guard local exited with ${code} before it was ready: ${cli.stderr()}`);
  });
  return Promise.race([ready, exited]);
}

describe('lease-guard local', () => {
  const running: Cli[] = [];
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const cli of running.splice(0)) {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      await cli.exit;
    }
  });

  it('serves the Data API with the printed environment, and stops cleanly on SIGTERM', async () => {
    const mysqlUrl = await freshDatabase('cli_local');
    const cli = lease_guard('local', '--json', '--port', '0', '--mysql-url', mysqlUrl, '--table', 'cli_leases');
    running.push(cli);
    const env = JSON.parse(await firstLine(cli)) as LocalEnvironment;
    expect(env).toEqual({
      AWS_ENDPOINT_URL_RDS_DATA: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      LEASE_GUARD_RESOURCE_ARN: expect.stringMatching(/^arn:aws:rds:/),
      LEASE_GUARD_SECRET_ARN: expect.stringMatching(/^arn:aws:secretsmanager:/),
      LEASE_GUARD_DATABASE: new URL(mysqlUrl).pathname.slice(1),
      LEASE_GUARD_TABLE: 'cli_leases',
    });

    // Nothing but the environment: the SDK finds the endpoint, region and credentials by itself.
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const client = new RDSDataClient({});
    const executor = createDataApiExecutor();
    try {
      const out = await client.send(
        new ExecuteStatementCommand({
          resourceArn: env.LEASE_GUARD_RESOURCE_ARN,
          secretArn: env.LEASE_GUARD_SECRET_ARN,
          database: env.LEASE_GUARD_DATABASE,
          sql: 'SELECT COUNT(*) AS n FROM cli_leases',
        }),
      );
      expect(out.records).toEqual([[{ longValue: 0 }]]);
      const store = createSqlLeaseStore({ executor, table: env.LEASE_GUARD_TABLE });
      const claim = await store.claim({ job: 'cli-job', holder: 'me', leaseMs: 60_000 });
      expect(claim).toEqual({ acquired: true, fence: 1 });
      expect(await store.claim({ job: 'cli-job', holder: 'you', leaseMs: 60_000 })).toEqual({
        acquired: false,
        reason: 'held',
      });
    } finally {
      client.destroy();
      await executor.close();
    }

    // Another shell with the printed environment: status lists the job, and nothing else is printed
    // (no AWS SDK notice about Node versions).
    const status = lease_guard_with({ ...env }, 'status');
    running.push(status);
    expect(await status.exit).toBe(0);
    expect(status.stdout()).toContain('cli-job');
    expect(status.stderr()).toBe('');

    cli.child.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    expect(cli.stderr()).toMatch(/stopped\.\n$/);
  });

  it('prints export lines by default', async () => {
    const cli = lease_guard('local', '--port', '0', '--mysql-url', await freshDatabase('cli_exports'));
    running.push(cli);
    expect(await firstLine(cli)).toMatch(/^export AWS_ENDPOINT_URL_RDS_DATA='http:\/\/127\.0\.0\.1:\d+'$/);
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(0);
    expect(cli.stdout()).toMatch(/^export LEASE_GUARD_TABLE='lease_guard'$/m);
  });

  it.each([
    [['local', '--table', 'bad-name'], /^lease-guard: --table must be an SQL identifier/],
    [['local', '--port', '70000'], /argument '70000' is invalid/],
    [['local', '--mysql-url', 'postgres://x'], /expected a mysql:\/\/ URL/],
    [['local', '--nope'], /unknown option '--nope'/],
    [['nope'], /unknown command 'nope'/],
  ])('fails %j with one clear line and exit code 1', async (args, message) => {
    const cli = lease_guard(...args);
    running.push(cli);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr()).not.toMatch(/^\s+at /m);
  });

  it('says so when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const cli = lease_guard('local', '--port', String(port), '--mysql-url', await freshDatabase('cli_port'));
      running.push(cli);
      expect(await cli.exit).toBe(1);
      expect(cli.stderr()).toMatch(new RegExp(`^lease-guard: Port ${port} on 127\\.0\\.0\\.1 is already in use`, 'm'));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
