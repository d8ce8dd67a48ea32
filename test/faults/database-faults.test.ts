import { describeDatabaseFault } from './private-server.js';
import { dbClockStep } from './scenarios/db-clock-step.js';

// The database frozen mid-job: database-pause.test.ts.
describeDatabaseFault(
  'fault suite, quick: the database clock stepped (own server, libfaketime)',
  'keeps the overlap of a 60 s forward clock step to the step, refuses the stale write by the fence, and nothing overlaps after a 7 s backward step',
  dbClockStep,
);
