// Raw mode: sockline's reconnecting link against a plain node:net line server that knows
// nothing of sockline. It answers each line in upper case. Half way, the server restarts: the
// link reconnects by itself and the lines sent while it is down are queued, then delivered.
// Run: node examples/raw-tcp-lines.mjs   (after npm run build)
import * as net from 'node:net';
import { connect } from 'sockline';

function lineServer(port) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.setEncoding('utf8').on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) !== -1) {
        socket.write(pending.slice(0, nl).toUpperCase() + '\n');
        pending = pending.slice(nl + 1);
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(done);
          }),
      }),
    ),
  );
}

let server = await lineServer(0);
const link = connect(`tcp://127.0.0.1:${server.port}`, {
  protocol: 'raw',
  framing: 'lines', // cut the stream at '\n'; messages arrive as strings
  reconnect: { initialDelay: 50, maxDelay: 200 },
});
link.on('state', ({ from, to }) => console.log(`  [${from} -> ${to}]`));

const replies = [];
const got = (n) =>
  new Promise((resolve) => {
    const check = () => replies.length >= n && (off(), resolve());
    const off = link.on('message', (line) => {
      replies.push(line);
      console.log(`< ${line}`);
      check();
    });
    check();
  });

for (const line of ['hello', 'sockline speaks lines']) console.log(`> ${line}`, link.send(line));
await got(2);

await server.close();
// Raw mode has no acknowledgements: bytes written into a connection that is dying are lost.
// Once the link has noticed (it reconnects by itself), what we send is queued for the next one.
// The sockline protocol mode closes this gap with sequence numbers, acks and resume.
await new Promise((resolve) => link.once('reconnecting', resolve));
for (const line of ['sent while the server was down', 'and queued'])
  console.log(`> ${line}`, link.send(line));
server = await lineServer(server.port);
await got(4);

await link.close();
await server.close();
if (replies.join('|') !== 'HELLO|SOCKLINE SPEAKS LINES|SENT WHILE THE SERVER WAS DOWN|AND QUEUED')
  process.exit(1);
