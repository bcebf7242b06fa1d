// A Node ESM user of the package made by `npm pack`: a server and a client, one request.
import { connect, createServer, ErrorCodes } from 'sockline';
import { connect as nodeConnect } from 'sockline/node';

if (nodeConnect !== connect) throw new Error('sockline and sockline/node differ under Node');
const server = createServer({ tcp: { port: 0 } });
server.handle('sum', (numbers) => numbers.reduce((a, b) => a + b, 0));
const { tcp } = await server.listen();
const client = connect(tcp);
const sum = await client.request('sum', [1, 2, 3]);
const unknown = await client.request('nothing').catch((err) => err.code);
await client.close();
await server.close();
console.log(JSON.stringify({ sum, unknown, code: ErrorCodes.NOT_SOCKLINE }));
