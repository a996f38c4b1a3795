// API keys and scopes: who a request is, from its Authorization header, decided once per request.
//
// Keys are configured by their SHA-256 only. A presented key is hashed and compared with every
// configured hash by crypto.timingSafeEqual (all of them, no early exit), so neither the time
// taken nor any message tells a caller which keys exist.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { BitmapError } from './bitmap/errors.ts';
import type { ErrorCode } from './bitmap/errors.ts';
import type { Config, SCOPES } from './config.ts';

export type Scope = (typeof SCOPES)[number];

export interface ApiKeyEntry {
  readonly name: string;
  /** Hex SHA-256 of the key. */
  readonly sha256: string;
  readonly scopes: readonly Scope[];
}

/** Who the request is: anonymous (no Authorization header) or a configured key. */
export interface Auth {
  readonly principal: { readonly kind: 'anonymous' } | { readonly kind: 'key'; readonly name: string };
  readonly scopes: { readonly [S in Scope]: boolean };
}

/** Hex SHA-256 of a key: what the apiKeys setting stores. */
export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A new random key (32 bytes of randomness), prefixed so it is recognisable in logs and secret scanners. */
export const newKey = (): string => `bmq_${randomBytes(32).toString('base64url')}`;

interface PreparedKey {
  readonly entry: ApiKeyEntry;
  readonly digest: Buffer;
}

/** Decoded digests, once per configured list. */
const prepared = new WeakMap<readonly ApiKeyEntry[], PreparedKey[]>();
function prepare(keys: readonly ApiKeyEntry[]): PreparedKey[] {
  let p = prepared.get(keys);
  if (!p) {
    p = keys.map((entry) => ({ entry, digest: Buffer.from(entry.sha256, 'hex') }));
    prepared.set(keys, p);
  }
  return p;
}

/**
 * The configured key whose hash equals the presented key's hash, compared in constant time
 * against every configured key.
 */
export function findKey(keys: readonly ApiKeyEntry[], presented: string): ApiKeyEntry | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const k of prepare(keys)) {
    // Both digests are 32 bytes (the config schema checks 64 hex digits), as timingSafeEqual needs.
    if (k.digest.length === digest.length && timingSafeEqual(k.digest, digest) && !found) found = k.entry;
  }
  return found;
}

// RFC 6750 b64token: the characters a bearer token may hold.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

const unauthenticated = (message: string): BitmapError => new BitmapError('UNAUTHENTICATED', message);
/**
 * A refused Authorization header fails the whole request before execution: HTTP 401 (yoga reads
 * and strips extensions.http). A GraphQLError with its code, so maskError passes it on as it is and
 * yoga does not log an expected refusal as a fault.
 */
const refused = (message: string): GraphQLError =>
  new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED' satisfies ErrorCode, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });

/**
 * Authenticates one request. No header: anonymous, with `read` when anonymousRead is on, and
 * also `write` while no key is configured at all (local use: `npm start` then GraphiQL works
 * out of the box; configuring one key turns that off). A malformed header or a key that is not
 * configured is refused outright (UNAUTHENTICATED), never downgraded to anonymous; the message
 * is the same for every unknown key.
 */
export function authenticate(config: Pick<Config, 'apiKeys' | 'anonymousRead'>, header: string | null | undefined): Auth {
  if (header === null || header === undefined) {
    const open = config.apiKeys.length === 0;
    return { principal: { kind: 'anonymous' }, scopes: { read: config.anonymousRead || open, write: open, admin: false } };
  }
  const m = BEARER.exec(header);
  if (!m) throw refused('malformed Authorization header: send "Authorization: Bearer <API key>"');
  const key = findKey(config.apiKeys, m[1]!);
  if (!key) throw refused('invalid API key');
  const has = (s: Scope): boolean => key.scopes.includes(s);
  return { principal: { kind: 'key', name: key.name }, scopes: { read: has('read'), write: has('write'), admin: has('admin') } };
}

/** The error for a field the request's scopes do not allow: no key → UNAUTHENTICATED, a key without the scope → FORBIDDEN. */
export function scopeError(auth: Auth, field: string, needed: readonly Scope[]): BitmapError {
  const scopes = needed.map((s) => `"${s}"`).join(' or ');
  if (auth.principal.kind === 'anonymous') {
    return unauthenticated(`${field} needs an API key with the ${scopes} scope: send "Authorization: Bearer <API key>"`);
  }
  return new BitmapError('FORBIDDEN', `${field} needs the ${scopes} scope, which this API key does not have`);
}
