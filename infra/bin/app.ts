/**
 * The example app: an Aurora Global Database (the primary cluster in one region, a secondary in
 * another) and the same guarded jobs in both regions, each given both clusters. Regions are
 * explicit, the account is not (the CLI's credentials decide it at deploy time), and nothing is
 * looked up, so `cdk synth` works offline.
 *
 *   npx cdk deploy --all                        # primary, secondary, then the jobs in both regions
 *   npx cdk deploy --all -c scaleToZero=true    # let the clusters pause when idle
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GuardedJobsStack } from '../stacks/guarded-jobs-stack.js';
import { LeaseDatabaseStack } from '../stacks/lease-database-stack.js';
import { SecondaryClusterStack } from '../stacks/secondary-cluster-stack.js';

const PRIMARY_REGION = 'us-east-1';
const SECONDARY_REGION = 'eu-west-1';

const app = new App();
// The usual gate of companies that run CDK: every finding fails the synth unless acknowledged.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const scaleToZero = String(app.node.tryGetContext('scaleToZero') ?? 'false') === 'true';

const database = new LeaseDatabaseStack(app, 'LeaseGuardDatabase', {
  env: { region: PRIMARY_REGION },
  description:
    'lease-guard example: Aurora Global Database primary (Serverless v2 MySQL, Data API) and the lease table',
  secondaryRegion: SECONDARY_REGION,
  scaleToZero,
});
const secondary = new SecondaryClusterStack(app, `LeaseGuardDatabase-${SECONDARY_REGION}`, {
  env: { region: SECONDARY_REGION },
  description: 'lease-guard example: Aurora Global Database secondary cluster with the Data API',
  primary: database,
  scaleToZero,
});
for (const region of [PRIMARY_REGION, SECONDARY_REGION]) {
  new GuardedJobsStack(app, `LeaseGuardJobs-${region}`, {
    env: { region },
    description: `lease-guard example: guarded schedules in ${region}`,
    database,
    secondary,
  });
}
