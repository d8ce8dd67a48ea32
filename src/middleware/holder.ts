import { randomBytes } from 'node:crypto';
import { MAX_HOLDER_LENGTH } from '../lease/names.js';

const NONCE_LENGTH = 12;

export interface HolderIdentity {
  /** Unique per invocation attempt: a nonce, then the invocation. */
  readonly holder: string;
  /** The same for every attempt of one Lambda invocation (a retry reuses the request id); null without one. */
  readonly invocation: string | null;
}

/**
 * A holder is unique per invocation attempt: a Lambda retry reuses the request id, so a nonce
 * comes first. The rest names the invocation (identity, function, request id), cut so the whole
 * holder fits the column; every attempt of one invocation cuts it the same way.
 */
export function makeHolder(
  identity: string,
  context: { functionName?: string | undefined; awsRequestId?: string | undefined } | undefined,
): HolderIdentity {
  const invocation = [identity, context?.functionName ?? 'local', context?.awsRequestId ?? 'none']
    .map((part) => part.replace(/[^A-Za-z0-9._:-]/g, '_'))
    .join('/')
    .slice(0, MAX_HOLDER_LENGTH - NONCE_LENGTH - 1);
  return {
    holder: `${randomBytes(NONCE_LENGTH / 2).toString('hex')}/${invocation}`,
    // Without a request id (withLease, scripts) attempts of different runs would look alike.
    invocation: context?.awsRequestId ? invocation : null,
  };
}
