import { Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { assertTableName } from '../lease/names.js';
import { constructError } from './errors.js';

/**
 * A database or table name from construct props: known at synth time (it keys the lease and goes
 * into SQL), and an identifier by the same rule the library applies at run time.
 */
export function literalIdentifier(scope: IConstruct, value: string, option: string): string {
  if (Token.isUnresolved(value)) {
    throw constructError(scope, `${option} must be a literal string, not a token: it goes into SQL at deploy time.`);
  }
  try {
    return assertTableName(value, option);
  } catch (error) {
    throw constructError(scope, (error as Error).message);
  }
}
