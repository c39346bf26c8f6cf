/**
 * The two kinds of failure the program knows.
 *
 * - `OAuthError`: one type for every protocol error, carrying an RFC 6749 / 7009 / 7662 error
 *   code and the HTTP status that goes with it. Handlers throw it; one middleware renders it.
 * - `StartupError`: something that must stop the process before it serves anything (a bad
 *   option, a key that opens nothing). Its message is the one line the admin sees.
 */

/** RFC 6749 §4.1.2.1 and §5.2, plus RFC 7009 §2.2.1. */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'unsupported_token_type',
] as const;

export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

const DEFAULT_STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  unsupported_token_type: 400,
};

export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly status: number;
  /** Sent as Retry-After when set: the error is temporary and the client should come back. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: OAuthErrorCode,
    /** Safe to show to the client: never contains a token, code or secret. */
    readonly description: string,
    status?: number,
    retryAfterSeconds?: number,
  ) {
    super(`${code}: ${description}`);
    this.status = status ?? DEFAULT_STATUS[code];
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** RFC 6749 §5.2 body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

export class StartupError extends Error {
  override name = 'StartupError';
}

/** A bad option: the message names the option and what is wrong with it. */
export class ConfigError extends StartupError {
  override name = 'ConfigError';
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super(`Invalid option "${option}": ${problem}`);
  }
}
