// GraphQL over SSE in single-connection mode (graphql-sse's protocol) at /graphql/stream, with the limits /graphql applies.
//
// graphql-sse's handler answers the endpoint from an onRequest hook (as
// @graphql-yoga/plugin-graphql-sse does, see graphqlSse below) and runs each operation through yoga's envelop (parse, armor's validation, the context and its key, scopes,
// MAX_COST, the subscription caps, live sharing), but not through yoga's request parsing: the
// input shape guard (onParams) and CSRF (onRequestParse) would not see its requests. So they run
// here first, on the same parameters. An operation is taken only for a stream that is open (a
// reserved token with no stream would hold its subscriptions, and queue their answers, with no
// connection whose end frees them). On shutdown every stream's operations complete (the
// registry ends them), then the streams themselves end, so no connection waits out the grace time.

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GraphQLError, getOperationAST } from 'graphql';
import type { DocumentNode, ExecutionArgs } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin, YogaServerInstance } from 'graphql-yoga';
import type { LiveRegistry } from '../live.ts';
import { csrfPrevention } from './csrf.ts';
import { inputShapeGuard } from './input-shape.ts';
import type { InputShapeLimits } from './input-shape.ts';

export const STREAM_ENDPOINT = '/graphql/stream';
/** graphql-sse's names for a reserved stream's token. */
const TOKEN_HEADER = 'x-graphql-event-stream-token';
const TOKEN_PARAM = 'token';
/** After the registry has ended the subscriptions: time for their `complete` messages to be written before the streams end. */
const END_AFTER_MS = 50;
/** How long a reserved token (PUT) waits for its stream to open before it is forgotten. */
export const RESERVATION_MS = 30_000;
/** Longest token a client may choose for itself in its PUT (graphql-sse's own are 36 characters), and longest operation id (sent again with every answer). */
const MAX_TOKEN_LENGTH = 128;

export interface LiveStreamOptions {
  readonly live: LiveRegistry;
  readonly limits: InputShapeLimits;
  /** Reserved tokens whose stream has not opened yet, at most (LIVE_MAX_TOTAL). */
  readonly maxReserved: number;
}

type Params = { query?: unknown; variables?: unknown; extensions?: unknown };

