/**
 * `lease-guard/cdk`: CDK constructs for guarded schedules. Needs `aws-cdk-lib` and `constructs`
 * (peer dependencies). lease-guard's own functions (the table migration, the watchdog) ship
 * prebuilt in the package.
 */
export {
  LeaseDatabase,
  type LeaseDatabaseArns,
  type LeaseDatabaseOptions,
} from './database.js';
export {
  LeaseGuardEndpoints,
  type LeaseGuardEndpointsProps,
  type LeaseGuardFunctionOptions,
} from './function-options.js';
export { type GuardedFunctionProps, MIN_TIMEOUT } from './guarded-function.js';
export {
  GuardedSchedule,
  type GuardedScheduleOptions,
  type GuardedScheduleProps,
} from './guarded-schedule.js';
export { JobMonitoring, type JobMonitoringProps } from './job-monitoring.js';
export { LeaseTable, type LeaseTableProps } from './lease-table.js';
export { LeaseWatchdog, type LeaseWatchdogProps, type WatchJobOptions } from './watchdog.js';
