// Over-deep input refused with TOO_COMPLEX before graphql-js sees it: its parser and its input
// coercion recurse, and a few thousand levels of nesting (in the query text or the variables)
// would overflow the stack.

import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import type { Plugin } from 'graphql-yoga';
import { BitmapError } from '../bitmap/errors.ts';
import { checkSetShape } from '../bitmap/sets.ts';
import type { SetLimits } from '../bitmap/sets.ts';

export interface InputShapeLimits extends SetLimits {
  /** Tokens of one document (MAX_TOKENS): the parser stops there, so depth is measured no further. */
  readonly maxTokens: number;
}

export function inputShapeGuard(limits: InputShapeLimits): Plugin {
  // Set expressions count one level per operator; in text or JSON each takes a bracket or two.
  const maxNesting = limits.maxDepth * 2 + 32;
  const tooDeep = (what: string): BitmapError =>
    new BitmapError('TOO_COMPLEX', `${what} nests more than ${maxNesting} brackets deep; set expressions may nest at most ${limits.maxDepth} levels`, {
      limit: limits.maxDepth,
    });
  const depths = new DepthCache();
  const depthOf = (text: string): number => {
    let depth = depths.get(text);
    if (depth === undefined) depths.set(text, (depth = documentDepth(text, maxNesting, limits.maxTokens)));
    return depth;
  };
  return {
    onParams({ params }) {
      try {
        if (typeof params.query === 'string' && depthOf(params.query) > maxNesting) throw tooDeep('the query');
        if (params.variables) {
          // First: its refusal names the set-expression limit, which is what the caller can change.
          checkSetShape(params.variables, { ...limits, maxNodes: Infinity, maxIds: Infinity });
          if (valueDepth(params.variables, maxNesting) > maxNesting) throw tooDeep('a variable');
        }
        if (params.extensions && valueDepth(params.extensions, maxNesting) > maxNesting) throw tooDeep('"extensions"');
      } catch (e) {
        if (e instanceof BitmapError) throw createGraphQLError(e.message, { extensions: { code: e.code, ...e.details } });
        throw e;
      }
    },
  };
}

/**
 * Depths of documents seen, by their text: a dashboard sends the same text again and again, and
 * lexing 50 counts costs more than looking the text up. Bounded by the characters it holds; full,
 * it starts again empty.
 */
class DepthCache {
  private readonly depths = new Map<string, number>();
  private chars = 0;
  constructor(
    private readonly maxChars = 4_000_000,
    private readonly maxTextChars = 100_000,
  ) {}
  get(text: string): number | undefined {
    return this.depths.get(text);
  }
  set(text: string, depth: number): void {
    if (text.length > this.maxTextChars) return;
    if (this.chars + text.length > this.maxChars) {
      this.depths.clear();
      this.chars = 0;
    }
    this.depths.set(text, depth);
    this.chars += text.length;
  }
}

/**
 * The bracket nesting of a document, by graphql-js's own lexer (iterative), so strings, block
 * strings and comments are read exactly as the parser reads them. Stops once past `stopAt`, and
 * after `maxTokens` tokens or at a syntax error: the parser fails at that same token, never
 * having gone deeper than what was counted before it.
 */
export function documentDepth(text: string, stopAt: number, maxTokens: number): number {
  const lexer = new Lexer(new Source(text));
  let depth = 0;
  let max = 0;
  try {
    for (let n = 0; n <= maxTokens; n++) {
      const kind = lexer.advance().kind;
      if (kind === TokenKind.EOF) break;
      if (kind === TokenKind.BRACE_L || kind === TokenKind.BRACKET_L || kind === TokenKind.PAREN_L) {
        if (++depth > max && (max = depth) > stopAt) break;
      } else if (kind === TokenKind.BRACE_R || kind === TokenKind.BRACKET_R || kind === TokenKind.PAREN_R) depth--;
    }
  } catch (e) {
    if (!(e instanceof GraphQLError)) throw e;
  }
  return max;
}

/** The nesting of a JSON value (objects and lists), walked without recursion; stops once past `stopAt`. */
export function valueDepth(value: unknown, stopAt: number): number {
  const stack: Array<[unknown, number]> = [[value, 1]];
  let max = 0;
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max && (max = depth) > stopAt) break;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return max;
}
