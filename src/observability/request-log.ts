// Per request: its id (kept from x-request-id or made), its metrics, and one JSON log line; yoga's own log calls as lines too.

import { randomUUID } from 'node:crypto';
import { getOperationAST } from 'graphql';
import type { DocumentNode } from 'graphql';
import type { Plugin, YogaLogger } from 'graphql-yoga';
import type { Metrics } from './metrics.ts';

export type LogFn = (fields: Record<string, unknown>) => void;

/** Incoming request ids are kept when short and made of safe characters; otherwise a new one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
/** Distinct operation names kept as label values; later ones are counted as "(other)". */
const MAX_OPERATION_NAMES = 200;

interface RequestState {
  readonly id: string;
  readonly start: number;
  operation: string;
  type: string;
  errors: string[];
}

export interface RequestLogOptions {
  readonly metrics: Metrics;
  /** Structured log lines; absent: silent. */
  readonly log?: LogFn;
  /** The GraphQL path (default /graphql): only requests to it are logged and counted. */
  readonly graphqlEndpoint?: string;
}

export function requestIdFrom(header: string | null): string {
  return header !== null && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * The yoga plugin, first of all: every response echoes the request's id; a GraphQL request is
 * counted and timed by operation name and type, its error codes counted, and one line logged
 * (never its variables).
 */
export function requestLog(options: RequestLogOptions): Plugin {
  const { metrics } = options;
  const log = options.log ?? (() => {});
  const endpoint = options.graphqlEndpoint ?? '/graphql';
  const requests = new WeakMap<Request, RequestState>();
  const operationNames = new Set<string>();

  /** The operation name as a label value: valid GraphQL names only, and a bounded number of them. */
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return '(anonymous)';
    if (!OPERATION_NAME.test(name)) return '(invalid)';
    if (operationNames.has(name)) return name;
    if (operationNames.size >= MAX_OPERATION_NAMES) return '(other)';
    operationNames.add(name);
    return name;
  };
  const describe = (state: RequestState, document: DocumentNode, operationName: string | null | undefined): void => {
    const op = getOperationAST(document, operationName ?? undefined);
    if (op) {
      state.type = op.operation;
      state.operation = operationLabel(op.name?.value);
    }
  };

  return {
    onRequest: ({ request }) => {
      requests.set(request, {
        id: requestIdFrom(request.headers.get('x-request-id')),
        start: performance.now(),
        operation: '(none)',
        type: 'unknown',
        errors: [],
      });
    },
    onParams: ({ params, request }) => {
      const s = requests.get(request);
      if (s && typeof params.operationName === 'string') s.operation = operationLabel(params.operationName);
      else if (s) s.operation = '(anonymous)';
    },
    onParse: ({ context }) => {
      const { request, params } = context as { request?: Request; params?: { operationName?: string | null } };
      return ({ result }) => {
        const s = request && requests.get(request);
        if (s && result && typeof result === 'object' && 'kind' in result) describe(s, result, params?.operationName);
      };
    },
    onExecute: ({ args }) => {
      const request = (args.contextValue as { request?: Request }).request;
      const s = request && requests.get(request);
      if (s) describe(s, args.document, args.operationName);
    },
    onResultProcess: ({ request, result }) => {
      const s = requests.get(request);
      if (!s) return;
      for (const r of Array.isArray(result) ? result : [result]) {
        const errors = (r as { errors?: ReadonlyArray<{ extensions?: { code?: unknown } }> }).errors;
        if (!Array.isArray(errors)) continue;
        for (const e of errors) {
          const code = e?.extensions?.code;
          s.errors.push(typeof code === 'string' && ERROR_CODE.test(code) ? code : code === undefined ? 'NONE' : 'OTHER');
        }
      }
    },
    onResponse: ({ request, response }) => {
      const s = requests.get(request);
      const id = s?.id ?? requestIdFrom(request.headers.get('x-request-id'));
      try {
        response.headers.set('x-request-id', id);
      } catch {
        // immutable headers (a Response.error()): nothing to echo
      }
      if (!s) return;
      requests.delete(request);
      const path = new URL(request.url, 'http://localhost').pathname;
      if (path !== endpoint) return; // probes and scrapes are not logged
      const seconds = (performance.now() - s.start) / 1000;
      const outcome = s.errors.length || response.status >= 400 ? 'error' : 'ok';
      metrics.gqlRequests.inc({ operation: s.operation, type: s.type, outcome });
      metrics.gqlDuration.observe({ operation: s.operation, type: s.type }, seconds);
      for (const code of s.errors) metrics.gqlErrors.inc({ code });
      log({
        level: s.errors.includes('INTERNAL_SERVER_ERROR') || response.status >= 500 ? 'error' : 'info',
        msg: 'request',
        requestId: id,
        method: request.method,
        operation: s.operation,
        type: s.type,
        status: response.status,
        durationMs: Math.round(seconds * 1e4) / 10,
        ...(s.errors.length ? { errors: [...new Set(s.errors)] } : {}),
      });
    },
  };
}

/** Yoga's own log calls (e.g. an unexpected error behind a masked one) as structured lines. */
export function yogaLogger(log: LogFn): YogaLogger {
  const line =
    (level: string) =>
    (...args: unknown[]): void => {
      const error = args.find((a): a is Error => a instanceof Error);
      const msg = args
        .map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)))
        .join(' ');
      log({ level, msg, ...(error?.stack ? { stack: error.stack } : {}) });
    };
  return { debug: () => {}, info: line('info'), warn: line('warn'), error: line('error') };
}
