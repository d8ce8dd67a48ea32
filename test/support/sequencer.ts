import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest on this suite's 2-core machine (measured with `vitest run
 * --reporter=json`), first. Those that mostly wait (fault scenarios: leases running out, frozen
 * processes, paused servers) alternate with those that mostly compute (the Data API contract, the
 * packed package, the mysql2 contract), so both cores stay busy while the waiting ones wait; the
 * short files fill the gaps after. Fixed, not vitest's cache of the last run, so a fresh clone (CI)
 * runs in the same order as a developer's checkout.
 */
const LONGEST_FIRST: readonly RegExp[] = [
  /test\/faults\/abandoned-body\.test/,
  /test\/contract\/data-api-changed-rows/,
  /test\/faults\/database-pause/,
  /test\/contract\/data-api\.test/,
  /test\/faults\/database-faults/,
  /test\/package\/cdk-consumers/,
  /test\/faults\/edge-faults/,
  /test\/lease\/claim-shapes/,
  /test\/package\/quick-start/,
  /test\/faults\/holder-timeout/,
  /test\/contract\/mysql2-modes/,
  /test\/faults\/fleet-faults/,
  /test\/contract\/mysql2\.test/,
  /test\/faults\//,
  /test\/fleet\/demo/,
  /test\/package\//,
  /test\/fleet\//,
  /test\/local\/(exit-paths|local-command)/,
  /test\/infra\//,
];

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = LONGEST_FIRST.findIndex((pattern) => pattern.test(file.moduleId));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}
