import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childModule } from '../support/prebuilt.js';
import { until } from '../support/until.js';

/**
 * Every way a process that started a throwaway database can end, tried with real signals on real
 * child processes: the server must stop and its data directory must go. The children start their
 * own throwaway servers (LEASE_GUARD_MYSQL_URL cleared), as a user's `lease-guard local` does.
 */

const MAIN = childModule('src/cli/main.ts');
const THROWAWAY = childModule('src/local/throwaway-mysql.ts');
const LOCAL = `import { main } from '${MAIN.url}'; await main(process.argv);`;
// What the tests and the demo do: start a throwaway server, then fail with an uncaught error.
const CRASH = `import { startThrowawayMysql } from '${THROWAWAY.url}';
process.on('SIGUSR2', () => { throw new Error('an uncaught error'); });
const db = await startThrowawayMysql();
process.stderr.write('lease-guard local: ' + db.flavor + ' pid ' + db.pid + ', data in ' + db.dataDir + '\\n');`;

// Both modules are bundled or both are sources, so one set of node arguments runs either.
const NODE = [process.execPath, ...MAIN.execArgv, '--input-type=module', '--eval'];

interface Started {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  readonly stderr: () => string;
  /** The throwaway server, once the child reported it. */
  readonly server: Promise<{ pid: number; dataDir: string }>;
}

function start(command: readonly string[]): Started {
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: process.cwd(),
    env: { ...process.env, LEASE_GUARD_MYSQL_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const server = new Promise<{ pid: number; dataDir: string }>((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
      const match = /pid (\d+), data in (\S+)\n/.exec(stderr);
      if (match) resolve({ pid: Number(match[1]), dataDir: match[2] as string });
    });
    exit.then((code) => reject(new Error(`exited with ${code} before its database was up: ${stderr}`)));
  });
  child.stdout?.resume();
  return { child, exit, stderr: () => stderr, server };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The server is gone and so is its directory (the reaper may take a moment after its owner died). */
async function cleanedUp({ pid, dataDir }: { pid: number; dataDir: string }): Promise<void> {
  await until(() => !alive(pid) && !existsSync(dataDir), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: `server ${pid} to stop and ${dataDir} to be deleted`,
  });
}

/** The local command ready: its server reported on stderr, running, and the environment printed. */
async function ready(started: Started): Promise<{ pid: number; dataDir: string }> {
  const server = await started.server;
  await until(() => /ready\./.test(started.stderr()), { timeoutMs: 60_000, what: 'lease-guard local to be ready' });
  expect(alive(server.pid) && existsSync(server.dataDir)).toBe(true);
  return server;
}

describe.concurrent('every exit path stops the throwaway database and deletes its directory', () => {
  it.each(['SIGHUP', 'SIGINT', 'SIGTERM'] as const)('lease-guard local, on %s', async (signal) => {
    const local = start([...NODE, LOCAL, 'lease-guard', 'local', '--port', '0']);
    try {
      const server = await ready(local);
      local.child.kill(signal);
      expect(await local.exit).toBe(0);
      expect(local.stderr()).toMatch(new RegExp(`${signal}, stopping…\\n.*stopped\\.\\n$`, 's'));
      await cleanedUp(server);
    } finally {
      local.child.kill('SIGKILL');
    }
  });

  it('lease-guard local, killed outright (SIGKILL runs no handler: the reaper cleans up)', async () => {
    const local = start([...NODE, LOCAL, 'lease-guard', 'local', '--port', '0']);
    const server = await ready(local);
    local.child.kill('SIGKILL');
    await local.exit;
    await cleanedUp(server);
  });

  it('lease-guard local, when its parent process dies', async () => {
    // The parent shell starts it in the background and is then killed; `local` is re-parented.
    const parent = start(['sh', '-c', '"$@" & wait', 'sh', ...NODE, LOCAL, 'lease-guard', 'local', '--port', '0']);
    try {
      const server = await ready(parent);
      parent.child.kill('SIGKILL');
      await parent.exit;
      await cleanedUp(server);
      // It stopped itself, cleanly: the reaper had nothing left to do.
      await until(() => /parent exited, stopping…\n.*stopped\.\n$/s.test(parent.stderr()), {
        what: 'lease-guard local to say it stopped',
      });
    } finally {
      parent.child.kill('SIGKILL');
    }
  });

  it('a process that started one (a test run, the demo) and dies of an uncaught error', async () => {
    const crashing = start([...NODE, CRASH]);
    const server = await crashing.server;
    expect(alive(server.pid) && existsSync(server.dataDir)).toBe(true);
    crashing.child.kill('SIGUSR2');
    expect(await crashing.exit).toBe(1);
    expect(crashing.stderr()).toMatch(/an uncaught error/);
    await cleanedUp(server);
  });
});
