// What a browser can open (WebSocket only): the core's resolver, by the browser build's name.
export { webSocketTransports as browserTransports } from '../core/websocket-resolver.js';
