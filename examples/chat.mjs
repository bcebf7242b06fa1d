// A chat room on one server, with clients on TCP, WebSocket and UDP. Rooms and presence
// come from the server side (peer.join, server.broadcast, connection and disconnect events);
// `npm start` serves a fuller version with a web page.
// Run: node examples/chat.mjs   (after npm run build)
import { connect, createServer } from 'sockline';

const server = createServer({ tcp: { port: 0 }, ws: { port: 0 }, udp: { port: 0 } });
const names = new Map(); // peer -> name
const present = () => [...names.values()].sort();

server.handle('join', (name, peer) => {
  names.set(peer, name);
  peer.join('lobby');
  server.broadcast({ type: 'presence', members: present() }, { room: 'lobby' });
  return present();
});
server.on('connection', (peer) =>
  peer.on('message', (text) => {
    // The server stamps the sender: clients cannot speak for each other.
    server.broadcast({ type: 'say', from: names.get(peer), text }, { room: 'lobby' });
  }),
);
server.on('disconnect', (peer) => {
  names.delete(peer);
  server.broadcast({ type: 'presence', members: present() }, { room: 'lobby' });
});
const urls = await server.listen();

async function join(name, url, options) {
  const client = connect(url, options);
  const log = [];
  client.on('message', (m) => {
    if (m.type === 'say') log.push(`${m.from}: ${m.text}`);
    else console.log(`  ${name} sees present: ${m.members.join(', ')}`);
  });
  await client.request('join', name);
  return { name, client, log };
}

const alice = await join('alice', urls.tcp);
const bob = await join('bob', urls.ws);
const carol = await join('carol', urls.udp, { reliable: true }); // a chat must not lose lines

alice.client.send('hi all, alice on tcp');
bob.client.send('bob here, on a WebSocket');
carol.client.send('carol, over udp');

const everyone = [alice, bob, carol];
const deadline = Date.now() + 5000;
while (everyone.some((p) => p.log.length < 3) && Date.now() < deadline)
  await new Promise((r) => setTimeout(r, 10));
for (const p of everyone) console.log(`${p.name}'s screen:\n    ${p.log.join('\n    ')}`);

await carol.client.close(); // a CLOSE ends the session: the others see carol leave
await new Promise((r) => setTimeout(r, 100));
await Promise.all([alice.client.close(), bob.client.close()]);
await server.close();
if (everyone.some((p) => p.log.length !== 3)) process.exit(1);
