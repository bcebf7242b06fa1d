// Peak memory of this process over a stretch of a bench, relative to where it stood at
// `reset()`: RSS sampled every 5 ms (what the OS gave the process, garbage included), and what
// stays after a full GC, sampled every 500 ms when the process runs with --expose-gc (the heap
// and ArrayBuffers (payloads, frames, socket buffers) still held: what a bound is about).
// The forced collections cost each process time in proportion to its heap: at every 50 ms
// they took most of a run from a process with a larger heap than another's (about 300 full
// GCs of 13 ms in a 5.6 s stream), which measured the sampler, not the transfer. A bound held
// by flow control is a steady state, which a sample every 500 ms sees; spikes show in RSS.

const MB = 1e6;

export function peakMemory() {
  const gc = globalThis.gc;
  let base;
  let rss;
  let retained;
  const start = () => {
    gc?.();
    base = process.memoryUsage();
    rss = 0;
    retained = 0;
  };
  start();
  const fast = setInterval(() => {
    rss = Math.max(rss, process.memoryUsage().rss - base.rss);
  }, 5);
  // Two collections a turn apart: V8 frees large ArrayBuffers' memory after the first.
  const slow =
    gc &&
    setInterval(async () => {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const m = process.memoryUsage();
      retained = Math.max(retained, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
    }, 500);
  fast.unref();
  slow?.unref();
  return {
    /** Starts over from now. */
    reset: start,
    /** The peaks since the last reset, in MB (10^6 bytes); `retainedMB` NaN without --expose-gc. */
    read() {
      rss = Math.max(rss, process.memoryUsage().rss - base.rss);
      return { rssMB: rss / MB, retainedMB: gc ? retained / MB : NaN };
    },
    stop() {
      clearInterval(fast);
      clearInterval(slow);
    },
  };
}
