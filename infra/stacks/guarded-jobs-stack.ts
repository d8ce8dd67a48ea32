import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import { GuardedSchedule, type GuardedScheduleProps } from '../constructs/guarded-schedule.js';
import { LEASE_DATABASE, type LeaseDatabaseStack } from './lease-database-stack.js';

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
    const { database } = props;
    // In the database's region the constructs themselves; elsewhere the ARNs from its outputs.
    const target: Partial<GuardedScheduleProps> =
      database.region === this.region
        ? { cluster: database.cluster, secret: database.leaseSecret }
        : database.referenceFrom(this);
    const common = {
      ...target,
      databaseName: LEASE_DATABASE,
      tableName: database.leaseTable.tableName,
      multiRegion: true,
    };

    this.nightlyReport = new GuardedSchedule(this, 'NightlyReport', {
      ...common,
      job: 'nightly-report',
      entry: 'functions/nightly-report.ts',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    });
    this.leaderSync = new GuardedSchedule(this, 'LeaderSync', {
      ...common,
      job: 'leader-sync',
      entry: 'functions/leader-sync.ts',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    });
  }
}
