import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import type { IncomingStream } from '../../core/streams/types.js';
import { connectionOptions, intFlag, stringFlag, type Command } from './args.js';
import { openClient } from './client.js';
import { CliError, ExitCodes, usageError } from './exit.js';
import { fileMethods } from './file-drop.js';
import { INTERRUPTED, Transfer, transferError } from './file-transfer.js';

/** `name` in `dir`, or `name.1`, `name.2`… when taken: nothing already there is overwritten. */
async function freePath(dir: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = path.join(dir, n === 0 ? name : `${name}.${n}`);
    const taken = await stat(candidate).then(
      () => true,
      () => false,
    );
    if (!taken) return candidate;
  }
}

async function directory(dir: string): Promise<string> {
  const info = await stat(dir).catch((err: Error) => {
    throw usageError(`cannot write to ${dir}: ${err.message}`);
  });
  if (!info.isDirectory()) throw usageError(`${dir} is not a directory`);
  return dir;
}

/** Writes the stream to `target` (through `<target>.part`, renamed once whole), hashing it on the way. */
async function save(download: IncomingStream, target: string, transfer: Transfer): Promise<void> {
  const part = `${target}.part`;
  const out = createWriteStream(part, { flags: 'wx' });
  try {
    for await (const chunk of download.readable as unknown as AsyncIterable<Uint8Array>) {
      transfer.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    await rename(part, target);
  } catch (err) {
    out.destroy();
    await rm(part, { force: true });
    throw err;
  }
}

export const receiveFile: Command = {
  name: 'receive-file',
  summary: 'Take a file that `sockline send-file` left on a sockline server.',
  args: '<url> [dir]',
  options: {
    ...connectionOptions,
    name: { type: 'string', arg: '<name>', help: 'take the file of this name (default the oldest)' },
    wait: {
      type: 'string',
      arg: '<ms>',
      help: 'how long to wait for a file to arrive (default: until one does)',
    },
  },
  details: `
Takes the oldest file waiting on the server (or the oldest named --name), waiting for one
to arrive if none is there, and writes it to dir (default the current one) under its name
(name.1, name.2… if that is taken; nothing is overwritten). Progress goes to stderr. Once
every byte is on disk and its SHA-256 equals the one the server computed when the file came
in, it prints "<sha256>  <path>" (as sha256sum does) and exits 0; the server then deletes
its copy. If the transfer fails, or Ctrl-C aborts it (exit 130), the file stays on the
server, first in line. --wait running out exits 5.

Examples:
  sockline receive-file tcp://127.0.0.1:7000 ~/Downloads
  sockline receive-file ws://127.0.0.1:8080 . --name nightly.tar`,
  async run([url, dirArg], values) {
    const dir = await directory(dirArg ?? '.');
    const name = stringFlag(values, 'name');
    const wait = values.wait === undefined ? Infinity : intFlag(values, 'wait', 0, 1);
    const client = await openClient(url!, values, 'stay', true);
    try {
      const incoming = new Promise<IncomingStream>((resolve) => client.once('stream', resolve));
      const { id } = await client
        .request<{ id: string }>(fileMethods.take, name === undefined ? {} : { name }, { timeout: wait })
        .catch((err: unknown) => {
          if ((err as { code?: unknown }).code === 'ERR_REQUEST_TIMEOUT')
            throw new CliError(ExitCodes.TIMEOUT, `no file came within ${wait} ms (--wait)`);
          throw transferError(err, false, '');
        });
      const download = await incoming;
      const meta = download.meta as { name: string; size: number; sha256: string };
      const target = await freePath(dir, path.basename(meta.name));
      const transfer = new Transfer(
        ['receiving', 'received'],
        meta.name,
        meta.size,
        () => download.bytesReceived,
      );
      const sha256 = await transfer.run(
        () => save(download, target, transfer),
        () => void download.readable.cancel(INTERRUPTED).catch(() => {}),
        'the download was aborted: the server keeps the file',
      );
      if (sha256 !== meta.sha256) {
        await rm(target, { force: true });
        throw new CliError(
          ExitCodes.FAILURE,
          `the file arrived different: sha256 ${sha256}, the server's ${meta.sha256}; nothing kept`,
        );
      }
      // Answered once the server knows every byte arrived (then it deletes its copy): closing
      // before would leave it unsure, and the file would wait for another receiver.
      await client.request(fileMethods.taken, id);
      process.stdout.write(`${sha256}  ${target}\n`);
      return ExitCodes.OK;
    } finally {
      await client.close();
    }
  },
};
