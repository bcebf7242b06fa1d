import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A PEM certificate and its private key. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
}

let cached: TestCert | undefined;

/**
 * A self-signed P-256 certificate for `localhost` and `127.0.0.1`, valid for two days, made
 * with the `openssl` CLI the first time it is asked for in this process. Clients trust it only
 * when given it as `ca`; the default trust store refuses it, as it should.
 */
export function testCert(): TestCert {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      process.env.SOCKLINE_TEST_OPENSSL ?? 'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cached = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
