import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  performanceSummary,
  README_END,
  README_PATH,
  README_START,
  readResults,
  withSummary,
} from '../../bench/readme.js';

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
