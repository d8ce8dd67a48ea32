import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest on this suite's 2-core machine (measured with `vitest run
 * --reporter=json`), longest first: most of them wait on leases, child processes and servers, so
 * starting them first lets the short, CPU-bound files fill the gaps. Fixed, not vitest's cache of the
 * last run, so a fresh clone (CI) runs in the same order as a developer's checkout.
 */
const LONGEST_FIRST: readonly RegExp[] = [
  /test\/faults\/abandoned-body\.test/,
  /test\/faults\/database-/,
  /test\/faults\/guarantee-/,
  /test\/contract\/data-api/,
  /test\/faults\/edge-/,
  /test\/package\/cdk-consumers/,
  /test\/faults\//,
  /test\/contract\/mysql2/,
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
