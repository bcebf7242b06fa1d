// Prints the self time of a V8 .cpuprofile (node --cpu-prof) by function, heaviest first.
//
//   node bench/profile/summarize.mjs file.cpuprofile [--top 30]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const TOP = topAt === -1 ? 30 : Number(args[topAt + 1]);
const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--top');

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const d = dt[i] ?? 0;
    total += d;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + d);
  }
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [key, us] of rows) {
    console.log(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${key}`,
    );
  }
}
