import { vi } from 'vitest';
import { type CliIo, main } from '../../src/cli/main.js';

/** Runs the CLI in-process and returns what it printed and its exit code. */
export async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  return cliWith({}, ...args);
}

/** `cli`, with the prompts answered by `io.ask` instead of a terminal. */
export async function cliWith(io: CliIo, ...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    await main(['node', 'lease-guard', ...args], io);
  } finally {
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
}
