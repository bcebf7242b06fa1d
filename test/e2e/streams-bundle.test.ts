import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bundleApp } from './bundle-app.js';

/** The modules of streams and large messages (src/core/streams, their frame codec). */
const streamModules = (inputs: string[]): string[] =>
  inputs.filter((f) => /dist\/core\/streams\/|dist\/core\/protocol\/frames-stream\./.test(f));

describe('streams are an opt-in import', () => {
  it('an app importing only { connect } carries none of their code; one importing sockline/streams does', async () => {
    const plain = await bundleApp('./fixtures/app.js');
    expect(streamModules(plain.inputs)).toEqual([]);
    expect(plain.code).not.toMatch(/ReadableStream|WritableStream/);
    const withStreams = await bundleApp('./fixtures/app-streams.js');
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

  it('an app importing { connect, streams } from sockline/streams carries the full client only', async () => {
    const compact = (inputs: string[]): string[] => inputs.filter((f) => /dist\/browser\/compact\//.test(f));
    const both = await bundleApp('./fixtures/app-streams.js');
    const one = await bundleApp('./fixtures/app-streams-connect.js');
    expect(compact(both.inputs)).not.toEqual([]);
    expect(compact(one.inputs)).toEqual([]);
    expect(one.inputs.some((f) => f.endsWith('dist/core/protocol/client.js'))).toBe(true);
    expect(streamModules(one.inputs)).not.toEqual([]);
    const size = (code: string): number => gzipSync(code, { level: 9 }).length;
    console.log(
      `connect and streams from sockline/streams: ${size(one.code)} B min+gzip; connect from sockline with sockline/streams: ${size(both.code)} B`,
    );
    expect(size(one.code)).toBeLessThan(size(both.code));
  });
});
