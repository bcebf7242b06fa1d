import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * An app (a fixture under test/e2e) built from the built package the way a bundler user
 * builds it: esbuild, minified, for the browser, ES2022. `inputs` are the modules with code in
 * the output, not every module esbuild resolved on the way.
 */
export async function bundleApp(entry: string): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const [output] = Object.values(result.metafile.outputs);
  const inputs = Object.entries(output!.inputs).filter(([, i]) => i.bytesInOutput > 0);
  return { code: result.outputFiles[0]!.text, inputs: inputs.map(([file]) => file) };
}
