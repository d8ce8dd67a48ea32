import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingExecutor } from '../../bench/counting-executor.js';
import { CLAIM_BEFORE_ISSUE_12 } from '../../bench/fixtures/claim-before-issue-12.js';
import { floorPeer } from '../../bench/peers/floor.js';
import { executorClaimPeer, guardPeer, retryPeer } from '../../bench/peers/layers.js';
import { leaseGuardPeer } from '../../bench/peers/lease-guard.js';
import type { Claim, Peer } from '../../bench/peers/peer.js';
import { rawClaimPeer, STORE_CLAIM_OVER_MYSQL2 } from '../../bench/peers/raw-claim.js';
import { seedAPeer } from '../../bench/peers/seed-a-version-cas.js';
import { seedBPeer } from '../../bench/peers/seed-b-unique-key.js';
import { shedLockPeer } from '../../bench/peers/shedlock.js';
import { storePeer } from '../../bench/peers/store.js';
import { claimSql } from '../../src/lease/sql.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';

/** The benchmark's peers keep their designs' semantics: what the benchmark reports rests on these. */
describe('benchmark peers', () => {
  let executor: SqlExecutor;
  let url: string;
  const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000);

  beforeAll(async () => {
    url = await freshDatabase('bench_peers');
    executor = createMysql2Executor({ url, connectionLimit: 16 });
  });
  afterAll(() => executor.close());

  const peers: [string, () => Peer][] = [
    ['lease-guard', () => leaseGuardPeer('mysql2', 'peer_lease_guard')],
    ['seed A', () => seedAPeer('peer_seed_a')],
    ['seed B', () => seedBPeer('peer_seed_b')],
    ['ShedLock', () => shedLockPeer({ table: 'peer_shedlock' })],
    // bench/layers.ts: lease-guard cut at each layer.
    ['claim statement through the executor', () => executorClaimPeer('peer_layer_executor')],
    ['general claim statement through the executor', () => executorClaimPeer('peer_layer_general', true)],
    ['store in claimWithRetry', () => retryPeer('peer_layer_retry')],
    ['guard without middy', () => guardPeer('peer_layer_guard')],
  ];

  function invokers(peer: Peer, count: number, label: string) {
    return Array.from({ length: count }, (_, i) =>
      peer.invoker({ id: `${label}-${i}`, executor: countingExecutor(executor), now: () => Date.now() }),
    );
  }

  it.each(peers)('%s: eight concurrent claimers of one tick give exactly one winner', async (_name, make) => {
    const peer = make();
    await peer.prepare(executor, ['burst']);
    const claims = await Promise.all(invokers(peer, 8, 'burst').map((invoker) => invoker.claim('burst', tick)));
    const won = claims.filter((claim): claim is Extract<Claim, { won: true }> => claim.won);
    expect(won).toHaveLength(1);
    await won[0]?.release();
  });

  // The floor and lease-guard's raw statements (issue 12), on their own plain connections.
  const rawPeers: [string, () => Peer & { close(): Promise<void> }][] = [
    ['floor', () => floorPeer(url)],
    ['floor, matching every attempt', () => floorPeer(url, 'matched')],
    ['floor + loser writes', () => floorPeer(url, 'loser-writes')],
    ['claim statement', () => rawClaimPeer('raw', url, 'peer_raw_claim', { sql: claimSql })],
    [
      "the store's claim statement over mysql2",
      () => rawClaimPeer('raw', url, 'peer_raw_store', STORE_CLAIM_OVER_MYSQL2),
    ],
    [
      'claim statement before issue 12',
      () => rawClaimPeer('raw before', url, 'peer_raw_before', CLAIM_BEFORE_ISSUE_12),
    ],
  ];

  it.each(rawPeers)('%s: eight concurrent claimers give exactly one winner, twice', async (_name, make) => {
    const peer = make();
    try {
      await peer.prepare(executor, ['raw']);
      for (const round of [0, 1]) {
        const ticked = new Date(tick.getTime() - 60_000 + round);
        const claims = await Promise.all(invokers(peer, 8, 'raw').map((invoker) => invoker.claim('raw', ticked)));
        const won = claims.filter((claim): claim is Extract<Claim, { won: true }> => claim.won);
        expect(won).toHaveLength(1);
        await won[0]?.release();
      }
    } finally {
      await peer.close();
    }
  });

  it('the store peer: eight concurrent claimers of one tick give exactly one winner', async () => {
    const peer = storePeer('peer_store');
    await peer.prepare(executor, ['store']);
    const claims = await Promise.all(invokers(peer, 8, 'store').map((invoker) => invoker.claim('store', tick)));
    expect(claims.filter((claim) => claim.won)).toHaveLength(1);
  });

  it('lease-guard refuses a sequential duplicate of a tick that ran; ShedLock and seed B run it again', async () => {
    const runsOfOneTick = async (peer: Peer): Promise<number> => {
      await peer.prepare(executor, ['sequential']);
      let runs = 0;
      for (const invoker of invokers(peer, 2, 'sequential')) {
        const claim = await invoker.claim('sequential', tick);
        if (claim.won) {
          runs++;
          await claim.release();
        }
      }
      return runs;
    };
    expect(await runsOfOneTick(leaseGuardPeer('mysql2', 'peer_lease_guard'))).toBe(1);
    expect(await runsOfOneTick(shedLockPeer({ table: 'peer_shedlock' }))).toBe(2);
    expect(await runsOfOneTick(seedBPeer('peer_seed_b'))).toBe(2);
  });

  it('seed A lets a host whose clock runs 2 minutes fast take over from a live master', async () => {
    const peer = seedAPeer('peer_seed_a');
    await peer.prepare(executor, ['skew']);
    const env = (id: string, skewMs: number) => peer.invoker({ id, executor, now: () => Date.now() + skewMs });
    expect((await env('master', 0).claim('skew', tick)).won).toBe(true);
    expect((await env('on-time', 0).claim('skew', tick)).won).toBe(false);
    expect((await env('fast', 120_000).claim('skew', tick)).won).toBe(true);
  });
});
