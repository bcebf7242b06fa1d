import { ErrorCodes, SocklineError } from '../errors.js';
import { decodePayload, encodePayload } from '../protocol/codec.js';
import { decodeFrame } from '../protocol/frames-decode.js';
import {
  decodeStreamFrame,
  encodeStreamFrame,
  type ChunkFrame,
  type OpenFrame,
  type StopFrame,
  type StreamFrame,
} from '../protocol/frames-stream.js';
import { remoteError } from '../protocol/rpc.js';
import type { OutgoingMessage } from '../protocol/endpoint/sequenced.js';
import type { ReceiveLimits } from '../protocol/frames.js';
import type { LargeMessage, TransferHost, Transfers, WholeMessage } from '../protocol/endpoint/transfer.js';
import { checkMeta, reasonOf } from './meta.js';
import { Receiver, type ReceiverOwner } from './receiver.js';
import { Sender, type SenderOwner } from './sender.js';
import type { OutgoingStream, StreamMeta } from './types.js';

/** The most bytes of one CHUNK: small enough that a message sent meanwhile waits little. */
export const CHUNK_SIZE = 256 << 10;

/**
 * Bytes of chunks after which the reader acknowledges at once: the writer keeps every chunk
 * for replay until it is acknowledged, up to its replay bound (8 MiB by default, 32 chunks),
 * and would stop there with the default count of frames per ack (32). With an ack every
 * 2 MiB, what it keeps is at most a window (4 MiB) and 2 MiB, at one small frame per 2 MiB.
 */
const ACK_BYTES = 2 << 20;

/** What a CHUNK adds to its bytes, at most: type, flags, seq, ack and id varints. */
const CHUNK_OVERHEAD = 2 + 3 * 8;

/** A large message being put together (docs/protocol.md §13.4). */
interface Assembly {
  readonly message: WholeMessage;
  readonly buffer: Uint8Array;
  offset: number;
}

/**
 * The streams and large messages of one session (docs/protocol.md §13), both directions, for
 * the session endpoint (`Transfers`):
 *
 * - out: the streams this side opened (`Sender`) and its large messages, each a message stream
 *   started in turn while the peer's `maxMessageSize` has room for it. Their OPEN, RESET and
 *   CANCEL frames go first; their CHUNKs take turns, one each, within each reader's credit and
 *   only while the connection has room under its high-water mark;
 * - in: the peer's streams (`Receiver`), each refused with a CANCEL when over `maxStreams` or
 *   the shared budget, and the peer's large messages, each put together in a buffer of its
 *   declared size (refused the same way when it does not fit), then handed to the endpoint.
 *
 * Every frame but CREDIT is sequenced: the session replays what the peer has not acknowledged
 * after a reconnect, so nothing is lost or repeated; credits are announced again instead.
 */
export class SessionTransfers implements Transfers, SenderOwner, ReceiverOwner {
  readonly #host: TransferHost;
  /** OPEN, RESET and CANCEL frames to write, before any chunk; `opens`: the stream an OPEN opens. */
  #controls: Array<{ readonly message: OutgoingMessage; readonly opens: Sender | undefined }> = [];
  /** Streams of this side not over yet, user streams and message streams, opened or not. */
  readonly #out = new Set<Sender>();
  /** ... those whose OPEN was written, by id. */
  readonly #senders = new Map<number, Sender>();
  /** Senders that may write a chunk, in turn. */
  #turns: Sender[] = [];
  #nextId = 1;
  /** User streams of this side open (the peer's `maxStreams` bounds them). */
  #userStreams = 0;
  /** Large messages waiting for their turn, and the bytes of those started and not acknowledged. */
  #waiting: LargeMessage[] = [];
  #waitingBytes = 0;
  #inFlight = 0;
  /** The peer's streams by id; the highest id it opened. */
  readonly #receivers = new Map<number, Receiver>();
  readonly #assemblies = new Map<number, Assembly>();
  #peerId = 0;
  /** Bytes reserved for incoming messages and streams. */
  #held = 0;
  #assembling = 0;
  /** Bytes of chunks received since the last ack this side forced (see ACK_BYTES). */
  #unacknowledged = 0;

