import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** An app bundled for the browser from the built package, as a bundler user gets it. */
async function bundle(entry: string): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [here(entry)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

/** The modules of streams and large messages (src/core/streams, their frame codec). */
const streamModules = (inputs: string[]): string[] =>
  inputs.filter((f) => /dist\/core\/streams\/|dist\/core\/protocol\/frames-stream\./.test(f));

describe('streams are an opt-in import', () => {
  it('an app importing only { connect } carries none of their code; one importing sockline/streams does', async () => {
    const plain = await bundle('./fixtures/app.js');
    expect(streamModules(plain.inputs)).toEqual([]);
    expect(plain.code).not.toMatch(/ReadableStream|WritableStream/);
    const withStreams = await bundle('./fixtures/app-streams.js');
    expect(streamModules(withStreams.inputs).map((f) => f.replace(/^.*dist\//, ''))).toEqual(
      expect.arrayContaining([
        'core/streams/transfers.js',
        'core/streams/sender.js',
        'core/streams/receiver.js',
        'core/protocol/frames-stream.js',
      ]),
    );
    const size = (code: string): number => gzipSync(code, { level: 9 }).length;
    console.log(
      `browser app: ${size(plain.code)} B min+gzip; with sockline/streams: ${size(withStreams.code)} B (+${size(withStreams.code) - size(plain.code)} B)`,
    );
    expect(size(withStreams.code)).toBeGreaterThan(size(plain.code));
  });
});
