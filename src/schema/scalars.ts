// Scalars: UserId (unsigned 32-bit), DateTime (ISO-8601), Count (may exceed 2^31).

import { GraphQLError, Kind } from 'graphql';
import type { ValueNode } from 'graphql';
import { BitmapError, MAX_USER_ID } from '../bitmap/errors.ts';
import { parseDateTime } from '../bitmap/period.ts';
import type { TimeInput } from '../bitmap/period.ts';
import { builder } from './builder.ts';

/** A literal that is no number or string, named in words (a message says "got a boolean", not "got BooleanValue"). */
class OtherLiteral {
  constructor(readonly words: string) {}
}

function literal(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.STRING:
      return ast.value;
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.NULL:
      return null;
    case Kind.ENUM:
      return new OtherLiteral(`the bare word ${ast.value} (a string needs quotes)`);
    case Kind.LIST:
      return new OtherLiteral('a list');
    case Kind.OBJECT:
      return new OtherLiteral('an object');
    case Kind.VARIABLE:
      return new OtherLiteral(`the variable $${ast.name.value}`);
  }
}

/** What a wrong value is, for a message: `1.5`, `a string "7"`, `a boolean (true)`, `a list`. */
function got(value: unknown): string {
  if (value instanceof OtherLiteral) return value.words;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `a string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function userId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_USER_ID) {
    throw new GraphQLError(`expected a UserId, an unsigned 32-bit integer (0 to ${MAX_USER_ID}), got ${got(value)}`, {
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
    throw new GraphQLError(`expected a DateTime, an ISO-8601 string (e.g. "2026-11-22T09:05:00Z"), got ${got(value)}`, {
      extensions: { code: 'BAD_DATETIME' },
    });
  }
  try {
    return parseDateTime(value);
  } catch (e) {
    if (e instanceof BitmapError) throw new GraphQLError(e.message, { extensions: { code: e.code } });
    throw e;
  }
}

builder.scalarType('DateTime', {
  description:
    'An ISO-8601 date or date-time, or a period label (2026, 2026-11, 2026-W47, 2026-11-22, 2026-11-22T09, 2026-11-22T09:05), which stands for the first instant of its period. With an offset (Z, +01:00) it is an instant; without one it is wall-clock time in the gateway time zone.',
  serialize: (v) => String(v),
  parseValue: dateTime,
  parseLiteral: (ast) => dateTime(literal(ast)),
});

function count(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new GraphQLError(`expected a Count, a non-negative integer, got ${got(value)}`, {
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
