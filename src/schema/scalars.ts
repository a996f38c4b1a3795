// Scalars: UserId (unsigned 32-bit), DateTime (ISO-8601), Count (may exceed 2^31).

import { GraphQLError, Kind } from 'graphql';
import type { ValueNode } from 'graphql';
import { BitmapError, MAX_USER_ID } from '../bitmap/errors.ts';
import { parseTimeInput } from '../bitmap/period.ts';
import type { TimeInput } from '../bitmap/period.ts';
import { builder } from './builder.ts';

const literal = (ast: ValueNode): unknown =>
  ast.kind === Kind.INT || ast.kind === Kind.FLOAT ? Number(ast.value) : ast.kind === Kind.STRING ? ast.value : ast.kind;

function userId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_USER_ID) {
    throw new GraphQLError(`UserId must be an integer from 0 to ${MAX_USER_ID}, got ${JSON.stringify(value)}`, {
      extensions: { code: 'BAD_USER_ID' },
    });
  }
  return value;
}

builder.scalarType('UserId', {
  description: 'A user id: an integer from 0 to 4294967295, the bit offset in the bitmaps.',
  serialize: (v) => userId(v),
  parseValue: userId,
  parseLiteral: (ast) => userId(literal(ast)),
});

function dateTime(value: unknown): TimeInput {
  if (typeof value !== 'string') {
    throw new GraphQLError(`DateTime must be an ISO-8601 string, got ${JSON.stringify(value)}`, {
      extensions: { code: 'BAD_DATETIME' },
    });
  }
  try {
    return parseTimeInput(value);
  } catch (e) {
    if (e instanceof BitmapError) throw new GraphQLError(e.message, { extensions: { code: e.code } });
    throw e;
  }
}

builder.scalarType('DateTime', {
  description:
    'An ISO-8601 date or date-time. With an offset (Z, +01:00) it is an instant; without one it is wall-clock time in the gateway time zone.',
  serialize: (v) => String(v),
  parseValue: dateTime,
  parseLiteral: (ast) => dateTime(literal(ast)),
});

function count(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new GraphQLError(`Count must be a non-negative integer, got ${JSON.stringify(value)}`, {
      extensions: { code: 'BAD_INPUT' },
    });
  }
  return value;
}

builder.scalarType('Count', {
  description: 'A number of users: a non-negative integer that may exceed 2^31 (up to 2^32).',
  serialize: count,
  parseValue: count,
  parseLiteral: (ast) => count(literal(ast)),
});