  constructor(host: TransferHost) {
    this.#host = host;
  }

  get held(): number {
    return this.#held;
  }

  // --- out -------------------------------------------------------------------------------------

  open(meta: unknown, options: unknown): OutgoingStream {
    const host = this.#host;
    const peer = host.peer();
    // Before the first handshake the peer's limits are not known: they are checked when the
    // session opens (`attached`), and a stream it cannot take fails then.
    if (peer !== null) this.#checkStream(peer, this.#userStreams);
    const { signal } = checkMeta(meta, options);
    const { kind, payload } = encodePayload(meta, host.codec());
    if (payload.byteLength > (peer?.maxFrameSize ?? host.limits().maxFrameSize) - CHUNK_OVERHEAD) {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `the metadata of a stream takes ${payload.byteLength} bytes: over one frame`,
      );
    }
    const sender = new Sender(meta as StreamMeta, undefined, this);
    this.#out.add(sender);
    this.#userStreams++;
    this.#control(sender, (seq, ack) =>
      encodeStreamFrame({ type: 'open', seq, ack, id: sender.id, kind, payload }),
    );
    if (signal !== undefined) {
      const abort = (): void => void sender.writable.abort(signal.reason).catch(() => {});
      if (signal.aborted) abort();
      else {
        signal.addEventListener('abort', abort, { once: true });
        void sender.done.then(
          () => signal.removeEventListener('abort', abort),
          () => signal.removeEventListener('abort', abort),
        );
      }
    }
    return sender;
  }

  /** Throws unless the peer takes one more stream beside `open` of this side's. */
  #checkStream(peer: ReceiveLimits, open: number): void {
    if (peer.maxStreams === 0) {
      throw new SocklineError(ErrorCodes.NOT_SUPPORTED, 'cannot open a stream: the peer takes no streams');
    }
    if (open >= peer.maxStreams) {
      throw new SocklineError(
        ErrorCodes.TOO_MANY_STREAMS,
        `cannot open a stream: ${peer.maxStreams} are open, the peer's maxStreams`,
      );
    }
  }

  send(message: LargeMessage): void {
    const peer = this.#host.peer();
    const size = message.payload.byteLength;
    if (peer !== null) this.#checkMessage(peer, size);
    // Held at most: one maxMessageSize on its way, one waiting.
    const max = peer?.maxMessageSize ?? this.#host.limits().maxMessageSize;
    if (this.#waitingBytes + size > max) {
      throw new SocklineError(
        ErrorCodes.QUEUE_FULL,
        `${this.#waitingBytes} bytes of large messages wait already; ${size} more would be over maxMessageSize (${max} bytes)`,
      );
    }
    this.#waiting.push(message);
    this.#waitingBytes += size;
    this.#host.ready();
  }

  /** Throws unless the peer takes a message of `size` bytes over one frame. */
  #checkMessage(peer: ReceiveLimits, size: number): void {
    if (peer.maxMessageSize === 0) {
      throw new SocklineError(
        ErrorCodes.FRAME_TOO_LARGE,
        `message of ${size} bytes is over one frame (maxFrameSize ${peer.maxFrameSize} bytes), and the peer takes no larger one`,
      );
    }
    if (size > peer.maxMessageSize) {
      throw new SocklineError(
        ErrorCodes.MESSAGE_TOO_LARGE,
        `message of ${size} bytes is over the peer's maxMessageSize (${peer.maxMessageSize} bytes)`,
      );
    }
  }

  next(room: number): OutgoingMessage | undefined {
    const control = this.#nextControl();
    if (control !== undefined) return control;
    if (this.#waiting.length > 0 && this.#start()) return this.#nextControl();
    if (room <= 0) return undefined;
    const turns = this.#turns;
    const max = Math.min(CHUNK_SIZE, this.#host.peer()!.maxFrameSize - CHUNK_OVERHEAD);
    while (turns.length > 0) {
      const sender = turns.shift()!;
      const chunk = sender.chunk(max);
      if (chunk === undefined) {
        sender.queued = false;
        continue;
      }
      if (sender.canWrite) turns.push(sender);
      else sender.queued = false;
      return chunk;
    }
    return undefined;
  }

  /**
   * The next OPEN, RESET or CANCEL. A stream gets its id when its OPEN is written (ids go up by
   * one, in the order of the OPENs): one that ended before then is never opened at all.
   */
  #nextControl(): OutgoingMessage | undefined {
    for (let control = this.#controls.shift(); control !== undefined; control = this.#controls.shift()) {
      const { opens } = control;
      if (opens === undefined) return control.message;
      if (opens.over) continue;
      opens.id = this.#nextId++;
      this.#senders.set(opens.id, opens);
      if (opens.canWrite && !opens.queued) {
        opens.queued = true;
        this.#turns.push(opens);
      }
      return control.message;
    }
    return undefined;
  }

  /**
   * Starts the next large message when the peer's `maxMessageSize` has room for it beside
   * those on their way (what the peer holds for this session stays within it). A message no
   * longer wanted (a request that timed out) is skipped. True when an OPEN was queued.
   */
  #start(): boolean {
    const peer = this.#host.peer()!;
    while (this.#waiting.length > 0) {
      const message = this.#waiting[0]!;
      const size = message.payload.byteLength;
      if (message.live?.() === false) {
        this.#waiting.shift();
        this.#waitingBytes -= size;
        continue;
      }
      if (this.#inFlight > 0 && this.#inFlight + size > peer.maxMessageSize) return false;
      this.#waiting.shift();
      this.#waitingBytes -= size;
      this.#inFlight += size;
      const sender = new Sender({}, message, this);
      this.#out.add(sender);
      const header = message.header;
      this.#control(sender, (seq, ack) => {
        message.sent?.();
        return encodeStreamFrame({
          type: 'open',
          seq,
          ack,
          id: sender.id,
          message: { size, header },
          kind: 'binary',
          payload: EMPTY,
        });
      });
      this.ready(sender);
      return true;
    }
    return false;
  }

  /** A sequenced control frame (OPEN of `opens`, RESET, CANCEL), written before any chunk. */
  #control(opens: Sender | undefined, encode: (seq: number, ack: number | undefined) => Uint8Array): void {
    const message: OutgoingMessage = {
      topic: undefined,
      kind: 'binary',
      payload: EMPTY,
      original: undefined,
      other: { encode },
    };
    this.#controls.push({ message, opens });
    this.#host.ready();
  }

  // SenderOwner

  ready(sender: Sender): void {
    // Chunks follow the OPEN: a stream whose OPEN waits has none to write yet.
    if (!sender.queued && sender.canWrite) {
      sender.queued = true;
      this.#turns.push(sender);
    }
    this.#host.ready();
  }

  reset(sender: Sender, reason: unknown): void {
    // A stream whose OPEN was never written ends here: the peer never heard of it.
    if (sender.id === 0) return;
    const { code, message } = reasonOf(reason);
    this.#control(undefined, (seq, ack) =>
      encodeStreamFrame({ type: 'reset', seq, ack, id: sender.id, code, message }),
    );
  }

  finished(sender: Sender): void {
    if (!this.#out.delete(sender)) return;
    if (this.#senders.get(sender.id) === sender) this.#senders.delete(sender.id);
    if (sender.message === undefined) this.#userStreams--;
    else {
      this.#inFlight -= sender.message.payload.byteLength;
      if (this.#waiting.length > 0) this.#host.ready();
    }
  }

  // --- in --------------------------------------------------------------------------------------

  receive(bytes: Uint8Array): void {
    let frame: StreamFrame;
    try {
      frame = decodeStreamFrame(bytes);
    } catch (err) {
      this.#host.fail((err as Error).message);
      return;
    }
    const host = this.#host;
    if (frame.type === 'credit') {
      this.#senders.get(frame.id)?.credit(frame.limit);
      return;
    }
    if (!host.sequence(frame.seq, frame.ack)) return;
    switch (frame.type) {
      case 'open':
        this.#opened(frame);
        return;
      case 'chunk':
        this.#chunk(frame);
        return;
      case 'reset':
        this.#reset(frame);
        return;
      case 'cancel':
        this.#cancelled(frame);
        return;
    }
  }

  #opened(frame: OpenFrame): void {
    const host = this.#host;
    if (frame.id !== this.#peerId + 1) {
      host.fail(`stream ${frame.id} opened after stream ${this.#peerId}: ids go up by one`);
      return;
    }
    this.#peerId = frame.id;
    if (frame.message !== undefined) this.#assemble(frame);
    else this.#accept(frame);
  }

  /** A large message begins: checked against the limits, then a buffer of its size. */
  #assemble(frame: OpenFrame): void {
    const { id, seq } = frame;
    const { size, header } = frame.message!;
    const host = this.#host;
    const max = host.limits().maxMessageSize;
    if (size > max || this.#assembling + size > max) {
      host.fail(
        `a message of ${size} bytes over maxMessageSize (${max} bytes, ${this.#assembling} on their way)`,
      );
      return;
    }
    let message: WholeMessage;
    try {
      const frame = decodeFrame(header);
      if (
        (frame.type !== 'data' &&
          frame.type !== 'publish' &&
          frame.type !== 'request' &&
          frame.type !== 'response') ||
        frame.seq !== undefined ||
        frame.ack !== undefined ||
        frame.payload.byteLength !== 0
      ) {
        throw new SocklineError(ErrorCodes.PROTOCOL, 'not a DATA, PUBLISH, REQUEST or RESPONSE header');
      }
      message = frame;
    } catch (err) {
      host.fail(`the header of message stream ${id}: ${(err as Error).message}`);
      return;
    }
    let buffer: Uint8Array | undefined;
    const budget = host.budget();
    if (budget === null || budget.reserve(size)) {
      try {
        buffer = new Uint8Array(size);
      } catch {
        budget?.release(size);
      }
    }
    if (buffer === undefined) {
      this.#refuseMessage(id, seq, message);
      return;
    }
    this.#held += size;
    this.#assembling += size;
    this.#assemblies.set(id, { message, buffer, offset: 0 });
  }

  /**
   * A large message the budget cannot take: its writer gets a CANCEL. A RESPONSE refused here
   * fails the request it answers at once (the handler ran; its result is what did not fit).
   */
  #refuseMessage(id: number, seq: number, message: WholeMessage): void {
    const text = `a message of this size would take the memory budget over`;
    this.#cancel(id, ErrorCodes.MEMORY_BUDGET, text);
    if (message.type === 'response') {
      const error = { code: ErrorCodes.MEMORY_BUDGET, message: `the result was refused: ${text}` };
      this.#host.deliver({ type: 'response', id: message.id, error, kind: 'binary', payload: EMPTY }, seq);
    }
  }

  /** A stream of the peer: refused over `maxStreams` or the budget, else the application's. */
  #accept(frame: OpenFrame): void {
    const host = this.#host;
    const { id } = frame;
    const limits = host.limits();
    if (this.#receivers.size >= limits.maxStreams) {
      this.#cancel(id, ErrorCodes.TOO_MANY_STREAMS, `at most ${limits.maxStreams} streams (maxStreams)`);
      return;
    }
    let meta: unknown;
    try {
      meta = decodePayload(frame.kind, frame.payload, host.codec());
    } catch (err) {
      this.#cancel(id, ErrorCodes.BAD_PAYLOAD, `metadata: ${(err as Error).message}`);
      return;
    }
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
      this.#cancel(id, ErrorCodes.BAD_PAYLOAD, 'metadata must be an object');
      return;
    }
    const window = limits.streamWindow;
    const budget = host.budget();
    if (budget !== null && !budget.reserve(window)) {
      this.#cancel(id, ErrorCodes.MEMORY_BUDGET, 'a stream would take the memory budget over');
      return;
    }
    this.#held += window;
    const receiver = new Receiver(id, meta as StreamMeta, window, window, this);
    this.#receivers.set(id, receiver);
    host.write(encodeStreamFrame({ type: 'credit', id, limit: receiver.announced }));
    if (!host.stream(receiver)) {
      this.#end(receiver);
      this.#cancel(id, ErrorCodes.NOT_SUPPORTED, 'nothing takes streams here');
    }
  }

  #chunk(frame: ChunkFrame): void {
    const { id, payload } = frame;
    const host = this.#host;
    if (id > this.#peerId) {
      host.fail(`a chunk of stream ${id}, which was never opened`);
      return;
    }
    if ((this.#unacknowledged += payload.byteLength) >= ACK_BYTES) {
      this.#unacknowledged = 0;
      // At the end of this turn: a frame written meanwhile (an answer) carries it instead.
      queueMicrotask(host.ack);
    }
    const assembly = this.#assemblies.get(id);
    if (assembly !== undefined) {
      const { buffer } = assembly;
      const end = assembly.offset + payload.byteLength;
      if (end > buffer.byteLength || (frame.fin === true && end !== buffer.byteLength)) {
        host.fail(`message stream ${id} sent ${end} bytes of a ${buffer.byteLength}-byte message`);
        return;
      }
      buffer.set(payload, assembly.offset);
      assembly.offset = end;
      if (frame.fin !== true) return;
      this.#assemblies.delete(id);
      this.#release(buffer.byteLength);
      this.#assembling -= buffer.byteLength;
      host.deliver({ ...assembly.message, payload: buffer }, frame.seq);
      return;
    }
    const receiver = this.#receivers.get(id);
    // A stream this side refused, cancelled or saw end: what was on its way is dropped.
    if (receiver === undefined) return;
    if (payload.byteLength > receiver.room) {
      host.fail(`stream ${id} sent ${payload.byteLength} bytes with ${receiver.room} of credit`);
      return;
    }
    receiver.push(payload, frame.fin === true);
    if (frame.fin === true) this.#end(receiver);
  }

  /** The writer of a peer's stream gave up: its readable errors, what it held is freed. */
  #reset(frame: StopFrame): void {
    const assembly = this.#assemblies.get(frame.id);
    if (assembly !== undefined) {
      this.#assemblies.delete(frame.id);
      this.#release(assembly.buffer.byteLength);
      this.#assembling -= assembly.buffer.byteLength;
      return;
    }
    const receiver = this.#receivers.get(frame.id);
    if (receiver === undefined) return;
    receiver.fail(stopError('the writer aborted the stream', frame));
    this.#end(receiver);
  }

  /** The reader of one of this side's streams gave up (or refused it). */
  #cancelled(frame: StopFrame): void {
    const sender = this.#senders.get(frame.id);
    if (sender === undefined) return;
    const error = stopError('the reader cancelled the stream', frame);
    const message = sender.message;
    sender.fail(error);
    if (message !== undefined) message.refused(error);
  }

  // ReceiverOwner

  credit(receiver: Receiver, limit: number): void {
    if (this.#receivers.get(receiver.id) === receiver)
      this.#host.write(encodeStreamFrame({ type: 'credit', id: receiver.id, limit }));
  }

  cancel(receiver: Receiver, reason: unknown): void {
    if (this.#receivers.get(receiver.id) !== receiver) return;
    this.#end(receiver);
    const { code, message } = reasonOf(reason);
    this.#cancel(receiver.id, code, message);
  }

  #cancel(id: number, code: string, message: string): void {
    this.#control(undefined, (seq, ack) =>
      encodeStreamFrame({ type: 'cancel', seq, ack, id, code, message }),
    );
  }

  #end(receiver: Receiver): void {
    if (this.#receivers.get(receiver.id) !== receiver) return;
    this.#receivers.delete(receiver.id);
    this.#release(receiver.reserved);
  }

  #release(bytes: number): void {
    this.#held -= bytes;
    this.#host.budget()?.release(bytes);
  }

  // --- the session -----------------------------------------------------------------------------

  attached(): void {
    // Credits are not sequenced: one lost with the connection is announced again.
    for (const receiver of this.#receivers.values())
      this.#host.write(encodeStreamFrame({ type: 'credit', id: receiver.id, limit: receiver.announced }));
    this.#checkWaiting();
  }

  /**
   * The peer's limits are known (a handshake): what was opened or sent before they were, and
   * that the peer cannot take, fails now, before anything of it is written.
   */
  #checkWaiting(): void {
    const peer = this.#host.peer()!;
    let open = 0;
    for (const sender of [...this.#out]) {
      if (sender.message !== undefined || sender.over) continue;
      try {
        if (sender.id === 0) this.#checkStream(peer, open);
        open++;
      } catch (err) {
        sender.fail(err);
      }
    }
    for (const message of [...this.#waiting]) {
      try {
        this.#checkMessage(peer, message.payload.byteLength);
      } catch (err) {
        this.#waiting.splice(this.#waiting.indexOf(message), 1);
        this.#waitingBytes -= message.payload.byteLength;
        message.refused(err as SocklineError);
      }
    }
  }

  lost(error: SocklineError): void {
    const restart: LargeMessage[] = [];
    for (const sender of this.#out) {
      const message = sender.message;
      if (message !== undefined && message.live?.() !== false) restart.push(message);
    }
    this.#reset_(error);
    // Large messages start over in the new session, before those that waited.
    for (const message of restart.reverse()) {
      this.#waiting.unshift(message);
      this.#waitingBytes += message.payload.byteLength;
    }
    if (this.#waiting.length > 0) this.#host.ready();
  }

  close(error: SocklineError): void {
    for (const message of this.#waiting) message.closed?.(error);
    for (const sender of this.#out) sender.message?.closed?.(error);
    this.#waiting = [];
    this.#waitingBytes = 0;
    this.#reset_(error);
  }

  /** Everything of the session fails with `error`; ids start over from 1. */
  #reset_(error: SocklineError): void {
    this.#senders.clear();
    for (const sender of [...this.#out]) if (sender.message === undefined) sender.fail(error);
    this.#out.clear();
    this.#controls = [];
    this.#turns = [];
    this.#nextId = 1;
    this.#userStreams = 0;
    this.#inFlight = 0;
    for (const receiver of [...this.#receivers.values()]) {
      receiver.fail(error);
      this.#end(receiver);
    }
    // A message the peer never finished is dropped, and said so: its sender will not finish it.
    for (const { buffer, offset } of this.#assemblies.values()) {
      this.#release(buffer.byteLength);
      this.#host.error(
        new SocklineError(
          error.code,
          `a message of ${buffer.byteLength} bytes was dropped unfinished (${offset} received): ${error.message}`,
          { cause: error },
        ),
      );
    }
    this.#assemblies.clear();
    this.#assembling = 0;
    this.#peerId = 0;
  }
}

const EMPTY = new Uint8Array(0);

/** The codes sockline itself refuses a stream or a message with: the writer sees them as they are. */
const REFUSALS: ReadonlySet<string> = new Set([
  ErrorCodes.MEMORY_BUDGET,
  ErrorCodes.TOO_MANY_STREAMS,
  ErrorCodes.NOT_SUPPORTED,
  ErrorCodes.BAD_PAYLOAD,
]);

/**
 * The error a RESET or CANCEL stands for: one of sockline's refusals as itself, anything else
 * (the application's reason) as `ERR_STREAM_ABORTED` with the reason's code as `remoteCode`.
 */
function stopError(what: string, frame: StopFrame): SocklineError {
  const { code, message } = frame;
  if (REFUSALS.has(code)) return remoteError(code, message);
  const error = new SocklineError(ErrorCodes.STREAM_ABORTED, `${what}: ${message || code}`);
  error.remoteCode = code;
  return error;
}
