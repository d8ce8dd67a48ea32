import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  performanceSummary,
  publishLastRun,
  README_END,
  README_PATH,
  README_START,
  readResults,
  withSummary,
} from '../../bench/readme.js';
import { writeResults } from '../../bench/report.js';

describe("README's performance section", () => {
  it('is exactly what npm run bench:readme generates from the committed bench/results/latest.json', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toContain(README_START);
    expect(readme).toContain(README_END);
    // Compared as the section, so a mismatch shows the lines that differ.
    const section = (text: string) => text.slice(text.indexOf(README_START), text.indexOf(README_END));
    expect(section(readme)).toBe(section(withSummary(readme, performanceSummary(readResults()))));
  });

  it('changes when a figure in the JSON changes (no figure is typed by hand)', () => {
    const result = readResults();
    const changed = {
      ...result,
      peers: result.peers.map((peer) =>
        peer.name === 'lease-guard (mysql2)' && peer.latency
          ? { ...peer, latency: { ...peer.latency, overhead: peer.latency.overhead + 1 } }
          : peer,
      ),
    };
    expect(performanceSummary(changed)).not.toBe(performanceSummary(result));
  });
});

describe('a benchmark run and the published results', () => {
  it('writes a run beside the published results, which only npm run bench:readme replaces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lease-guard-bench-results-'));
    try {
      const published = readResults();
      writeFileSync(join(dir, 'latest.json'), JSON.stringify(published));
      const run = { ...published, generatedAt: 'a later run' };
      await writeResults(run, '# a run\n', dir);
      // What the README check reads is untouched by the run.
      expect(readResults(join(dir, 'latest.json'))).toEqual(published);

      expect(publishLastRun(dir)).toBe(true);
      expect(readResults(join(dir, 'latest.json'))).toEqual(run);
      expect(readFileSync(join(dir, 'latest.md'), 'utf8')).toBe('# a run\n');
      expect(existsSync(join(dir, 'last-run.json'))).toBe(false);
      expect(publishLastRun(dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
