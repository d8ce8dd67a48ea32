import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('package entries', () => {
  it('lets users import the middleware without pulling in mysql2', async () => {
    const result = await build({
      entryPoints: ['src/index.ts'],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      external: ['@aws-sdk/*', '@smithy/*'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('src/middleware/lease-guard.ts'))).toBe(true);
    expect(inputs.filter((path) => path.includes('node_modules/mysql2'))).toEqual([]);
    expect(inputs.filter((path) => path.includes('src/local/') || path.includes('src/fleet/'))).toEqual([]);
  });
});
