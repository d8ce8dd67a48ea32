/** `lease-guard/testing`: unit-test guarded handlers without a database. */

export { type TestLambdaContextOptions, testLambdaContext } from './lambda-context.js';
export { MemoryLeaseStore, type MemoryLeaseStoreOptions } from './memory-store.js';
