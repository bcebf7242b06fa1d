// What every opt-in import installs besides its own feature: the full client, over the
// browser's WebSocket, for the browser build's `connect()` (the compact client has none of
// what the opt-ins add). Imported by each of them; the Node build ignores it.
import { createConnection } from '../connect.js';
import { installFullClient } from '../full-client.js';
import { webSocketTransports } from '../websocket-resolver.js';

installFullClient((target, options) => createConnection(target, options, webSocketTransports));
