// DASHBOARD=false: GET / no longer serves the page; the API is unchanged.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGateway } from '../helpers.ts';
import type { TestGateway } from '../helpers.ts';

describe.each([true, false])('dashboard %s', (on) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await testGateway({ engine: 'embedded', config: { dashboard: on } });
  });
  afterAll(() => t.close());

  it(on ? 'serves the page at /' : 'does not serve the page at /', async () => {
    const res = await t.gateway.yoga.fetch('http://yoga/', { headers: { accept: 'text/html' } });
    const body = await res.text();
    if (on) {
      expect(res.status).toBe(200);
      expect(body).toContain('/dashboard/app-');
    } else {
      expect(res.status).toBe(404);
      expect(body).not.toContain('/dashboard/app-');
    }
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});
