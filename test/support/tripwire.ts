import { afterAll, afterEach } from 'vitest';
import { inspect } from 'node:util';

/**
 * A setup file for the Node test projects: an `uncaughtException` or `unhandledRejection`
 * anywhere in the process while a test runs fails that test (in its `afterEach`), with the
 * error printed. Sockline promises that I/O errors arrive as events and that `opened` and
 * request promises never go unhandled; this holds every test to it, not only the ones that
 * look for it.
 */

interface Tripped {
  readonly kind: 'uncaughtException' | 'unhandledRejection';
  readonly error: unknown;
}

const KEY = Symbol.for('sockline.test.tripwire');
type Registry = { tripped: Tripped[] };
const holder = globalThis as typeof globalThis & { [KEY]?: Registry };

// Registered once per process, however many test files the worker runs.
const registry: Registry =
  holder[KEY] ??
  (() => {
    const created: Registry = { tripped: [] };
    process.on('uncaughtException', (error) => created.tripped.push({ kind: 'uncaughtException', error }));
    process.on('unhandledRejection', (error) => created.tripped.push({ kind: 'unhandledRejection', error }));
    holder[KEY] = created;
    return created;
  })();

function check(): void {
  if (registry.tripped.length === 0) return;
  const tripped = registry.tripped.splice(0);
  const details = tripped.map((t) => `${t.kind}: ${inspect(t.error, { depth: 4 })}`).join('\n\n');
  throw new Error(`tripwire: ${tripped.length} unhandled error(s) during this test\n${details}`);
}

afterEach(check);
afterAll(check);
