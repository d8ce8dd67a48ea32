/** `lease-guard/testing`: unit-test guarded handlers without a database. */
export { MemoryLeaseStore, type MemoryLeaseStoreOptions } from './memory-store.js';
