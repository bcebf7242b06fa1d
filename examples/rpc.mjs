// Request/response both ways: the client calls the server, the server calls the client.
// Run: node examples/rpc.mjs   (after npm run build)
import { connect, createServer, RemoteError } from 'sockline';

const server = createServer({ tcp: { port: 0 }, ws: { port: 0 } });
server.handle('sum', (numbers) => numbers.reduce((a, b) => a + b, 0));
server.handle('divide', ([a, b]) => {
  // A RemoteError reaches the caller with its code (`err.remoteCode`), message and data; any
  // other exception would reach it as ERR_INTERNAL, its message kept on the server.
  if (b === 0) throw new RemoteError('ERR_DIVIDE_BY_ZERO', 'division by zero');
  return a / b;
});
server.handle('slow', () => new Promise((resolve) => setTimeout(() => resolve('late'), 500)));
// The server asks each new client who it is.
server.on('connection', async (peer) => {
  const name = await peer.request('whoami');
  console.log(`server: peer ${peer.id.slice(0, 8)} on ${peer.transport} says it is ${JSON.stringify(name)}`);
});
const { tcp, ws } = await server.listen();

const client = connect(tcp);
client.handle('whoami', () => ({ name: 'rpc-example', pid: process.pid }));
console.log('sum over tcp:', await client.request('sum', [1, 2, 3, 4]));

const browserLike = connect(ws);
browserLike.handle('whoami', () => ({ name: 'ws-client' }));
console.log('divide over ws:', await browserLike.request('divide', [1, 8]));

try {
  await client.request('divide', [1, 0]);
} catch (err) {
  console.log(`divide by zero: ${err.code} (${err.remoteCode}: ${err.message})`);
}
try {
  await client.request('slow', null, { timeout: 100 });
} catch (err) {
  console.log(`slow with a 100 ms timeout: ${err.code}`);
}
try {
  await client.request('missing');
} catch (err) {
  console.log(`unknown method: ${err.code} (${err.remoteCode})`);
}

await Promise.all([client.close(), browserLike.close()]);
await server.close();
