// Client-side helpers the cases share (they run inside a client worker).

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A payload of `size` bytes with a recognisable pattern. */
export function payload(size, seed = 0) {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Rejects after `ms` with `what` in the message, unless `promise` settles first. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Opens `count` clients of `system` in batches (a load generator, not a thundering herd);
 * `optionsFor(i)` gives each one its options. `rate`: at most that many opened per second
 * (a batch starts no sooner than its share of the time). Resolves with the clients, or
 * rejects with the first failure once every batch has settled.
 */
export async function openMany(
  system,
  count,
  optionsFor,
  { batch = 100, timeout = 60_000, rate = Infinity } = {},
) {
  const open = [];
  let firstError;
  const started = Date.now();
  const deadline = started + timeout;
  for (let done = 0; done < count; done += batch) {
    const due = started + (done / rate) * 1000;
    if (Date.now() < due) await sleep(due - Date.now());
    const size = Math.min(batch, count - done);
    const results = await within(
      Promise.allSettled(Array.from({ length: size }, (_, k) => system.connectClient(optionsFor(done + k)))),
      Math.max(1, deadline - Date.now()),
      `opening ${count} connections (${open.length} open)`,
    );
    for (const r of results) {
      if (r.status === 'fulfilled') open.push(r.value);
      else firstError ??= r.reason;
    }
  }
  if (firstError !== undefined) {
    await closeAll(open);
    throw new Error(
      `${count - open.length} of ${count} connections failed: ${firstError?.message ?? firstError}`,
    );
  }
  return open;
}

/** Closes clients, waiting at most `ms` for graceful closes. */
export async function closeAll(clients, ms = 5_000) {
  await Promise.race([Promise.allSettled(clients.map((c) => c.close())), sleep(ms)]);
}
