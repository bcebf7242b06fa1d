import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/core/errors.js';
import { linkDefaults } from '../../src/core/link/options.js';
import { protocolDefaults } from '../../src/core/protocol/options.js';
import { CloseCodes } from '../../src/core/protocol/frames.js';
import { serverDefaults } from '../../src/node/server-options.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const doc = read('docs/api.md');

/** The table rows of the `## heading` section, as lists of cells. */
function rows(heading: string): string[][] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/api.md has a "## ${heading}" section`).toBeGreaterThan(-1);
  const end = doc.indexOf('\n## ', start + 1);
  return doc
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
}

/** The row documenting `name` (its first cell names it in backticks). */
function row(heading: string, name: string): string[] {
  const found = rows(heading).find((cells) => cells[0]!.includes(`\`${name}\``));
  expect(found, `docs/api.md "## ${heading}" documents \`${name}\``).toBeDefined();
  return found!;
}

/** How a default is written in the doc: `500`, `Infinity`, `false`, `'reject'`. */
const literal = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : String(value));

/** `{ a: 1, b: { c: 2 } }` → `[['a', 1], ['b.c', 2]]`. */
function flatten(object: object, prefix = ''): Array<[string, unknown]> {
  return Object.entries(object).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' ? flatten(v as object, `${prefix}${k}.`) : [[`${prefix}${k}`, v]],
  );
}

function expectDefaults(heading: string, defaults: object, aliases: Record<string, string> = {}): void {
  for (const [key, value] of flatten(defaults)) {
    const name = aliases[key] ?? key;
    const cells = row(heading, name);
    expect(cells[1], `default of ${name} in "## ${heading}"`).toContain(`\`${literal(value)}\``);
  }
}

describe('docs/api.md matches the source', () => {
  it('lists every error code of src/core/errors.ts', () => {
    const documented = rows('Errors').map((cells) => cells[0]!.replace(/`/g, ''));
    for (const code of Object.values(ErrorCodes)) expect(documented, code).toContain(code);
    expect(documented.filter((c) => c.startsWith('ERR_')).sort()).toEqual(Object.values(ErrorCodes).sort());
  });

  it('lists every close code', () => {
    for (const [name, code] of Object.entries(CloseCodes)) {
      expect(row('Close codes', String(code))[1]).toBe(`\`${name}\``);
    }
  });

  it('gives every link default (linkDefaults)', () => {
    expectDefaults('Link options (both modes)', linkDefaults);
  });

  it('gives every protocol-mode default (protocolDefaults)', () => {
    expectDefaults('Protocol mode options', protocolDefaults, {
      replayMessages: 'replay.maxMessages',
      replayBytes: 'replay.maxBytes',
    });
  });

  it('gives every server default (serverDefaults)', () => {
    expectDefaults('Server options', serverDefaults, {
      host: 'tcp.host',
      wsPath: 'ws.path',
      drainWindow: 'close.window',
      drainTimeout: 'close.timeout',
    });
  });

  it('gives every @default of the connect options (src/core/connect-options.ts)', () => {
    const source = read('src/core/connect-options.ts');
    const prefixes: Record<string, string> = {
      TlsOptions: 'tls.',
      TransportOptions: '',
      RawConnectOptions: '',
      ProtocolConnectOptions: '',
    };
    let checked = 0;
    for (const [, iface, body] of source.matchAll(/export interface (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
      const prefix = prefixes[iface!];
      expect(prefix, `a prefix for interface ${iface}`).toBeDefined();
      for (const [, comment, name] of body!.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\?:/g)) {
        const def = /@default\s+(.+?)\s*$/m.exec(comment!)?.[1];
        const cells = row('Transport options (both modes)', `${prefix}${name}`);
        checked++;
        if (def === undefined) continue;
        // A literal default must be written as that literal; prose ("the URL's host") as prose.
        const lead = def.split(/\s/)[0]!;
        if (/^('.*'|\d+|true|false|Infinity)$/.test(lead))
          expect(cells[1], `${prefix}${name}`).toContain(`\`${lead}\``);
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
