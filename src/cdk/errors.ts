import type { IConstruct } from 'constructs';

/**
 * An error from a lease-guard construct: it names the construct's path, so a user with many guarded
 * schedules sees which one is wrong, and the message says how to fix it.
 */
export function constructError(scope: IConstruct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}
