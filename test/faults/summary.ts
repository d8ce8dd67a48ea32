/** The run's closing table: per scenario, what was injected, what ran and what broke. */
import Table from 'cli-table3';
import { isNotRun, type NotRun, type Scenario, type ScenarioReport, Verdict } from './scenario.js';

export interface ScenarioRow {
  readonly scenario: Scenario;
  readonly verdict: Verdict;
  readonly result: ScenarioReport | NotRun | { readonly error: string };
  readonly seconds: number;
}

function count(row: ScenarioRow, pick: (report: ScenarioReport) => number): string {
  const { result } = row;
  if ('error' in result || isNotRun(result)) return '-';
  return String(pick(result));
}

export function summaryTable(rows: readonly ScenarioRow[], seed: number): string {
  const table = new Table({
    head: ['Scenario', 'Catalogue', 'Result', 'Faults', 'Invocations', 'Runs', 'Violations', 'Seconds'],
    style: { head: [], border: [] },
  });
  for (const row of rows) {
    table.push([
      row.scenario.name,
      row.scenario.catalogue,
      row.verdict,
      count(row, (r) => r.faults),
      count(row, (r) => r.invocations),
      count(row, (r) => r.runs),
      count(row, (r) => r.violations.length),
      row.seconds.toFixed(1),
    ]);
  }
  const failed = rows.filter((row) => row.verdict === Verdict.FAIL || row.verdict === Verdict.ERROR).length;
  const notRun = rows.filter((row) => row.verdict === Verdict.NOT_RUN).length;
  const footer = `seed ${seed}: ${rows.length - failed - notRun} passed, ${failed} failed, ${notRun} not run (a failure too)`;
  return `${table.toString()}\n${footer}`;
}

/** What each scenario reported beyond its counts: notes, violations, errors and reasons for not running. */
export function details(row: ScenarioRow, maxViolations = 12): string[] {
  const lines = [`${row.scenario.name}: ${row.verdict}`];
  const { result } = row;
  if ('error' in result) return [...lines, `  error: ${result.error}`];
  if (isNotRun(result)) return [...lines, `  not run: ${result.notRun}`];
  for (const note of result.notes) lines.push(`  ${note}`);
  for (const violation of result.violations.slice(0, maxViolations)) {
    lines.push(`  violation [${violation.invariant}] ${violation.job}: ${violation.message}`);
  }
  if (result.violations.length > maxViolations) {
    lines.push(`  … and ${result.violations.length - maxViolations} more violation(s)`);
  }
  return lines;
}
