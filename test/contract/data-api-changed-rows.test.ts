import { describeDataApiContract } from './data-api-contract.js';

// The Data API counting changed rows; matched rows: data-api.test.ts.
describeDataApiContract('changed');
