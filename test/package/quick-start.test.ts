import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { packedTarball, REPO } from '../support/pack.js';
import { until } from '../support/until.js';

const execFileAsync = promisify(execFile);

/**
 * The README's quick start, as a new user runs it: its commands and files are read from README.md
 * itself (so they cannot drift), in an empty project outside the repository, with the package
 * installed from the packed tarball. Only what cannot be the same here is changed: the tarball
 * stands in for the registry's lease-guard, npm prefers its cache, and `lease-guard local` gets a
 * free port and a database on the suite's server instead of its own throwaway one.
 */

interface QuickStart {
  /** Shell commands in order, comments removed. */
  readonly commands: readonly string[];
  /** Files named by their first line (`// handler.ts`). */
  readonly files: ReadonlyMap<string, string>;
}

function readQuickStart(): QuickStart {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] as string }));
  const commands = blocks
    .filter((block) => block.lang === 'sh')
    .flatMap((block) => block.body.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
  const files = new Map<string, string>();
  for (const block of blocks) {
    const name = /^\/\/ ([\w.-]+)\n/.exec(block.body)?.[1];
    if (name) files.set(name, block.body);
  }
  return { commands, files };
}

/** A user's shell: none of this test run's variables (no npm_*, VITEST*, LEASE_GUARD_*, AWS_*). */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(npm_|VITEST|NODE_OPTIONS$|LEASE_GUARD_|AWS_|TEST$|MODE$)/i.test(name),
    ),
  );
  return { ...env, NO_UPDATE_NOTIFIER: '1', ...extra };
}

describe('the README quick start, pasted into an empty project', () => {
  const quickStart = readQuickStart();
  const project = join(inject('runDir'), 'quick-start', 'my-job');
  let local: ChildProcess | undefined;
  const outputs = new Map<string, string>();

  beforeAll(async () => {
    const { tarball } = await packedTarball();
    mkdirSync(project, { recursive: true });
    for (const [name, text] of quickStart.files) writeFileSync(join(project, name), text);

    let exports: Record<string, string> = {};
    for (const command of quickStart.commands) {
      if (command === 'npx lease-guard local') {
        const started = await startLocal(project, await freshDatabase('quick_start'));
        local = started.child;
        exports = started.exports;
        continue;
      }
      const line = command.startsWith('npm install')
        ? `${command.replace(/ lease-guard(?= |$)/, ` ${tarball}`)} --prefer-offline --no-audit --no-fund`
        : command;
      try {
        const { stdout } = await execFileAsync('sh', ['-c', line], {
          cwd: project,
          env: userEnv(exports),
          timeout: 180_000,
          maxBuffer: 16 * 1024 * 1024,
        });
        outputs.set(command, stdout);
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        throw new Error(`\`${command}\` failed:\n${e.stdout ?? ''}${e.stderr ?? String(error)}`);
      }
    }
  }, 300_000);

  afterAll(async () => {
    if (local && local.exitCode === null) {
      // Ctrl-C in the terminal signals the whole foreground group, npx's children included.
      process.kill(-(local.pid as number), 'SIGINT');
      await once(local, 'exit');
    }
  });

  it('has the steps a new user needs, in order', () => {
    expect([...quickStart.files.keys()].sort()).toEqual(['handler.ts', 'invoke.ts', 'tsconfig.json']);
    expect(quickStart.commands).toEqual([
      'npm init -y && npm pkg set type=module',
      expect.stringMatching(/^npm install lease-guard /),
      expect.stringMatching(/^npm install --save-dev /),
      'npx lease-guard local',
      'npx tsc',
      'npx tsx invoke.ts',
      'npx lease-guard status',
    ]);
    expect(JSON.parse(readFileSync(join(project, 'tsconfig.json'), 'utf8').replace(/^\/\/.*\n/, ''))).toMatchObject({
      compilerOptions: { strict: true, skipLibCheck: false },
    });
  });

  it('typechecks under strict settings, the packages’ own types included', () => {
    expect(outputs.get('npx tsc')).toBe('');
  });

  it('runs the job once for two deliveries of the current tick', () => {
    const out = outputs.get('npx tsx invoke.ts') as string;
    const ran = /\{\s*sent: '([^']+)',\s*fence: (\d+)\s*\}/.exec(out);
    expect(ran, out).not.toBeNull();
    const tick = new Date(ran?.[1] as string);
    expect(Math.abs(Date.now() - tick.getTime())).toBeLessThan(10 * 60_000);
    expect(out).toMatch(/status: 'skipped',\s*reason: '(held|tick-done)',\s*job: 'send-invoices'/);
    expect(out.match(/status: 'skipped'/g)).toHaveLength(1);
  });

  it('shows the job in lease-guard status', () => {
    expect(outputs.get('npx lease-guard status')).toMatch(/send-invoices/);
  });
});

/** `npx lease-guard local` as the README runs it, until it has printed the environment. */
async function startLocal(
  project: string,
  mysqlUrl: string,
): Promise<{ child: ChildProcess; exports: Record<string, string> }> {
  const child = spawn('sh', ['-c', 'npx lease-guard local --port 0'], {
    cwd: project,
    env: userEnv({ LEASE_GUARD_MYSQL_URL: mysqlUrl }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, as a terminal's foreground job
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  await until(() => /ready\./.test(stderr) || child.exitCode !== null, {
    timeoutMs: 120_000,
    what: 'lease-guard local to be ready',
  });
  if (child.exitCode !== null) throw new Error(`lease-guard local exited with ${child.exitCode}: ${stderr}`);
  const exports = Object.fromEntries(
    [...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  expect(Object.keys(exports)).toContain('AWS_ENDPOINT_URL_RDS_DATA');
  return { child, exports };
}
