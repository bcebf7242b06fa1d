import { createHash } from 'node:crypto';

/** Reads a stream to its end: the SHA-256 of its bytes, and how many there were. */
export async function sha256(readable: ReadableStream<Uint8Array>): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value!);
    size += value!.byteLength;
  }
  return { hash: hash.digest('hex'), size };
}
