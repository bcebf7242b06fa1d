// `npm start` (after `npm install`; `prestart` builds dist/): the demo, which is
// `sockline serve --demo`. One sockline server on TCP, UDP and WebSocket that also serves a chat
// page over HTTP; the ports and the page's URL are printed. Flags and environment as for
// `sockline serve` (see `npm start -- --help`), e.g. `npm start -- --http 3000` or
// SOCKLINE_TCP_PORT=0 npm start. SIGHUP restarts the server (clients resume), Ctrl-C stops it.
import { run } from '../dist/node/cli/run.js';

const args = process.argv.slice(2);
const code = await run(
  args.includes('--help') || args.includes('-h') ? ['serve', '--help'] : ['serve', '--demo', ...args],
);
process.exit(code);
