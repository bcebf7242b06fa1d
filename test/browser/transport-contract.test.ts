import { inject } from 'vitest';
import { commands } from 'vitest/browser';
import { BrowserWsTransport } from '../../src/core/websocket-transport.js';
import { describeTransportContract } from '../contract/transport-contract.js';

const MIB = 1 << 20;

// The transport contract of test/contract, run by Chromium's own WebSocket against a `ws`
// echo in Node: the same cases the Node project runs with `ws` injected into this transport.
describeTransportContract('browser-ws in Chromium', () => {
  let unreachable = '';
  return {
    kind: 'message',
    abortIsError: true,
    async start() {
      unreachable = await commands.unusedWsUrl();
    },
    open: (handlers, options) =>
      new BrowserWsTransport(new URL(inject('contractWsUrl')), handlers, {
        highWaterMark: options?.highWaterMark ?? MIB,
        drainPollInterval: 5,
      }),
    openUnreachable: (handlers) =>
      new BrowserWsTransport(new URL(unreachable), handlers, { highWaterMark: MIB }),
    dropConnections: (how) => void commands.dropContractConnections(how),
    close: async () => {},
  };
});
