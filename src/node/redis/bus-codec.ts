import type { PayloadKind } from '../../core/protocol/frames.js';
import type { BusEntry } from '../adapter.js';

/**
 * The header of one bus entry (stream field `h`, JSON; the payload is field `d`, bytes):
 * `t` type (`p` publish, `b` broadcast, `m` a session moved to process `o`), `o` the
 * process that wrote it, `l` set when that process already delivered it locally (it was
 * published while Redis was unreachable).
 */
export interface BusHeader {
  t: 'p' | 'b' | 'm';
  o: string;
  k?: PayloadKind;
  topic?: string;
  room?: string;
  v?: 1;
  l?: 1;
  s?: string;
}

const KINDS: ReadonlySet<string> = new Set(['binary', 'text', 'value']);

export function headerOf(entry: BusEntry, origin: string, local: boolean): BusHeader {
  const h: BusHeader =
    entry.type === 'publish'
      ? { t: 'p', o: origin, k: entry.kind, topic: entry.topic }
      : { t: 'b', o: origin, k: entry.kind };
  if (entry.type === 'broadcast') {
    if (entry.room !== undefined) h.room = entry.room;
    if (entry.volatile) h.v = 1;
  }
  if (local) h.l = 1;
  return h;
}

/** Parses a header; undefined for anything malformed (another version, a stray writer). */
export function parseHeader(text: string): BusHeader | undefined {
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null) return undefined;
  const o = h as Partial<BusHeader>;
  if (typeof o.o !== 'string') return undefined;
  if (o.t === 'm') return typeof o.s === 'string' ? (o as BusHeader) : undefined;
  if (typeof o.k !== 'string' || !KINDS.has(o.k)) return undefined;
  if (o.t === 'p') return typeof o.topic === 'string' ? (o as BusHeader) : undefined;
  if (o.t === 'b') return o.room === undefined || typeof o.room === 'string' ? (o as BusHeader) : undefined;
  return undefined;
}

/** The entry a header and payload describe; undefined for a control entry. */
export function entryOf(h: BusHeader, payload: Uint8Array): BusEntry | undefined {
  if (h.t === 'p') return { type: 'publish', topic: h.topic!, kind: h.k!, payload };
  if (h.t === 'b') return { type: 'broadcast', room: h.room, volatile: h.v === 1, kind: h.k!, payload };
  return undefined;
}

/** Compares two stream ids (`ms-seq`) numerically: negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

export function maxId(a: string, b: string): string {
  return compareIds(a, b) >= 0 ? a : b;
}

export const ZERO_ID = '0-0';

const NEWLINE = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One element of a session's list of unacknowledged frames: `seq source\n` then the frame
 * bytes. `source` is the stream id the frame came from ('' for a direct message).
 */
export function encodeSent(seq: number, source: string | undefined, frame: Uint8Array): Buffer {
  const head = encoder.encode(`${seq} ${source ?? ''}\n`);
  return Buffer.concat([head, frame]);
}

export function decodeSent(
  element: Uint8Array,
): { seq: number; source: string | undefined; frame: Uint8Array } | undefined {
  const nl = element.indexOf(NEWLINE);
  if (nl < 0) return undefined;
  const [seqText, source = ''] = decoder.decode(element.subarray(0, nl)).split(' ');
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  // A copy: the element is a view of the reply buffer, and the frame is kept for replay.
  return { seq, source: source === '' ? undefined : source, frame: element.slice(nl + 1) };
}
