import { LEASE_ENV } from './constants.js';

/**
 * The one place lease-guard reads its `LEASE_GUARD_*` variables. Read on each call, not cached at
 * import: a Lambda's environment is fixed, but tests and the CLI set it after modules load. An
 * empty value counts as unset, as a shell's `VAR=` means.
 */
export function leaseEnv(name: keyof typeof LEASE_ENV): string | undefined {
  return process.env[LEASE_ENV[name]] || undefined;
}
