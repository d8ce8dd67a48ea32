/**
 * The clusters of a global database as options and as the LEASE_GUARD_CLUSTERS variable (JSON:
 * `[{"resourceArn":"…","secretArn":"…","region":"…"}, …]`, the primary first). One schema for
 * both, so the option and the variable refuse the same things with the same words.
 */
// zod/mini, as the middleware's options: cold starts matter.
import * as z from 'zod/mini';
import { LeaseGuardConfigError } from '../errors.js';
import type { ClusterTarget } from './cluster-executor.js';

function text(option: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${option} is required` : `${option} must be a string`) })
    .check(z.minLength(1, { error: `${option} must not be empty` }));
}

export const clusterTargetSchema = z.strictObject({
  /** The cluster's ARN. */
  resourceArn: text('resourceArn'),
  /** The Secrets Manager ARN the Data API uses for this cluster. */
  secretArn: text('secretArn'),
  /** The cluster's region. @default - the ARN's region */
  region: z.optional(text('region')),
  /** Another Data API endpoint for this cluster (a local server, a VPC endpoint). */
  endpoint: z.optional(text('endpoint')),
});

export const clustersSchema = z.array(clusterTargetSchema).check(
  z.minLength(2, {
    error:
      'clusters must list at least two clusters, the primary first (for one cluster use resourceArn and secretArn)',
  }),
);

/** The clusters from the variable's JSON text; a LeaseGuardConfigError naming the variable otherwise. */
export function parseClusters(source: string, variable: string): ClusterTarget[] {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new LeaseGuardConfigError(
      `${variable} must be JSON like [{"resourceArn":"arn:aws:rds:…","secretArn":"arn:aws:secretsmanager:…","region":"us-east-1"}, …], got ${JSON.stringify(source.slice(0, 60))}.`,
      { cause: error },
    );
  }
  const parsed = clustersSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`);
    throw new LeaseGuardConfigError(`${variable} is not a list of clusters. ${problems.join('; ')}.`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
