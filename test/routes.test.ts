/** The route walk the fuzz test takes its paths from (test/helpers/routes.ts) finds every kind of route. */
import { afterAll, describe, expect, it } from 'vitest';
import { buildApps, routePaths } from './helpers/routes.js';

const apps = buildApps();
afterAll(() => apps.close());

describe('routePaths', () => {
  it('finds the public app’s routes: the exact-path protocol endpoints, the browser router’s, the app’s own', () => {
    const paths = routePaths(apps.publicApp);
    for (const path of [
      '/token',
      '/revoke',
      '/introspect',
      '/authorize',
      '/authorize/renew',
      '/authorize/status',
      '/skill',
      '/healthz',
      '/.well-known/oauth-authorization-server',
    ]) {
      expect(paths).toContain(path);
    }
  });

  it('finds the panel’s routes', () => {
    // Contains, not equals: a new panel route needs no edit here.
    expect(routePaths(apps.ingressApp)).toEqual(
      expect.arrayContaining(['/', '/activity', '/code', '/decide', '/household/revoke', '/links', '/links/revoke', '/notices/dismiss', '/setup']),
    );
  });
});
