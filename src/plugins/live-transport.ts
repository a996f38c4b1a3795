// Subscriptions only where a stream can be sent: a request that does not accept one is refused before anything subscribes.
//
// Yoga answers a subscription without `Accept: text/event-stream` (or multipart/mixed) with a
// bare 406, after the subscription has been made, and never ends it: each such request would keep
// a live evaluation and a place under LIVE_MAX_PER_KEY for good. Refused here instead, with a code
// and what to send.

import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const STREAMS = /text\/event-stream|multipart\/mixed/i;

/**
 * A single-connection operation (graphql-sse): a POST to the stream endpoint with its stream's
 * token, answered over that stream, which live-sse.ts has checked is open.
 */
const onOpenStream = (request: Request, streamEndpoint: string | undefined): boolean =>
  streamEndpoint !== undefined && request.headers.has('x-graphql-event-stream-token') && new URL(request.url).pathname === streamEndpoint;

export function liveTransport(streamEndpoint?: string): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || STREAMS.test(request.headers.get('accept') ?? '') || onOpenStream(request, streamEndpoint)) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(
            'a subscription is answered as a stream of Server-Sent Events: send "Accept: text/event-stream" (graphql-sse, or an EventSource on GET /graphql?query=…), or query instead',
            { extensions: { code: 'BAD_REQUEST' } },
          ),
        ],
      });
    },
  };
}
