// A Node CommonJS user of the package made by `npm pack`: a server and a client, one request.
const { connect, createServer, ErrorCodes } = require('sockline');
const core = require('sockline/core');

if (typeof core.SocklineError !== 'function') throw new Error('sockline/core has no SocklineError');
const server = createServer({ tcp: { port: 0 } });
server.handle('sum', (numbers) => numbers.reduce((a, b) => a + b, 0));
server
  .listen()
  .then(async ({ tcp }) => {
    const client = connect(tcp);
    const sum = await client.request('sum', [1, 2, 3]);
    const unknown = await client.request('nothing').catch((err) => err.code);
    await client.close();
    await server.close();
    console.log(JSON.stringify({ sum, unknown, code: ErrorCodes.NOT_SOCKLINE }));
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
