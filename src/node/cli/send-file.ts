import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { connectionOptions, stringFlag, type Command } from './args.js';
import { openClient } from './client.js';
import { CliError, ExitCodes, usageError } from './exit.js';
import { fileMethods } from './file-drop.js';
import { INTERRUPTED, Transfer, transferError } from './file-transfer.js';

/** Bytes read from the file at a time: one chunk of the stream. */
const READ_SIZE = 256 << 10;

/** What the server answers once the file is on its disk. */
interface Stored {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

async function fileSize(file: string): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!info.isFile()) throw usageError(`${file} is not a file`);
  return info.size;
}

export const sendFile: Command = {
  name: 'send-file',
  summary: 'Leave a file on a sockline server, for `sockline receive-file` to take.',
  args: '<url> <path>',
  options: {
    ...connectionOptions,
    name: { type: 'string', arg: '<name>', help: 'the name it is kept under (default the file name)' },
    type: {
      type: 'string',
      arg: '<media type>',
      help: 'its media type (default application/octet-stream)',
    },
  },
  details: `
The file goes to the server as a stream (with its name, size and type): the server keeps it
until one "sockline receive-file" takes it (an hour at most). Progress goes to stderr: a bar
on a terminal, a line per tenth otherwise. The connection may drop and come back meanwhile:
the transfer goes on where it stopped. Once the server has the file on disk and its SHA-256
equals the one computed here, the command prints "<sha256>  <path>" (as sha256sum does) and
exits 0. A server refusal (ERR_FILE_TOO_LARGE, ERR_STORE_FULL) exits 1; Ctrl-C aborts the
transfer (the server keeps nothing) and exits 130.

Examples:
  sockline send-file tcp://127.0.0.1:7000 ./report.pdf
  sockline send-file ws://127.0.0.1:8080 backup.tar --name nightly.tar`,
  async run([url, file], values) {
    const size = await fileSize(file!);
    const name = stringFlag(values, 'name', path.basename(file!))!;
    const type = stringFlag(values, 'type', 'application/octet-stream')!;
    const client = await openClient(url!, values, 'stay', true);
    try {
      const upload = client.openStream({ name, size, type });
      const transfer = new Transfer(['sending', 'sent'], name, size, () => upload.bytesAcknowledged);
      const writer = upload.writable.getWriter();
      const sha256 = await transfer.run(
        async () => {
          // Each write waits for the server's credit: this process holds a window, not the file.
          const bytes = createReadStream(file!, { highWaterMark: READ_SIZE }) as AsyncIterable<Buffer>;
          for await (const chunk of bytes) {
            transfer.update(chunk);
            await writer.write(chunk);
          }
          await writer.close();
        },
        () => void writer.abort(INTERRUPTED).catch(() => {}),
        'the upload was aborted: the server keeps nothing',
      );
      const stored = (await client.request(fileMethods.stored, upload.id).catch((err: unknown) => {
        throw transferError(err, false, '');
      })) as Stored;
      if (stored.sha256 !== sha256)
        throw new CliError(
          ExitCodes.FAILURE,
          `the server's copy differs: sha256 ${stored.sha256} there, ${sha256} here`,
        );
      process.stdout.write(`${sha256}  ${file!}\n`);
      process.stderr.write(`the server keeps ${name} until "sockline receive-file ${url!}" takes it\n`);
      return ExitCodes.OK;
    } finally {
      await client.close();
    }
  },
};
