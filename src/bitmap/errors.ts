// Domain errors: every failure a caller can cause carries a stable code, mapped to GraphQL by the gateway.

export type ErrorCode =
  | 'BAD_USER_ID'
  | 'BAD_EVENT_NAME'
  | 'BAD_DATETIME'
  | 'BAD_INPUT'
  | 'UNBOUNDED_NOT'
  | 'MISSING_PERIOD'
  | 'HOURS_NOT_TRACKED'
  | 'MINUTES_NOT_TRACKED'
  | 'TIME_ZONE_UNALIGNED'
  | 'TOO_COMPLEX'
  | 'TOO_LARGE'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'UNSUPPORTED'
  | 'SERVICE_UNAVAILABLE'
  | 'STORAGE_FULL'
  | 'IDEMPOTENCY_CONFLICT'
  | 'REPLICATION_TIMEOUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN';

export class BitmapError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** `cause`: what went wrong underneath, for logs; never shown to the caller. */
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BitmapError';
  }
}

export const MAX_USER_ID = 2 ** 32 - 1;

export function assertUserId(value: unknown, where = 'userId'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_USER_ID) {
    throw new BitmapError(
      'BAD_USER_ID',
      `${where} must be an integer from 0 to ${MAX_USER_ID}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const FORBIDDEN_NAME = /[\s\p{Cc}*?[\]\\]/u;
export const MAX_EVENT_NAME_LENGTH = 200;

/**
 * Half of a UTF-16 surrogate pair on its own. Redis stores text as UTF-8, where every lone half
 * becomes U+FFFD ("s\ud800x" and "s\udfffx" would be one key), while the embedded engine keeps
 * them apart: names, counter keys and external ids holding one are refused, so engines agree.
 */
const LONE_SURROGATE = /\p{Cs}/u;
export const hasLoneSurrogate = (text: string): boolean => LONE_SURROGATE.test(text);
export const LONE_SURROGATE_PROBLEM = 'must be valid Unicode: it holds half of a UTF-16 surrogate pair (\\ud800-\\udfff) without the other half';

/** Event names become parts of Redis keys and SCAN patterns, so globs, blanks and our temp prefix are refused. */
export function assertEventName(name: string, where = 'name'): string {
  let problem: string | undefined;
  if (name.length === 0) problem = 'must not be empty';
  else if (name.length > MAX_EVENT_NAME_LENGTH) problem = `must be at most ${MAX_EVENT_NAME_LENGTH} characters`;
  else if (FORBIDDEN_NAME.test(name)) problem = 'must not contain whitespace, control characters or any of * ? [ ] \\';
  else if (hasLoneSurrogate(name)) problem = LONE_SURROGATE_PROBLEM;
  // "bitop" too: its keys (<prefix>bitop_2026-11-22, <prefix>bitop_u) would sit among the temporary keys.
  else if (name === 'bitop' || name.startsWith('bitop_')) problem = 'must not be "bitop" or start with "bitop_" (reserved for temporary keys)';
  if (problem) {
    throw new BitmapError('BAD_EVENT_NAME', `${where} ${problem}: ${JSON.stringify(name.slice(0, 60))}`);
  }
  return name;
}
