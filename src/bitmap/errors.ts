// Domain errors: every failure a caller can cause carries a stable code, mapped to GraphQL by the gateway.

export type ErrorCode =
  | 'BAD_USER_ID'
  | 'BAD_EVENT_NAME'
  | 'BAD_DATETIME'
  | 'BAD_INPUT'
  | 'UNBOUNDED_NOT'
  | 'MISSING_PERIOD'
  | 'TOO_COMPLEX'
  | 'TOO_LARGE'
  | 'UNSUPPORTED'
  | 'SERVICE_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN';

export class BitmapError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
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

/** Event names become parts of Redis keys and SCAN patterns, so globs, blanks and our temp prefix are refused. */
export function assertEventName(name: string, where = 'name'): string {
  let problem: string | undefined;
  if (name.length === 0) problem = 'must not be empty';
  else if (name.length > MAX_EVENT_NAME_LENGTH) problem = `must be at most ${MAX_EVENT_NAME_LENGTH} characters`;
  else if (FORBIDDEN_NAME.test(name)) problem = 'must not contain whitespace, control characters or any of * ? [ ] \\';
  else if (name.startsWith('bitop_')) problem = 'must not start with "bitop_" (reserved for temporary keys)';
  if (problem) {
    throw new BitmapError('BAD_EVENT_NAME', `${where} ${problem}: ${JSON.stringify(name.slice(0, 60))}`);
  }
  return name;
}
