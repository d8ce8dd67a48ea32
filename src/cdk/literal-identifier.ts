import { Token } from 'aws-cdk-lib';
import { assertTableName } from '../../src/lease/names.js';

/**
 * A database or table name from construct props: known at synth time (it keys the lease and goes
 * into SQL), and an identifier by the same rule the library applies at run time.
 */
export function literalIdentifier(value: string, option: string): string {
  if (Token.isUnresolved(value)) throw new Error(`${option} must be a literal string, not a token.`);
  return assertTableName(value, option);
}
