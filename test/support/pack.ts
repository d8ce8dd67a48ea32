import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { until } from './until.js';

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, '../..');

/** What `npm pack` reported about the tarball. */
export interface Packed {
  readonly tarball: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

/** What the build needs; the copy keeps `npm pack`'s build from replacing this checkout's dist/ under other tests. */
const SOURCES = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'LICENSE',
  'src',
  'bin',
  'scripts',
];

/**
 * The package exactly as `npm pack` makes it (its prepack build included), made once per test run:
 * the first test file to ask packs; the others wait for its answer.
 */
export async function packedTarball(): Promise<Packed> {
  const dir = join(inject('runDir'), 'pack');
  const answer = join(dir, 'packed.json');
  const failure = join(dir, 'failed.txt');
  try {
    mkdirSync(dir); // atomic: exactly one file wins
  } catch {
    await until(() => existsSync(answer) || existsSync(failure), {
      timeoutMs: 240_000,
      intervalMs: 100,
      what: 'npm pack',
    });
    if (existsSync(failure)) throw new Error(`npm pack failed in another test file: ${readFileSync(failure, 'utf8')}`);
    return JSON.parse(readFileSync(answer, 'utf8')) as Packed;
  }
  try {
    const stage = join(dir, 'stage');
    mkdirSync(stage);
    for (const name of SOURCES) {
      if (existsSync(join(REPO, name))) cpSync(join(REPO, name), join(stage, name), { recursive: true });
    }
    symlinkSync(join(REPO, 'node_modules'), join(stage, 'node_modules'), 'dir');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: stage,
      env: { ...process.env, NO_UPDATE_NOTIFIER: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const [report] = JSON.parse(stdout) as {
      filename: string;
      size: number;
      unpackedSize: number;
      files: Packed['files'];
    }[];
    if (!report) throw new Error(`npm pack reported nothing: ${stdout}`);
    const packed: Packed = {
      tarball: join(dir, report.filename),
      size: report.size,
      unpackedSize: report.unpackedSize,
      files: report.files.map(({ path, size }) => ({ path, size })),
    };
    publish(answer, JSON.stringify(packed));
    return packed;
  } catch (error) {
    publish(failure, String(error));
    throw error;
  }
}

/** Writes then renames, so a waiting test file never reads half a file. */
function publish(path: string, text: string): void {
  writeFileSync(`${path}.part`, text);
  renameSync(`${path}.part`, path);
}
