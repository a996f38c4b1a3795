// Live answers written straight to each subscriber's Node response: one SSE frame per answer and distinct subscription, the same bytes to every socket.
//
// Yoga sends a subscription as a web ReadableStream (two encoded chunks per event) that
// @whatwg-node/server pipes into the Node response, behind envelop's per-subscriber mapping of
// results: at 1,000 subscribers a new answer was 1,000 of each of those, plus their promises and
// garbage. Here, once yoga has done everything it does at subscribe time (auth, scopes, cost,
// caps, the first answer), the response carries a Node Readable for what is written before the
// headers are out (a ping and the first answer) and its end; every later answer is a Buffer made
// once per shared result (live-share.ts) and written with res.write by the Sink's push, with no
// promise per subscriber. A slow reader is never queued for: while its socket's buffer is full,
// only the newest frame waits. Requests without a Node response (yoga.fetch) or that prefer
// multipart/mixed keep yoga's own writer.

import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { liveResultsOf } from './live-share.ts';
import type { LiveResults } from './live-share.ts';

/** The headers of yoga's SSE writer. */
const HEADERS = { 'Content-Type': 'text/event-stream', Connection: 'keep-alive', 'Cache-Control': 'no-cache', 'Content-Encoding': 'none' };
/** A comment line: sent first (some browsers wait for a byte before they report the response) and every PING_MS. */
const PING = Buffer.from(':\n\n');
const COMPLETE = Buffer.from('event: complete\ndata:\n\n');
/** Yoga's interval: proxies close a connection silent for longer than about a minute. */
const PING_MS = 12_000;

export interface LiveDirectOptions {
  /** Yoga's maskError: a result's errors are masked as yoga masks them. */
  readonly maskError: (error: unknown, message: string) => Error;
}

/** Frames by shared result: equal subscribers hold the same result object (live-share.ts), so one Buffer each. */
const frames = new WeakMap<ExecutionResult, Buffer>();

function frameOf(result: ExecutionResult, mask: LiveDirectOptions['maskError']): Buffer {
  let frame = frames.get(result);
  if (!frame) {
    const text = result.errors?.length
      ? JSON.stringify({ ...result, errors: result.errors.map((e) => mask(e, 'Unexpected error.')) })
      : ((result as { stringify?: (r: unknown) => string }).stringify ?? JSON.stringify)(result);
    frame = Buffer.from(`event: next\ndata: ${text}\n\n`);
    frames.set(result, frame);
  }
  return frame;
}

/** text/event-stream wanted, and not multipart/mixed (yoga's other stream) instead. */
const wantsEventStream = (request: Request): boolean => {
  const accept = request.headers.get('accept') ?? '';
  return /text\/event-stream/i.test(accept) && !/multipart\/mixed/i.test(accept);
};

export function liveDirect(options: LiveDirectOptions): Plugin {
  return {
    onResultProcess({ request, result, serverContext, setResultProcessor }) {
      const live = liveResultsOf(request);
      const res = (serverContext as { res?: unknown } | undefined)?.res;
      if (!live?.listenable || !(res instanceof ServerResponse) || !result || !(Symbol.asyncIterator in result) || !wantsEventStream(request)) return;
      setResultProcessor((_result, fetchAPI) => {
        const stream = new DirectStream(res, live, options.maskError);
        stream.start();
        return new fetchAPI.Response(stream.body as unknown as BodyInit, { status: 200, headers: HEADERS });
      }, 'text/event-stream');
    },
  };
}

/** Open direct streams, for the shared ping timer. */
const open = new Set<DirectStream>();
let pinger: NodeJS.Timeout | null = null;

function ping(): void {
  if (!open.size) {
    if (pinger) clearInterval(pinger);
    pinger = null;
    return;
  }
  for (const s of open) s.ping();
}

class DirectStream {
  /** What is sent through @whatwg-node's pipe: the first bytes (before the headers are written) and the end. */
  readonly body = new Readable({ read() {} });
  /** The newest frame not written yet (a full socket buffer, or the pipe not drained yet). */
  private pending: Buffer | null = null;
  private waiting = false;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly live: LiveResults,
    private readonly mask: LiveDirectOptions['maskError'],
  ) {}

  start(): void {
    this.body.push(PING);
    open.add(this);
    pinger ??= setInterval(ping, PING_MS).unref();
    this.res.once('close', this.close);
    this.live.listen((r) => this.send(frameOf(r, this.mask)), this.end);
  }

  private send(frame: Buffer): void {
    if (this.done) return;
    if (!this.res.headersSent) {
      this.body.push(frame); // the first answer, while the response is being handed to Node
      return;
    }
    this.pending = frame;
    this.flush();
  }

  private readonly flush = (): void => {
    const frame = this.pending;
    if (!frame || this.done || this.waiting) return;
    if (this.res.writableNeedDrain) {
      this.waiting = true;
      this.res.once('drain', this.resume);
      return;
    }
    if (this.body.readableLength > 0) {
      // The pipe has not written the first bytes yet: after it, so the order holds.
      this.waiting = true;
      setImmediate(this.resume);
      return;
    }
    this.pending = null;
    this.res.write(frame);
  };

  private readonly resume = (): void => {
    this.waiting = false;
    this.flush();
  };

  ping(): void {
    if (!this.done && !this.pending && this.res.headersSent && !this.res.writableNeedDrain && !this.body.readableLength) this.res.write(PING);
  }

  /** The subscription ended (shutdown): the last frame waiting, `complete`, and the end, through the pipe (after what was written). */
  private readonly end = (): void => {
    if (this.done) return;
    this.done = true;
    open.delete(this);
    if (this.pending) this.body.push(this.pending);
    this.pending = null;
    this.body.push(COMPLETE);
    this.body.push(null);
  };

  /** The response closed (the client left, or the end was written): the subscription goes. */
  private readonly close = (): void => {
    this.done = true;
    this.pending = null;
    open.delete(this);
    void this.live.return();
  };
}
