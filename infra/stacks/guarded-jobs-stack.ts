import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import { GuardedSchedule, type LeaseDatabase } from 'lease-guard/cdk';
import type { LeaseDatabaseStack } from './lease-database-stack.js';

export interface GuardedJobsStackProps extends StackProps {
  /** The stack with the lease database, in this region or another. */
  readonly database: LeaseDatabaseStack;
}

/**
 * The example jobs in one region. Every region deploys the same schedules; the lease decides which
 * invocation runs: per tick for the report, the owning region for the sync.
 */
export class GuardedJobsStack extends Stack {
  readonly nightlyReport: GuardedSchedule;
  readonly leaderSync: GuardedSchedule;

  constructor(scope: Construct, id: string, props: GuardedJobsStackProps) {
    super(scope, id, props);
    // In the database's region the constructs themselves; elsewhere the ARNs from its outputs.
    const database: LeaseDatabase =
      props.database.region === this.region ? props.database.leaseDatabase : props.database.referenceFrom(this);

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
