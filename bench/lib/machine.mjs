// The machine, runtime and package versions a report was measured with.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The version in node_modules/<name>/package.json, as installed (not as declared). */
export function installedVersion(name) {
  try {
    return JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export function machine(packages) {
  const cpus = os.cpus();
  const own = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    sockline: `${own.version} (working tree${commit() ? ` on ${commit()}` : ''})`,
    packages: Object.fromEntries(packages.map((p) => [p, installedVersion(p)])),
  };
}
