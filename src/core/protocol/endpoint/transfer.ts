import type { SocklineError } from '../../errors.js';
import type { Codec } from '../codec.js';
import type { DataFrame, PublishFrame, ReceiveLimits, RequestFrame, ResponseFrame } from '../frames.js';
import type { OutgoingMessage } from './sequenced.js';

/*
 * The seam between the session endpoint and what carries streams and large messages
 * (docs/protocol.md §13). The endpoint only knows these types: the code behind them is loaded
 * by whoever uses it (`sockline/streams` in a client, always in the server), so an application
 * that never opens a stream or sends a message over one frame does not carry it.
 */

/** A DATA, PUBLISH, REQUEST or RESPONSE whose payload came in a stream (§13.4), now whole. */
export type WholeMessage = DataFrame | PublishFrame | RequestFrame | ResponseFrame;

/** A message over one frame, to be sent as a message stream (§13.4). */
export interface LargeMessage {
  /** Its frame body without seq, ack or payload: the header of its OPEN. */
  readonly header: Uint8Array;
  readonly payload: Uint8Array;
  /** Still wanted when its turn comes (a request that timed out before it left is not). */
  live?(): boolean;
  /** Its OPEN got a sequence number: it left this side. */
  sent?(): void;
  /** The receiver refused it (CANCEL): nothing of it was delivered; `error` says why. */
  refused(error: SocklineError): void;
  /** The session ended before it was delivered (`error` is why). */
  closed?(error: SocklineError): void;
}

/**
 * The bytes a receiver may commit to incoming large messages and streams, beyond each
 * session's own bounds: a server's memory budget, shared by all of its sessions.
 */
export interface ReceiveBudget {
  /** Takes `bytes` if the budget has room for them; false (nothing taken) if not. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

/** What a side takes of streams and large messages, with the window it gives each stream. */
export interface TransferLimits extends ReceiveLimits {
  /** Bytes of one incoming stream held at most before the application reads them (its credit window). */
  readonly streamWindow: number;
}

/** What the endpoint gives the code that carries streams and large messages. */
export interface TransferHost {
  /** The session's codec (of stream metadata). */
  codec(): Codec;
  /** This side's limits, as announced in the handshake. */
  limits(): TransferLimits;
  /**
   * The peer's, from its handshake (zeros: it takes no large message and no stream); null
   * until a first handshake told them (a client before its first WELCOME).
   */
  peer(): ReceiveLimits | null;
  /** A shared budget that incoming messages and streams must also fit in, if any. */
  budget(): ReceiveBudget | null;
  /**
   * The sequence checks of a sequenced stream frame, as for any sequenced frame: its `ack`,
   * then whether its `seq` is the next one. False: drop the frame (a duplicate, or the
   * connection ended on a protocol error).
   */
  sequence(seq: number, ack: number | undefined): boolean;
  /** Something is ready to be written (the endpoint pulls it when it has room). */
  ready(): void;
  /**
   * Acknowledges what was received now, rather than after the usual count of frames or delay:
   * the writer of bulk bytes keeps them for replay until then, and would stop at its bound.
   * Nothing when every frame received is acknowledged already. Called without `this`.
   */
  readonly ack: () => void;
  /** Writes an unsequenced frame (CREDIT) on the current connection; nothing while detached. */
  write(frame: Uint8Array): void;
  /** A large message is whole (its last chunk was `seq`): handled as if it had come in one frame. */
  deliver(message: WholeMessage, seq: number): void;
  /** The peer broke a rule of §13: CLOSE 4000, the connection ends. */
  fail(reason: string): void;
  /** An incoming stream for the application; false when nothing takes it (it is refused). */
  stream(stream: unknown): boolean;
  /** Something went wrong that does not end the connection (a refused message). */
  error(error: SocklineError): void;
}

/** Streams and large messages of one session: what the endpoint drives. */
export interface Transfers {
  /**
   * The next frame to number and write (see `SequencedSource`); `room` is what the
   * connection takes, in bytes, before it is over its high-water mark: chunks wait while it
   * has none.
   */
  next(room: number): OutgoingMessage | undefined;
  /** A stream frame from the peer (types 0x40 to 0x44), undecoded. */
  receive(bytes: Uint8Array): void;
  /**
   * Sends a message over one frame. Throws `ERR_NOT_SUPPORTED` when the peer takes none,
   * `ERR_MESSAGE_TOO_LARGE` over its `maxMessageSize`, `ERR_QUEUE_FULL` when too many wait.
   */
  send(message: LargeMessage): void;
  /** Opens a stream to the peer (see `OutgoingStream` in `sockline/streams`). */
  open(meta: unknown, options: unknown): unknown;
  /** A connection carries the session again: credits are announced again (they are not sequenced). */
  attached(): void;
  /** The peer lost the session: streams fail with `error`, large messages start over. */
  lost(error: SocklineError): void;
  /** The session ended: everything fails with `error`, everything held is freed. */
  close(error: SocklineError): void;
  /** Bytes held for incoming messages and streams (reserved), for a memory budget. */
  readonly held: number;
}

/**
 * Makes the streams and large messages of one session, the first time it needs them: what
 * `streams` from `sockline/streams` is, passed to `connect()` as the option of that name.
 */
export type TransfersFactory = (host: TransferHost) => Transfers;
