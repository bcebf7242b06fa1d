/**
 * A Node `Buffer` seen as a plain `Uint8Array` over the same memory (no copy). The bytes a
 * socket delivers are cut into frames and payloads by `subarray`; on a `Buffer` each cut is
 * `Buffer.prototype.subarray`, which builds a `Buffer` through its subclass constructor, several
 * times the cost of the typed array's own. Seen once per chunk as a plain array, every cut after
 * it is the cheap one, and what the application receives is the `Uint8Array` the API promises
 * on every runtime.
 */
export function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
