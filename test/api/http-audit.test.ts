// GraphQL-over-HTTP conformance: graphql-http's server audits against the gateway's fetch handler.
// MUST audits have to pass; SHOULD and MAY audits are reported, and skipped with the reason when they fail.

import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

describe('GraphQL over HTTP audit (redis engine)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'redis' });
  });
  afterAll(() => t.close());

  const audits = serverAudits({
    url: 'http://yoga/graphql',
    // The gateway exists only once beforeAll has run; the audits call this later.
    fetchFn: (input: string, init?: RequestInit) => t.gateway.yoga.fetch(new Request(input, init)),
  });

  it('has MUST audits to run', () => {
    expect(audits.filter((a) => a.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });

  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async (ctx) => {
      const result = await audit.fn();
      if (result.status === 'ok') return;
      const body = await result.response.text().catch(() => '');
      const detail = `${result.reason} (HTTP ${result.response.status}: ${body.slice(0, 300)})`;
      if (audit.name.startsWith('MUST')) expect.fail(detail);
      ctx.skip(`${result.status}: ${detail}`);
    });
  }
});
