/**
 * The example app: the lease database in one region and the same guarded jobs in two. Regions are
 * explicit, the account is not (the CLI's credentials decide it at deploy time), and nothing is
 * looked up, so `cdk synth` works offline.
 *
 *   npx cdk deploy --all                        # database, then the jobs in both regions
 *   npx cdk deploy --all -c scaleToZero=true    # let the cluster pause when idle
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GuardedJobsStack } from '../stacks/guarded-jobs-stack.js';
import { LeaseDatabaseStack } from '../stacks/lease-database-stack.js';

const PRIMARY_REGION = 'us-east-1';
const JOB_REGIONS = ['us-east-1', 'eu-west-1'] as const;

const app = new App();
// The usual gate of companies that run CDK: every finding fails the synth unless acknowledged.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const scaleToZero = String(app.node.tryGetContext('scaleToZero') ?? 'false') === 'true';

const database = new LeaseDatabaseStack(app, 'LeaseGuardDatabase', {
  env: { region: PRIMARY_REGION },
  description: 'lease-guard example: Aurora Serverless v2 MySQL with the Data API, and the lease table',
  scaleToZero,
});
for (const region of JOB_REGIONS) {
  new GuardedJobsStack(app, `LeaseGuardJobs-${region}`, {
    env: { region },
    description: `lease-guard example: guarded schedules in ${region}`,
    database,
  });
}
