// The systems the benches compare. Each module in this folder exposes the same two functions:
//
//   startServer({ port, mode, variant })  -> { port, connections(), close() }
//     mode 'echo':   every message is sent back to its sender
//     mode 'fanout': a subscriber registers; a published message goes to every subscriber
//   connectClient({ port, mode, variant, reconnect, onMessage, onOpen })
//     -> { send(bytes), subscribe(), publish(bytes), close() }
//     onMessage(bytes) gets every echo / delivery; onOpen() runs on every (re)open;
//     reconnect: true makes the raw baselines reconnect (libraries always use their defaults).

/** Largest message any system is configured to accept: room for the 1 MiB bulk payload. */
export const MAX_MESSAGE = 2 * 1024 * 1024;

export const HOST = '127.0.0.1';

/**
 * name -> module, variant, transport (its raw baseline) and the npm packages whose versions
 * the report lists.
 */
export const SYSTEMS = Object.freeze({
  'raw-net': {
    module: 'raw-net',
    transport: 'tcp',
    packages: [],
    label:
      'node:net with a hand-written u32 length prefix, parsed incrementally; the writes for one received chunk are corked into one',
  },
  'raw-ws': {
    module: 'raw-ws',
    transport: 'ws',
    packages: ['ws'],
    label: 'a plain `ws` server and client, binary messages, no compression',
  },
  'socket.io': {
    module: 'socketio',
    transport: 'ws',
    packages: ['socket.io', 'socket.io-client'],
    label: 'socket.io, WebSocket transport only',
  },
  mqtt: { module: 'mqtt', transport: 'tcp', packages: ['mqtt', 'aedes'], label: 'MQTT.js → aedes, QoS 0' },
  'sockline-tcp': {
    module: 'sockline',
    variant: 'tcp',
    transport: 'tcp',
    packages: [],
    label: 'sockline, tcp://',
  },
  'sockline-ws': {
    module: 'sockline',
    variant: 'ws',
    transport: 'ws',
    packages: [],
    label: 'sockline, ws://',
  },
  'sockline-udp': {
    module: 'sockline',
    variant: 'udp',
    transport: 'udp',
    packages: [],
    label: 'sockline, udp://',
  },
});

export const SYSTEM_NAMES = Object.keys(SYSTEMS);

/**
 * sockline at another revision (npm run bench -- --baseline <rev>) is a system named after the
 * current one: `sockline-tcp@fe04ca7`. Returns `{ base, revision }`, `revision` undefined for a
 * system of the current source.
 */
export function splitSystem(name) {
  const at = name.indexOf('@');
  return at === -1
    ? { base: name, revision: undefined }
    : { base: name.slice(0, at), revision: name.slice(at + 1) };
}

/** The old revision's systems for the current sockline systems among `systems`. */
export function revisionSystems(systems, revision) {
  return systems.filter((s) => SYSTEMS[s]?.module === 'sockline').map((s) => `${s}@${revision}`);
}

/** The raw baseline of a system's transport (none for UDP). */
export function baselineOf(name) {
  const { base } = splitSystem(name);
  const t = SYSTEMS[base]?.transport;
  if (base.startsWith('raw-')) return undefined;
  return t === 'tcp' ? 'raw-net' : t === 'ws' ? 'raw-ws' : undefined;
}

/** Loads a system's module: `{ name, variant, startServer(opts), connectClient(opts) }`. */
export async function loadSystem(name) {
  const { base, revision } = splitSystem(name);
  const info = SYSTEMS[base];
  if (info === undefined || (revision !== undefined && info.module !== 'sockline'))
    throw new Error(`unknown system ${name}`);
  const mod = await import(`./${info.module}.mjs`);
  const own = { variant: info.variant, revision };
  return {
    name,
    ...info,
    revision,
    startServer: (opts) => mod.startServer({ ...opts, ...own }),
    connectClient: (opts) => mod.connectClient({ ...opts, ...own }),
  };
}
