import { randomBytes } from 'node:crypto';
import { MAX_HOLDER_LENGTH } from '../lease/names.js';

/**
 * A holder is unique per invocation attempt: a Lambda retry reuses the request id, so a nonce
 * comes first (it keeps holders unique even if a long function name is cut at the length limit).
 */
export function makeHolder(
  identity: string,
  context: { functionName?: string; awsRequestId?: string } | undefined,
): string {
  const parts = [
    randomBytes(6).toString('hex'),
    identity,
    context?.functionName ?? 'local',
    context?.awsRequestId ?? 'none',
  ];
  return parts
    .map((part) => part.replace(/[^A-Za-z0-9._:-]/g, '_'))
    .join('/')
    .slice(0, MAX_HOLDER_LENGTH);
}
