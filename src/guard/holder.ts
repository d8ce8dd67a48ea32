import { randomUUID } from 'node:crypto';
import { MAX_HOLDER_LENGTH } from '../lease/names.js';

const NONCE_LENGTH = 12;
const INVOCATION_LENGTH = MAX_HOLDER_LENGTH - NONCE_LENGTH - 1;
const UNSAFE = /[^A-Za-z0-9._:-]/g;

export interface HolderIdentity {
  /** Unique per invocation attempt: a nonce, then the invocation. */
  readonly holder: string;
  /** The same for every attempt of one Lambda invocation (a retry reuses the request id); null without one. */
  readonly invocation: string | null;
}

/**
 * 48 random bits as 12 hex digits: the first 12 of a v4 UUID's (all random; its version digit
 * comes after them). Node serves `randomUUID` from a buffer of entropy, where `randomBytes` would
 * go to OpenSSL for every invocation.
 */
function nonce(): string {
  const uuid = randomUUID();
  return uuid.slice(0, 8) + uuid.slice(9, 13);
}

function safe(part: string): string {
  return part.replace(UNSAFE, '_');
}

// identity + function name -> their sanitised "identity/function/" prefix: the same for every
// invocation of an environment, so it is worked out once (bounded: a handful of pairs per process).
const prefixes = new Map<string, string>();
function prefixOf(identity: string, functionName: string): string {
  // The length first keeps the key unambiguous whatever either part contains.
  const key = `${identity.length}:${identity}${functionName}`;
  let prefix = prefixes.get(key);
  if (prefix === undefined) {
    prefix = `${safe(identity)}/${safe(functionName)}/`;
    if (prefixes.size < 64) prefixes.set(key, prefix);
  }
  return prefix;
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
  const requestId = context?.awsRequestId;
  const invocation = (prefixOf(identity, context?.functionName ?? 'local') + safe(requestId ?? 'none')).slice(
    0,
    INVOCATION_LENGTH,
  );
  return {
    holder: `${nonce()}/${invocation}`,
    // Without a request id (withLease, scripts) attempts of different runs would look alike.
    invocation: requestId ? invocation : null,
  };
}
