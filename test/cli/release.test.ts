import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { cli, cliWith } from '../support/cli.js';
import { freshDatabase } from '../support/database.js';

const MINUTE = 60_000;

/** Issue 21, item 5: `lease-guard release` acts only on the holder and fence it showed. */
describe('lease-guard release', () => {
  let url: string;
  let executor: SqlExecutor;
  let store: LeaseStore;
  let sequence = 0;
  const job = (label: string): string => `${label}-${++sequence}`;

  beforeAll(async () => {
    url = await freshDatabase('cli_release');
    expect((await cli('migrate', '--mysql-url', url)).code).toBe(0);
    executor = createMysql2Executor({ url });
    store = createSqlLeaseStore({ executor });
  });
  afterAll(() => executor.close());

  async function claim(j: string, holder: string, tick?: Date): Promise<number> {
    const won = await store.claim({ job: j, holder, leaseMs: MINUTE, ...(tick ? { tick } : {}) });
    if (!won.acquired) throw new Error(`${holder} must win ${j}`);
    return won.fence;
  }

  it('shows the holder, its fence, tick and since when before asking, then releases it', async () => {
    const j = job('shown');
    const tick = new Date(Math.floor(Date.now() / MINUTE) * MINUTE);
    const fence = await claim(j, 'holder-a', tick);
    const questions: string[] = [];
    const result = await cliWith(
      {
        async ask(question) {
          questions.push(question);
          return 'y';
        },
      },
      'release',
      j,
      '--mysql-url',
      url,
    );
    expect(result.code).toBe(0);
    expect(questions).toEqual([`Force-release ${j} (fence ${fence})? holder-a will be fenced out. [y/N] `]);
    const [shown, released] = result.out.split('\n');
    expect(shown).toMatch(
      new RegExp(
        `^${j} is held by holder-a \\(fence ${fence}, tick ${tick.toISOString()}, since \\d+m?s ago\\); the lease ends in \\d+s\\.$`,
      ),
    );
    expect(released).toBe(`Released ${j} (was held by holder-a, fence ${fence}); fencing token is now ${fence + 1}.`);
    expect(await store.inspect(j)).toMatchObject({ holder: null, held: false, fence: fence + 1 });
  });

  it('leaves B alone when A, the holder it showed, finished and B claimed before the "y"', async () => {
    const j = job('race');
    const a = 'a1b2/us-east-1/job/request-a';
    const fenceA = await claim(j, a);
    const b = 'c3d4/eu-west-1/job/request-b';
    let fenceB = 0;
    const result = await cliWith(
      {
        async ask() {
          // Between the prompt and the answer: A succeeds, B claims the next run.
          expect(await store.release({ job: j, holder: a, fence: fenceA, outcome: 'success' })).toBe(true);
          fenceB = await claim(j, b);
          return 'y';
        },
      },
      'release',
      j,
      '--mysql-url',
      url,
    );
    expect(result.code).toBe(3);
    expect(result.out).toContain(`${j} is held by ${a} (fence ${fenceA}`);
    expect(result.out).not.toContain('Released');
    expect(result.err).toBe(
      `lease-guard: not released: ${j} changed after it was shown: it is now held by ${b} (claimed ${
        /claimed (\d+ms|\d+s) ago/.exec(result.err)?.[1]
      } ago); the fencing token is ${fenceB}, was ${fenceA}. Run the command again to act on what it shows now.\n`,
    );
    // B still holds its lease and can renew and release it.
    expect(await store.inspect(j)).toMatchObject({ holder: b, held: true, fence: fenceB });
    expect(await store.renew({ job: j, holder: b, fence: fenceB, leaseMs: MINUTE })).toBe(true);
  });

  it('NEGATIVE CONTROL: the unconditional force release it used to send at the "y" releases B', async () => {
    const j = job('race-control');
    const a = 'a1b2/us-east-1/job/request-a';
    const fenceA = await claim(j, a);
    const shown = await store.inspect(j);
    expect(shown?.holder).toBe(a);
    await store.release({ job: j, holder: a, fence: fenceA, outcome: 'success' });
    const b = 'c3d4/eu-west-1/job/request-b';
    const fenceB = await claim(j, b);
    // What `release` did until now once the answer came: free the lease, whoever holds it.
    expect(await store.forceRelease(j)).toBe(true);
    expect(await store.inspect(j)).toMatchObject({ holder: null, held: false });
    expect(await store.renew({ job: j, holder: b, fence: fenceB, leaseMs: MINUTE })).toBe(false);
    // Keyed on what was shown, the same moment changes nothing.
    const again = job('race-control-keyed');
    const fence = await claim(again, a);
    await store.release({ job: again, holder: a, fence, outcome: 'success' });
    const fenceB2 = await claim(again, b);
    expect(await store.forceRelease({ job: again, holder: a, fence })).toBe(false);
    expect(await store.renew({ job: again, holder: b, fence: fenceB2, leaseMs: MINUTE })).toBe(true);
  });

  it('says a free lease is free and changes nothing, unless --bump-fence asks for it', async () => {
    const j = job('free');
    const fence = await claim(j, 'holder-a');
    await store.release({ job: j, holder: 'holder-a', fence, outcome: 'success' });
    const asked: string[] = [];
    const ask = async (question: string): Promise<string> => {
      asked.push(question);
      return 'y';
    };
    const free = await cliWith({ ask }, 'release', j, '--mysql-url', url);
    expect(free.code).toBe(0);
    expect(free.out).toMatch(new RegExp(`^${j} is free since \\d+m?s \\(fence ${fence}\\)\\.\\n`));
    expect(free.out).toContain('Nothing to release: the lease is free.');
    expect(free.out).not.toMatch(/fenced out|Released/);
    expect(asked).toEqual([]);
    expect(await store.inspect(j)).toMatchObject({ fence, holder: null, held: false });

    const bumped = await cliWith({ ask }, 'release', j, '--bump-fence', '--mysql-url', url);
    expect(bumped.code).toBe(0);
    expect(asked).toEqual([`Force-release ${j} (fence ${fence})? [y/N] `]);
    expect(bumped.out).toContain(`Released ${j}; fencing token is now ${fence + 1}.`);
    expect((await store.inspect(j))?.fence).toBe(fence + 1);
  });

  it('names the holder whose lease ended without a release, and fences it out only with --bump-fence', async () => {
    const j = job('crashed');
    const won = await store.claim({ job: j, holder: 'crashed-holder', leaseMs: MINUTE });
    if (!won.acquired) throw new Error('claim lost');
    // Its Lambda died: the lease ran out with the holder still in the row.
    await executor.execute({
      sql: 'UPDATE lease_guard SET lease_until = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE WHERE job = :job',
      params: { job: j },
    });
    const shown = await cli('release', j, '--yes', '--mysql-url', url);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`(fence ${won.fence}; its last holder crashed-holder never released it`);
    expect(shown.out).toContain('Nothing to release');
    const bumped = await cli('release', j, '--yes', '--bump-fence', '--mysql-url', url);
    expect(bumped.out).toContain(`Released ${j} (was held by crashed-holder, fence ${won.fence})`);
    expect(await store.renew({ job: j, holder: 'crashed-holder', fence: won.fence, leaseMs: MINUTE })).toBe(false);
  });

  it('frees a lease kept by minHold after its last run, saying it has no holder', async () => {
    const j = job('kept');
    const fence = await claim(j, 'holder-a');
    await store.release({ job: j, holder: 'holder-a', fence, outcome: 'success', minHoldMs: MINUTE });
    const result = await cli('release', j, '--yes', '--mysql-url', url);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      new RegExp(`^${j} has no holder but is kept \\d+s more after its last run \\(minHold; fence ${fence}\\)\\.\\n`),
    );
    expect(result.out).toContain(`Released ${j}; fencing token is now ${fence + 1}.`);
    expect(await store.inspect(j)).toMatchObject({ held: false, holder: null, fence: fence + 1 });
  });

  it('changes nothing when the answer is not yes, and documents its exit codes', async () => {
    const j = job('declined');
    const fence = await claim(j, 'holder-a');
    const declined = await cliWith({ ask: async () => 'n' }, 'release', j, '--mysql-url', url);
    expect(declined).toMatchObject({ code: 1, err: 'lease-guard: not released.\n' });
    expect(await store.inspect(j)).toMatchObject({ holder: 'holder-a', held: true, fence });
    const help = await cli('release', '--help');
    expect(help.out).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+3 .*changed hands/);
  });
});
