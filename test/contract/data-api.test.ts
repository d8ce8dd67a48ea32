import { describeDataApiContract } from './data-api-contract.js';

// The Data API counting matched rows, as JDBC does; changed rows: data-api-changed-rows.test.ts.
describeDataApiContract('matched');
