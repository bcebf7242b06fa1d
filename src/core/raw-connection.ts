import { Emitter } from './emitter.js';
import { ErrorCodes, SocklineError } from './errors.js';
import type { Transport, TransportCloseInfo, TransportFactory, BaseTransportOptions } from './transport.js';

export interface RawConnectionEvents {
  [event: string]: (...args: never[]) => void;
  open: () => void;
  message: (data: Uint8Array | string) => void;
  close: (info: TransportCloseInfo) => void;
}

/**
 * One connection over one transport, chunks delivered as they come. This is the minimal
 * raw mode; it does not reconnect.
 */
export class RawConnection extends Emitter<RawConnectionEvents> {
  /** Resolves on open; rejects if the connection closes first. */
  readonly opened: Promise<void>;
  readonly closed: Promise<TransportCloseInfo>;
  readonly #transport: Transport;

  constructor(factory: TransportFactory, url: URL, options: BaseTransportOptions) {
    super();
    let resolveOpen!: () => void;
    let rejectOpen!: (err: unknown) => void;
    let resolveClosed!: (info: TransportCloseInfo) => void;
    this.opened = new Promise((res, rej) => ((resolveOpen = res), (rejectOpen = rej)));
    this.opened.catch(() => {});
    this.closed = new Promise((res) => (resolveClosed = res));
    this.#transport = factory(
      url,
      {
        onOpen: () => {
          resolveOpen();
          this.emit('open');
        },
        onData: (data) => this.emit('message', data),
        onDrain: () => {},
        onSoftError: () => {},
        onClose: (info) => {
          rejectOpen(
            info.error ?? new SocklineError(ErrorCodes.CONNECTION_CLOSED, 'closed before it opened'),
          );
          resolveClosed(info);
          this.emit('close', info);
        },
      },
      options,
    );
  }

  send(data: Uint8Array | string): boolean {
    return this.#transport.send(data);
  }

  close(): Promise<TransportCloseInfo> {
    this.#transport.close();
    return this.closed;
  }
}
