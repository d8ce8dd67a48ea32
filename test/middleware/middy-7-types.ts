/**
 * Typechecked by `npm run typecheck`, never run: both shapes fit middy 7's types (the alias
 * middy-core-7) as they fit middy 6's, so a Node 22 user's `.use(leaseGuard(...))` compiles.
 */
import middy7 from 'middy-core-7';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { leaseGuarded } from '../../src/middleware/lease-guarded.js';

export const middlewareShape = middy7<unknown, unknown, Error, LeaseGuardContext>(
  async (_event: unknown, context: LeaseGuardContext) => context.lease.fence,
).use(leaseGuard({ job: 'send-invoices' }));

export const wrapperShape = middy7(
  leaseGuarded({ job: 'send-invoices' }, async (_event, context) => context.lease.fence),
);
