import { LEASE_ENV } from './constants.js';
import type { ClusterTarget } from './sql/cluster-executor.js';
import { parseClusters } from './sql/cluster-settings.js';

/**
 * The one place lease-guard reads its `LEASE_GUARD_*` variables. Read on each call, not cached at
 * import: a Lambda's environment is fixed, but tests and the CLI set it after modules load. An
 * empty value counts as unset, as a shell's `VAR=` means.
 */
export function leaseEnv(name: keyof typeof LEASE_ENV): string | undefined {
  return process.env[LEASE_ENV[name]] || undefined;
}

/** LEASE_GUARD_CLUSTERS, parsed and checked; undefined when unset. */
export function leaseClustersEnv(): ClusterTarget[] | undefined {
  const text = leaseEnv('CLUSTERS');
  return text === undefined ? undefined : parseClusters(text, LEASE_ENV.CLUSTERS);
}
