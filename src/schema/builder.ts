// The one Pothos schema builder; nullability is decided here, once.

import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { AuthScopeFailureType } from '@pothos/plugin-scope-auth';
import type { AuthFailure } from '@pothos/plugin-scope-auth';
import { scopeError } from '../auth.ts';
import type { Scope } from '../auth.ts';
import type { Granularity, Period, TimeInput } from '../bitmap/period.ts';
import type { Context } from '../context.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    UserId: { Input: number; Output: number };
    DateTime: { Input: TimeInput; Output: string };
    Count: { Input: number; Output: number };
  };
  Objects: { Period: Period };
  AuthScopes: { read: boolean; write: boolean; admin: boolean };
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin],
  scopeAuth: {
    // Computed once per request from the Authorization header (context.ts, auth.ts).
    authScopes: (ctx) => ctx.auth.scopes,
    // Checked when a subscription is made, not only on each answer: a caller without the scope must not get a live evaluation.
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, info, result) => scopeError(ctx.auth, info.fieldName, failedScopes(result.failure)),
  },
});

/** The scopes a failed check asked for. */
function failedScopes(failure: AuthFailure): Scope[] {
  if (failure.kind === AuthScopeFailureType.AuthScope) return [failure.scope as Scope];
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) return failure.failures.flatMap(failedScopes);
  return [];
}

// Every query needs the `read` scope, every mutation `write`; admin mutations replace it with `admin` (schema/admin.ts).
builder.queryType({ description: 'Questions about sets of users (the read scope).', authScopes: { read: true } });
builder.mutationType({ description: 'Recording events and counts (the write scope; all-or-nothing) and deleting them (the admin scope).', authScopes: { write: true } });
// Subscriptions are live queries: the read scope too (schema/live.ts).
builder.subscriptionType({
  description: 'Live answers over Server-Sent Events: each field takes the arguments of the query of its name and sends its answer at once, then again whenever it changes (the read scope).',
  authScopes: { read: true },
});

export type { Granularity };
