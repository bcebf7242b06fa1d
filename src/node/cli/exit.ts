/**
 * Exit codes of the `sockline` command, and the one-line error messages behind them.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | success |
 * | 1 | any other failure (a remote error, a protocol error…) |
 * | 2 | bad usage: unknown command or option, missing argument, invalid URL |
 * | 3 | the connection was refused (nothing listens there) |
 * | 4 | TLS failure (untrusted or invalid certificate, not a TLS server…) |
 * | 5 | timeout (connect, handshake or request) |
 * | 6 | the server refused the credentials (`--token`) |
 * | 130 | interrupted (SIGINT) in the middle of a transfer, which was aborted |
 */
export const ExitCodes = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  REFUSED: 3,
  TLS: 4,
  TIMEOUT: 5,
  AUTH: 6,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** An error the CLI reports as one line, with its exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Bad usage: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError(ExitCodes.USAGE, message);
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|EPROTO$|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;
const TIMEOUT_CODES = new Set([
  'ERR_CONNECT_TIMEOUT',
  'ERR_HANDSHAKE_TIMEOUT',
  'ERR_REQUEST_TIMEOUT',
  'ERR_HEARTBEAT_TIMEOUT',
  'ERR_IDLE_TIMEOUT',
  'ETIMEDOUT',
]);

/** The `code`s along an error's `cause` chain, outermost first. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** The innermost message of the chain that says something (the root cause is the useful one). */
function rootMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let e = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e.message) message = e.message;
    e = e.cause;
  }
  return message;
}

/** Maps any error to its exit code and a one-line message. */
export function classify(error: unknown): { code: ExitCode; message: string } {
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  const codes = codesOf(error);
  const outer = error instanceof Error ? error.message : String(error);
  const tag = codes[0] !== undefined ? `${codes[0]}: ` : '';
  const one = (code: ExitCode, text: string): { code: ExitCode; message: string } => ({
    code,
    message: text.replace(/\s+/g, ' ').trim(),
  });
  if (codes.includes('ERR_INVALID_URL') || codes.includes('ERR_UNSUPPORTED_SCHEME'))
    return one(ExitCodes.USAGE, outer);
  if (error instanceof TypeError || error instanceof RangeError) return one(ExitCodes.USAGE, outer);
  if (codes.includes('ECONNREFUSED'))
    return one(ExitCodes.REFUSED, `connection refused: ${rootMessage(error)}`);
  if (codes.some((c) => TLS_CODE.test(c))) return one(ExitCodes.TLS, `TLS failure: ${rootMessage(error)}`);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return one(ExitCodes.TIMEOUT, `${tag}${outer}`);
  if (codes.includes('ERR_AUTH_FAILED')) return one(ExitCodes.AUTH, `${tag}${outer}`);
  if (codes[0] === 'ERR_REMOTE') {
    const remote = (error as { remoteCode?: string }).remoteCode;
    return one(ExitCodes.FAILURE, `${remote ?? 'ERR_REMOTE'}: ${outer}`);
  }
  const root = rootMessage(error);
  return one(ExitCodes.FAILURE, `${tag}${outer}${root !== outer ? ` (${root})` : ''}`);
}
