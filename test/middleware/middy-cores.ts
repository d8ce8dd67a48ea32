/**
 * The middy majors lease-guard supports: 6 everywhere, 7 (the `middy-core-7` alias) on Node 22+,
 * which it requires. CI's Node 22 step runs these suites against both.
 */
import middy6 from '@middy/core';

export type Middy = typeof middy6;

const nodeMajor = Number(process.versions.node.split('.')[0]);

export async function middyCores(): Promise<[string, Middy][]> {
  const cores: [string, Middy][] = [['middy 6', middy6]];
  if (nodeMajor >= 22) cores.push(['middy 7', (await import('middy-core-7')).default as unknown as Middy]);
  return cores;
}
