// The full client, over the browser's WebSocket, for the browser build's `connect()`: what
// `sockline/streams` installs in a browser (the compact client has no streams), so that
// `connect` from `sockline` takes `{ streams }` too. The Node build ignores it.
import { createConnection } from '../connect.js';
import { installFullClient } from '../full-client.js';
import { webSocketTransports } from '../websocket-resolver.js';

installFullClient((target, options) => createConnection(target, options, webSocketTransports));
