// GET /metrics: the gateway's Prometheus registry as text (no key needed: expose it on an internal network only).

import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

export function metricsEndpoint(registry: Registry): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== '/metrics' || request.method !== 'GET') return;
      const body = await registry.metrics();
      endResponse(new fetchAPI.Response(body, { status: 200, headers: { 'content-type': registry.contentType } }));
    },
  };
}
