import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A function in a synthesised template whose code is an ES-module asset: where, and what to import. */
export interface BundledHandler {
  readonly functionId: string;
  readonly dir: string;
  readonly file: string;
  readonly exportName: string;
}

/**
 * Every function in the template whose handler is an ES module in its asset (`file.export` with
 * `file.mjs` there). aws-cdk-lib's own CommonJS framework functions are left out.
 */
export function bundledHandlers(outdir: string, templateFile: string): BundledHandler[] {
  const template = JSON.parse(readFileSync(join(outdir, templateFile), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: unknown }; Handler?: string } }>;
  };
  return Object.entries(template.Resources).flatMap(([functionId, resource]) => {
    const key = resource.Properties?.Code?.S3Key;
    const handler = resource.Properties?.Handler;
    if (resource.Type !== 'AWS::Lambda::Function' || typeof key !== 'string' || !handler) return [];
    const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const [file, exportName] = [
      handler.slice(0, handler.lastIndexOf('.')),
      handler.slice(handler.lastIndexOf('.') + 1),
    ];
    return existsSync(join(dir, `${file}.mjs`)) ? [{ functionId, dir, file: `${file}.mjs`, exportName }] : [];
  });
}

/** The module source that imports one handler and prints the type of its export. */
export function importScript(handler: BundledHandler): string {
  return `const m = await import('./${handler.file}'); console.log(typeof m[${JSON.stringify(handler.exportName)}]);`;
}
