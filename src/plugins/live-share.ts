// Live answers delivered once per distinct subscription document, not once per subscriber: one execution and one JSON text per answer.
//
// graphql-yoga maps each subscriber's source stream through its own execution of the selection set
// and its own JSON.stringify: at 1,000 subscribers of one question that is ~0.05 ms of CPU each per
// answer, most of a mark's latency. Every subscriber of a LiveRegistry question receives the same
// Answer object, and two subscribers with the same document, operation, variables and scopes
// get the same result from it; so the result is made once per (Answer, document, operation,
// variables, scopes) and shared, with a stringify that serialises it once for yoga's SSE writer.
// The source stream is still each subscriber's own (its subscribe resolver ran with its own
// context: scopes, cost and caps are checked per subscriber; its end is its cleanup).

import { buildExecutionContext, execute } from '@graphql-tools/executor';
import type { ExecutionArgs } from '@graphql-tools/executor';
import { GraphQLError, createSourceEventStream } from 'graphql';
import type { DocumentNode, ExecutionResult, ExecutionArgs as SourceArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Answer, Sink } from '../live.ts';
import { rootFields } from './cost.ts';

type Shared = Map<string, Promise<ExecutionResult> | ExecutionResult>;

/** Results made from an answer, by document id and the rest of the sharing key; gone with the answer. */
const made = new WeakMap<Answer, Shared>();
/** Documents by identity (yoga's parse cache hands equal query texts the same node). */
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;
/** Each subscription's results by its request: the direct writer (live-direct.ts) takes them from here. */
const byRequest = new WeakMap<Request, LiveResults>();

/** The shared results of the live subscription `request` made, if it made one. */
export const liveResultsOf = (request: Request): LiveResults | undefined => byRequest.get(request);

export function liveShare(): Plugin {
  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        // Invalid variables and the like: the executor's own answer, with its codes and status.
        const context = buildExecutionContext(args);
        if (!('operation' in context)) return subscribeFn(args);
        // Validation wants one root field, counted before the variables are known: @skip/@include
        // may leave none, and graphql-js then fails on an undefined field (INTERNAL_SERVER_ERROR).
        const variables = (context.variableValues as unknown as { coerced: Record<string, unknown> }).coerced;
        if (rootFields(context.operation.selectionSet, new Map(Object.entries(context.fragments)), variables).size === 0) {
          return {
            data: null,
            errors: [new GraphQLError('a subscription needs one root field, and @skip or @include left none', { extensions: { code: 'BAD_REQUEST' } })],
          };
        }
        const source = await createSourceEventStream(args as unknown as SourceArgs);
        // A refusal from the field's subscribe resolver (BAD_INPUT, MISSING_PERIOD, …): with data
        // null, as the other refusals; without it yoga takes the resolver's error for an unexpected one (HTTP 500).
        if (!(Symbol.asyncIterator in source)) return { data: null, ...source };
        const results = new LiveResults(source as AsyncIterableIterator<unknown>, args);
        const request = (args.contextValue as { request?: Request } | undefined)?.request;
        if (request) byRequest.set(request, results);
        return results;
      });
    },
  };
}

function sharingKey(args: ExecutionArgs): string {
  let doc = documentIds.get(args.document);
  if (doc === undefined) documentIds.set(args.document, (doc = nextDocumentId++));
  const scopes = (args.contextValue as { auth?: { scopes?: unknown } } | undefined)?.auth?.scopes;
  return JSON.stringify([doc, args.operationName ?? null, args.variableValues ?? null, scopes ?? null]);
}

/** The execution of `payload` for these args: shared among equal subscribers when the payload is an Answer. */
function resultOf(payload: unknown, args: ExecutionArgs, key: string): Promise<ExecutionResult> | ExecutionResult {
  if (!(payload instanceof Answer)) return executeOnce(payload, args);
  let shared = made.get(payload);
  if (!shared) made.set(payload, (shared = new Map()));
  let r = shared.get(key);
  if (!r) {
    const result = executeOnce(payload, args);
    r = result instanceof Promise ? result.then(withStringify) : withStringify(result);
    shared.set(key, r);
  }
  return r;
}

function executeOnce(payload: unknown, args: ExecutionArgs): Promise<ExecutionResult> | ExecutionResult {
  return execute({ ...args, rootValue: payload }) as Promise<ExecutionResult> | ExecutionResult;
}

/** Yoga serialises a result with its own `stringify` when it has one: the text is made once. */
function withStringify(result: ExecutionResult): ExecutionResult {
  let text: string | undefined;
  Object.defineProperty(result, 'stringify', {
    enumerable: false,
    value: (r: unknown) => (r === result ? (text ??= JSON.stringify(r)) : JSON.stringify(r)),
  });
  return result;
}

/**
 * One subscriber's results: read with next() (yoga's own writers), or handed over as they come
 * with listen() when the source is a live Sink (no promise per answer and subscriber).
 */
export class LiveResults implements AsyncIterableIterator<ExecutionResult> {
  private readonly key: string;

  constructor(
    private readonly source: AsyncIterableIterator<unknown>,
    private readonly args: ExecutionArgs,
  ) {
    this.key = sharingKey(args);
  }

  /** Whether listen() can be used: the source is a live Sink. */
  get listenable(): boolean {
    return this.source instanceof Sink;
  }

  /**
   * Each result to `result` in order, `end` when the stream ends; false (nothing done) when the
   * source is not a live Sink, whose results are read with next() instead.
   */
  listen(result: (r: ExecutionResult) => void, end: () => void): boolean {
    const sink = this.source;
    if (!(sink instanceof Sink)) return false;
    let latest = 0;
    sink.listen((answer) => {
      const r = resultOf(answer, this.args, this.key);
      if (!(r instanceof Promise)) {
        latest++;
        result(r);
        return;
      }
      const mine = ++latest;
      r.then(
        (v) => mine === latest && result(v),
        () => {},
      );
    }, end);
    return true;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const r = await this.source.next();
    if (r.done) return { value: undefined, done: true };
    return { value: await resultOf(r.value, this.args, this.key), done: false };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { value: undefined, done: true };
  }

  async throw(e: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
