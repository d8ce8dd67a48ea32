import { describeDatabaseFault } from './private-server.js';
import { dbPause } from './scenarios/db-pause.js';

describeDatabaseFault(
  'fault suite, quick: the database frozen (own server)',
  'fails closed and overlaps nothing while the database is frozen mid-job, and runs the ticks after it thaws',
  dbPause,
);
