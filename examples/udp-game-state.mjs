// A game client over UDP with two channels to one sockline server:
// - position snapshots on the unreliable channel, sent `volatile`: never queued or resent,
//   a lost one is simply replaced by the next (the right trade for state that goes stale);
// - game events on the reliable channel: acknowledged, retransmitted, in order, exactly once.
// Run: node examples/udp-game-state.mjs   (after npm run build)
import { connect, createServer } from 'sockline';

const server = createServer({ udp: { port: 0 } });
const world = new Map(); // peer id -> latest position
const events = [];
server.on('connection', (peer) => {
  peer.on('message', (m) => {
    if (m.type === 'state') {
      world.set(peer.id, m);
      // The server answers with the world, volatile too: only the latest matters.
      peer.send({ type: 'world', players: world.size, tick: m.tick }, { volatile: true });
    } else if (m.type === 'event') {
      events.push(m);
    }
  });
});
const { udp } = await server.listen();
console.log(`server on ${udp}`);

const state = connect(udp); // unreliable datagrams
const reliable = connect(udp, { reliable: true }); // acks, retransmission, ordering
await Promise.all([state.opened, reliable.opened]);

let worldUpdates = 0;
state.on('message', () => worldUpdates++);

const TICKS = 60;
let sent = 0;
for (let tick = 1; tick <= TICKS; tick++) {
  const result = state.send(
    { type: 'state', tick, x: Math.cos(tick / 10) * 100, y: Math.sin(tick / 10) * 100 },
    { volatile: true },
  );
  if (result === 'sent') sent++;
  if (tick % 15 === 0) reliable.send({ type: 'event', name: 'checkpoint', tick });
  await new Promise((resolve) => setTimeout(resolve, 1000 / 60)); // 60 Hz
}
reliable.send({ type: 'event', name: 'finish', tick: TICKS });

// Reliable events all arrive; wait for them, then report what the unreliable channel carried.
const deadline = Date.now() + 5000;
while (events.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
const latest = [...world.values()][0];
console.log(
  `unreliable: ${sent} snapshots sent, the server holds tick ${latest?.tick}, ${worldUpdates} world updates back`,
);
console.log(
  `reliable: ${events.length} events, in order: ${events.map((e) => `${e.name}@${e.tick}`).join(', ')}`,
);

await Promise.all([state.close(), reliable.close()]);
await server.close();
if (events.map((e) => e.tick).join() !== '15,30,45,60,60') process.exit(1);
