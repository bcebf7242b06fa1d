/** A seed from SOCKLINE_SEED, or a fresh one; printed by the caller on failure. */
export function testSeed(): number {
  return Number(process.env.SOCKLINE_SEED ?? Date.now() % 1_000_000);
}
