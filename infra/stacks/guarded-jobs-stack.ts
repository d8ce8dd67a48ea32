import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import { GuardedSchedule } from 'lease-guard/cdk';
import type { LeaseDatabaseStack } from './lease-database-stack.js';
import type { SecondaryClusterStack } from './secondary-cluster-stack.js';

export interface GuardedJobsStackProps extends StackProps {
  /** The global database's primary stack, in this region or another. */
  readonly database: LeaseDatabaseStack;
  /** Its secondary cluster's stack: deployed before the jobs, so every cluster they name exists. */
  readonly secondary: SecondaryClusterStack;
}

/**
 * The example jobs in one region. Every region deploys the same schedules; the lease decides which
 * invocation runs: per tick for the report, the owning region for the sync. Every function gets
 * both clusters of the global database, the primary first: when the primary's region fails and the
 * secondary is promoted, the jobs claim through it (fenced and quarantined, README guarantee 13).
 */
export class GuardedJobsStack extends Stack {
  readonly nightlyReport: GuardedSchedule;
  readonly leaderSync: GuardedSchedule;

  constructor(scope: Construct, id: string, props: GuardedJobsStackProps) {
    super(scope, id, props);
    this.addStackDependency(props.secondary, 'names its cluster in LEASE_GUARD_CLUSTERS');
    const database = props.database.leaseDatabaseFor(this);

    this.nightlyReport = new GuardedSchedule(this, 'NightlyReport', {
      job: 'nightly-report',
      database,
      entry: 'functions/nightly-report.ts',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      multiRegion: true,
      dashboard: true,
    });
    this.leaderSync = new GuardedSchedule(this, 'LeaderSync', {
      job: 'leader-sync',
      database,
      entry: 'functions/leader-sync.ts',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      multiRegion: true,
    });
  }
}
