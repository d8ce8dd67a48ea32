/** Runs the CLI from source (`tsx src/cli/run.ts …`); the published entry is bin/lease-guard.js. */
import './quiet-sdk-warning.js';
import { main } from './main.js';

await main(process.argv);