export function liveStreams(options: LiveStreamOptions): Plugin[] {
  const shape = inputShapeGuard(options.limits).onParams as unknown as (payload: { params: Params }) => void;
  const csrf = csrfPrevention().onRequestParse as unknown as (payload: { request: Request }) => void;
  /** Open streams' responses, and how many are open per token. */
  const streams = new Set<ServerResponse>();
  const openTokens = new Map<string, number>();
  /**
   * Reservations (PUT) by token, with when each lapses. graphql-sse's handler keeps a reserved
   * stream until a connection to it ends, so a reservation never followed by its stream would stay
   * for the life of the process: reservations are answered here instead, at most `maxReserved`,
   * each for RESERVATION_MS, and handed to the handler only when their stream opens.
   */
  const reserved = new Map<string, number>();
  const sse = graphqlSse();
  options.live.onClose(() => {
    setTimeout(() => {
      for (const res of streams) res.end();
    }, END_AFTER_MS).unref();
  });

  const guard: Plugin = {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== STREAM_ENDPOINT) return;
      const refuse = (e: unknown): void => {
        const error = e as GraphQLError;
        const { http, ...extensions } = (error.extensions ?? {}) as { http?: { status?: number } };
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message: error.message, extensions }] }), {
            status: http?.status ?? 400,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          }),
        );
      };
      const token = request.headers.get(TOKEN_HEADER) ?? url.searchParams.get(TOKEN_PARAM);
      const res = (serverContext as { res?: ServerResponse } | undefined)?.res;
      if (request.method === 'PUT') {
        endResponse(reserve(token, fetchAPI.Response));
        return;
      }
      // The stream of a reserved token: registered with the handler once the checks below pass.
      const opening = token !== null && request.headers.get('accept') === 'text/event-stream' && reserved.delete(token);
      if (/text\/event-stream/i.test(request.headers.get('accept') ?? '') && res) {
        streams.add(res);
        if (token) openTokens.set(token, (openTokens.get(token) ?? 0) + 1);
        res.once('close', () => {
          streams.delete(res);
          const n = token ? (openTokens.get(token) ?? 1) - 1 : 0;
          if (token && n > 0) openTokens.set(token, n);
          else if (token) openTokens.delete(token);
        });
        res.on('error', () => {}); // a write racing the end at shutdown: the connection is going anyway
      } else if (token && request.method === 'POST' && !openTokens.has(token)) {
        refuse({
          message: 'no open stream for this token: open it (GET or POST with Accept: text/event-stream and the token) before sending operations',
          extensions: { code: 'BAD_REQUEST' },
        });
        return;
      }
      try {
        csrf({ request });
        const params = await paramsOf(request, url);
        if (params) shape({ params });
        const id = (params?.extensions as { operationId?: unknown } | null | undefined)?.operationId;
        if (typeof id === 'string' && id.length > MAX_TOKEN_LENGTH) {
          throw new GraphQLError(`an operationId is at most ${MAX_TOKEN_LENGTH} characters (every answer repeats it)`, { extensions: { code: 'BAD_REQUEST' } });
        }
      } catch (e) {
        refuse(e);
        return;
      }
      if (opening) await sse.register(token);
    },
  };

  /** A PUT: a token reserved for a stream to come, as graphql-sse's handler answers it. */
  const reserve = (asked: string | null, Res: typeof Response): Response => {
    const json = (status: number, message: string, code: string): Response =>
      new Res(JSON.stringify({ errors: [{ message, extensions: { code } }] }), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
    const now = Date.now();
    for (const [t, until] of reserved) {
      if (until > now) break; // in the order reserved, so in the order they lapse
      reserved.delete(t);
    }
    if (asked !== null && asked.length > MAX_TOKEN_LENGTH) return json(400, `a stream token is at most ${MAX_TOKEN_LENGTH} characters`, 'BAD_REQUEST');
    if (asked !== null && (reserved.has(asked) || openTokens.has(asked))) return json(409, 'Stream already registered', 'BAD_REQUEST');
    if (reserved.size >= options.maxReserved) {
      return json(
        429,
        `${reserved.size} stream tokens are reserved and not yet open; the limit is ${options.maxReserved} (LIVE_MAX_TOTAL): open the stream of a token soon after reserving it`,
        'TOO_MANY_SUBSCRIPTIONS',
      );
    }
    const token = asked ?? randomUUID();
    reserved.set(token, now + RESERVATION_MS);
    return new Res(token, { status: 201, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  };
  return [guard, sse.plugin];
}

/**
 * @graphql-yoga/plugin-graphql-sse's handler, with one difference: a refusal (`{ errors }`, from
 * validation or from subscribing: UNAUTHENTICATED, FORBIDDEN, TOO_COMPLEX, TOO_MANY_SUBSCRIPTIONS)
 * carries `data: null`. graphql-sse's handler takes a result without `data` for execution
 * arguments and answers 400 "Unable to detect operation AST" instead, so the plugin loses every
 * refusal's code and message.
 */
function graphqlSse(): { plugin: Plugin; register(token: string): Promise<void> } {
  const contexts = new WeakMap<Request, object>();
  let handler: ((req: Request) => Promise<Response>) | undefined;
  let Req: typeof Request = Request;
  const refusal = (result: unknown): unknown =>
    result && typeof result === 'object' && !(Symbol.asyncIterator in result) && !('data' in result) ? { data: null, ...result } : result;
  const plugin: Plugin = {
    onYogaInit({ yoga }) {
      const y = yoga as unknown as YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
      Req = y.fetchAPI.Request;
      handler = createHandler(
        {
          onSubscribe: async (req, params) => {
            const request = req.raw;
            const enveloped = y.getEnveloped({ ...contexts.get(request), request, params });
            let document: DocumentNode;
            try {
              document = enveloped.parse(params.query);
            } catch (e) {
              if (e instanceof GraphQLError) return { data: null, errors: [e] }; // a syntax error, or MAX_TOKENS
              throw e;
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) return { data: null, errors };
            const args: ExecutionArgs = {
              schema: enveloped.schema,
              document,
              contextValue: await enveloped.contextFactory(),
              variableValues: params.variables,
              operationName: params.operationName,
            };
            const run = getOperationAST(document, params.operationName)?.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
            return refusal(await run(args)) as Awaited<ReturnType<typeof run>>;
          },
        },
        y.fetchAPI,
      );
    },
    onRequest({ request, url, serverContext, endResponse }) {
      if (url.pathname !== STREAM_ENDPOINT || !handler) return;
      contexts.set(request, serverContext as object);
      return handler(request).then(endResponse);
    },
  };
  return {
    plugin,
    /** Registers a reserved token with the handler, just before its stream opens (the open ends it when it closes). */
    async register(token) {
      await handler?.(new Req(`http://gateway${STREAM_ENDPOINT}`, { method: 'PUT', headers: { [TOKEN_HEADER]: token, accept: '*/*' } }));
    },
  };
}

/** An operation's parameters as graphql-sse reads them (the query string of a GET, the JSON body of a POST); null when there are none. */
async function paramsOf(request: Request, url: URL): Promise<Params | null> {
  if (request.method === 'GET') {
    const query = url.searchParams.get('query');
    if (query === null) return null;
    const json = (name: string): unknown => {
      const raw = url.searchParams.get(name);
      try {
        return raw ? JSON.parse(raw) : undefined;
      } catch {
        return undefined; // graphql-sse refuses it
      }
    };
    return { query, variables: json('variables'), extensions: json('extensions') };
  }
  if (request.method !== 'POST') return null;
  const body = await request
    .clone()
    .json()
    .catch(() => null);
  return body && typeof body === 'object' ? (body as Params) : null;
}
