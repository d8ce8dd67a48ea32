/**
 * lease-guard's own Lambda functions, one bundle for both (they share the Data API client): the
 * LeaseTable custom resource's `migrate` and the LeaseWatchdog's `watchdog`.
 */
export { handler as migrate } from './lease-table-migrate.js';
export { handler as watchdog } from './lease-watchdog.js';
