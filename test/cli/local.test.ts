import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { childModule } from '../support/prebuilt.js';

// The CLI as a real process, from this run's bundle of the source (see test/local/local-command.test.ts).
const MAIN = childModule('src/cli/main.ts');
const CLI = `import { main } from '${MAIN.url}'; await main(process.argv);`;

interface Cli {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
  /** Resolves with the first match of `pattern` on stderr, or fails if the process exits first. */
  saying(pattern: RegExp): Promise<RegExpExecArray>;
}

function lease_guard(...args: string[]): Cli {
  // No LEASE_GUARD_MYSQL_URL: `local` starts its own throwaway server, as a user's does.
  const child = spawn(
    process.execPath,
    [...MAIN.execArgv, '--input-type=module', '--eval', CLI, 'lease-guard', ...args],
    {
      cwd: process.cwd(),
      env: { ...process.env, LEASE_GUARD_MYSQL_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    stderr: () => stderr,
    exit,
    saying(pattern) {
      const found = new Promise<RegExpExecArray>((resolve) => {
        const check = (): void => {
          const match = pattern.exec(stderr);
          if (!match) return;
          child.stderr?.off('data', check);
          resolve(match);
        };
        child.stderr?.on('data', check);
        check();
      });
      const exited = exit.then((code) => {
        throw new Error(`lease-guard exited with ${code} before saying ${pattern}: ${stderr}`);
      });
      return Promise.race([found, exited]);
    },
  };
}

/** Issue 22: `lease-guard local` when its port is taken, and when its database dies under it. */
describe('lease-guard local at 3 a.m.', () => {
  const running: Cli[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exit;
    }
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  it('checks the port before it starts a database, and names --port and --port 0', async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    const cli = lease_guard('local', '--port', String(port));
    running.push(cli);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toBe(
      `lease-guard: Port ${port} on 127.0.0.1 is already in use: pass --port with another port, or --port 0 to pick a free one.\n`,
    );
    // Nothing was started: no "starting a throwaway database…" before the error.
    expect(cli.stderr()).not.toMatch(/throwaway|pid/);
  });

  it('says its database went away and exits non-zero when the database is killed', async () => {
    const cli = lease_guard('local', '--port', '0');
    running.push(cli);
    const [, pid] = await cli.saying(/lease-guard local: \w+ pid (\d+), data in /);
    await cli.saying(/ready\. Paste the lines above/);
    process.kill(Number(pid), 'SIGKILL');
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(
      new RegExp(
        `lease-guard local: the database \\w+ \\(pid ${pid}\\) went away \\(\\w+\\); stopping…\\nlease-guard: the database \\w+ \\(pid ${pid}\\) went away \\(\\w+\\), so the Data API server could not answer any more; it was stopped\\. Run \`lease-guard local\` again\\.\\n$`,
      ),
    );
  });
});
