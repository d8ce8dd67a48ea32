import { MemoryLeaseStore } from '../../src/testing/memory-store.js';
import { describeLeaseStoreContract } from './lease-store.contract.js';

// The in-memory store users unit-test their handlers with keeps the same contract as the real one.
describeLeaseStoreContract(
  'in-memory store (lease-guard/testing)',
  async () => ({ store: new MemoryLeaseStore(), async close() {} }),
  { storage: 'memory' },
);
