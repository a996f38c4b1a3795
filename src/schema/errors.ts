// One mapping from errors to what a caller sees: domain errors keep their code, the rest is masked.

import { GraphQLError } from 'graphql';
import { BitmapError } from '../bitmap/errors.ts';

function find<T>(error: unknown, test: (e: unknown) => e is T): T | undefined {
  for (let e = error, depth = 0; e && depth < 10; depth++) {
    if (test(e)) return e;
    e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const isBitmapError = (e: unknown): e is BitmapError => e instanceof BitmapError;
const hasCode = (e: unknown): e is GraphQLError => e instanceof GraphQLError && typeof e.extensions?.code === 'string';

/** Yoga's maskError: expected errors carry `extensions.code`; anything else becomes INTERNAL_SERVER_ERROR. */
export function maskError(error: unknown, message: string): Error {
  const graphql = error instanceof GraphQLError ? error : undefined;
  const domain = find(error, isBitmapError);
  if (domain) {
    // Same error object back (with its code), so yoga does not log an expected error as a fault.
    if (graphql && graphql.message === domain.message) {
      Object.assign(graphql.extensions, { code: domain.code, ...domain.details });
      return graphql;
    }
    return new GraphQLError(domain.message, {
      nodes: graphql?.nodes,
      path: graphql?.path,
      extensions: { code: domain.code, ...domain.details },
    });
  }
  const coded = find(error, hasCode);
  if (coded) {
    if (graphql && coded !== graphql) {
      return new GraphQLError(graphql.message, { nodes: graphql.nodes, path: graphql.path, extensions: coded.extensions });
    }
    return coded;
  }
  // Parse and validation errors, and variable coercion errors (a GraphQLError wrapping a GraphQLError
  // such as an unknown field or a @oneOf violation in the variables): already safe. Those graphql-js
  // raises before running anything (no path: a variable missing or of the wrong shape) have no
  // code of their own, and every error a caller can cause carries one.
  if (graphql && safeChain(graphql)) {
    if (graphql.path === undefined && typeof graphql.extensions.code !== 'string') Object.assign(graphql.extensions, { code: 'BAD_REQUEST' });
    return graphql;
  }
  return new GraphQLError(message, {
    nodes: graphql?.nodes,
    path: graphql?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

/** True when every error in the originalError chain is a GraphQLError (none wraps a thrown fault). */
function safeChain(error: GraphQLError): boolean {
  for (let e: GraphQLError = error, depth = 0; depth < 10; depth++) {
    const inner: unknown = e.originalError;
    if (!inner) return true;
    if (!(inner instanceof GraphQLError)) return false;
    e = inner;
  }
  return false;
}
