import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Packed, packedTarball, REPO } from '../support/pack.js';

/**
 * What `npm publish` would ship, from the real `npm pack` (its prepack build included). The budget
 * has room for growth but not for a regression like shipping source maps again (+318 KB) or src/.
 * Measured 2026-11-30: 399 KB packed, 1.29 MB unpacked, 194 files (dist/cdk's prebuilt assets are
 * most of it).
 */
const BUDGET = { packedBytes: 480_000, unpackedBytes: 1_550_000, files: 240 } as const;

const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  license: string;
  keywords?: string[];
  scripts: Record<string, string>;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

/** Every file path an `exports` entry points at, conditions included. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value.replace(/^\.\//, '')];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

describe('the published package (npm pack)', () => {
  let packed: Packed;
  let paths: Set<string>;
  beforeAll(async () => {
    packed = await packedTarball();
    paths = new Set(packed.files.map((file) => file.path));
  }, 240_000);

  it('ships dist/, the CLI entry, README, LICENSE and the manifest, and nothing else', () => {
    const outside = [...paths].filter(
      (path) =>
        !path.startsWith('dist/') && !['bin/lease-guard.js', 'README.md', 'LICENSE', 'package.json'].includes(path),
    );
    expect(outside).toEqual([]);
    // No source maps (they would point at src/, which is not shipped) and no TypeScript sources.
    expect(
      [...paths].filter((path) => /\.map$/.test(path) || (/\.[cm]?ts$/.test(path) && !/\.d\.[cm]?ts$/.test(path))),
    ).toEqual([]);
  });

  it('has every file its exports and bin name', () => {
    const targets = [...exportTargets(manifest.exports), ...Object.values(manifest.bin)];
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((target) => !paths.has(target))).toEqual([]);
  });

  it(`stays within its size budget (${BUDGET.packedBytes / 1000} KB packed, ${BUDGET.unpackedBytes / 1e6} MB unpacked, ${BUDGET.files} files)`, () => {
    expect(packed.size).toBeLessThanOrEqual(BUDGET.packedBytes);
    expect(packed.unpackedSize).toBeLessThanOrEqual(BUDGET.unpackedBytes);
    expect(packed.files.length).toBeLessThanOrEqual(BUDGET.files);
  });

  it('is fit to publish: builds before packing, never at install; licensed with its text; described', () => {
    expect(manifest.scripts.prepack).toMatch(/build/);
    for (const hook of ['prepare', 'preinstall', 'install', 'postinstall'])
      expect(manifest.scripts[hook]).toBeUndefined();
    expect(manifest.license).toBe('Apache-2.0');
    expect(paths.has('LICENSE')).toBe(true);
    expect(readFileSync(join(REPO, 'LICENSE'), 'utf8')).toMatch(
      /Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/,
    );
    expect(manifest.keywords?.length).toBeGreaterThan(3);
    // The published .d.ts files import the Lambda types: consumers must get them.
    expect(manifest.dependencies['@types/aws-lambda']).toBeDefined();
  });

  it('has a README whose links a reader of the package can follow (web addresses or shipped files)', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);
    const broken = links.filter(
      (link) => !/^(https?:|mailto:|#)/.test(link) && !paths.has(link.replace(/^\.\//, '').replace(/#.*$/, '')),
    );
    expect(broken).toEqual([]);
  });
});
