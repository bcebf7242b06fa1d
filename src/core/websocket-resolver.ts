import type { TransportResolver } from './connect-link.js';
import { ErrorCodes, SocklineError } from './errors.js';
import { linkDefaults } from './link/options.js';
import { BrowserWsTransport, type WebSocketConstructor } from './websocket-transport.js';

/**
 * What a browser can open: WebSocket only, from the runtime or from `options.WebSocket`. The
 * browser build's resolver, in the core so that an opt-in import can hand it to the full
 * client it installs.
 */
export const webSocketTransports: TransportResolver = {
  framing: () => null,
  init(options) {
    // Without a WebSocket (Node 20, server-side rendering) every attempt would fail the same
    // way, forever: say it now, and say what to pass.
    if (
      options.WebSocket === undefined &&
      typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function'
    ) {
      throw new SocklineError(ErrorCodes.UNSUPPORTED_SCHEME, 'No WebSocket: pass options.WebSocket');
    }
  },
  check(scheme) {
    if (scheme === 'ws' || scheme === 'wss') return;
    throw new SocklineError(
      ErrorCodes.UNSUPPORTED_SCHEME,
      `Browsers cannot open ${scheme}:// (no raw sockets): use a WebSocket URL`,
    );
  },
  open(url, _scheme, handlers, options) {
    return new BrowserWsTransport(url, handlers, {
      highWaterMark: options.highWaterMark ?? linkDefaults.highWaterMark,
      WebSocket: options.WebSocket as WebSocketConstructor | undefined,
      protocols: options.protocols,
    });
  },
};
