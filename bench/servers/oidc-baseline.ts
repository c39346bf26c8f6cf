/**
 * The oidc-provider baselines: panva's oidc-provider v9, one confidential Alexa-like client
 * (client_secret_basic, authorization_code + refresh_token) and a resource server client
 * `music_assistant` for introspection (features.introspection.enabled).
 *
 * STORE picks the adapter:
 * - `sqlite-autocommit`, `sqlite-group`: the durable adapter of ./oidc-sqlite-adapter.ts on
 *   DB_FILE (WAL, synchronous=FULL), each write committed on its own or the writes of one
 *   event-loop turn sharing one COMMIT that is on disk before any of them is answered;
 * - `memory`: oidc-provider's default in-memory adapter (an LRU of 1,000 entries), for information.
 *
 * Refresh-token rotation is ON for all (`rotateRefreshToken: () => true`): by default oidc-provider
 * rotates for public clients only, and for confidential ones once 70 % of the refresh token's
 * lifetime has passed, so a fresh token would be returned unchanged. Rotating, each refresh
 * consumes the presented refresh token, saves its successor and saves a new access token: three
 * writes, one after the other (each awaited), as Alexa Link's rotation does in one transaction.
 *
 * There is no interactive login: on request of the bench (POST /bench/…, outside the provider)
 * the process makes Grants and RefreshTokens (or an AccessToken to introspect) directly through
 * the models, as the authorization_code grant would. The scope is `offline_access music_assistant`
 * without `openid`, so no ID token is signed on refresh: like our server, a refresh returns an
 * opaque access token and a refresh token and nothing else. GET /bench/commits answers the
 * adapter's counts: `{"writes":…,"commits":…}` (both 0 for the in-memory store); GET /bench/rows
 * the rows of each model's table.
 *
 * Env: PORT, CLIENT_ID, CLIENT_SECRET, RS_SECRET, REDIRECT_URI, LINEAGES (default count for
 * /bench/lineages), STORE (default memory), DB_FILE (for the SQLite stores).
 * Prints `READY {"port":…}` on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { type CommitMode, type SqliteAdapters, sqliteAdapters } from './oidc-sqlite-adapter.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const CLIENT_ID = env('CLIENT_ID');
const LINEAGES = Number(env('LINEAGES'));
const SCOPE = 'offline_access music_assistant';
const STORE = process.env.STORE ?? 'memory';
if (!['memory', 'sqlite-autocommit', 'sqlite-group'].includes(STORE)) throw new Error(`STORE=${STORE} is not a store`);

async function main(): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const sqlite: SqliteAdapters | undefined = STORE === 'memory' ? undefined : sqliteAdapters(env('DB_FILE'), STORE.slice('sqlite-'.length) as CommitMode);
  const adapter: Pick<Configuration, 'adapter'> = sqlite ? { adapter: sqlite.factory } : {};
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: env('CLIENT_SECRET'),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [env('REDIRECT_URI')],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: 'music_assistant',
        client_secret: env('RS_SECRET'),
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: { introspection: { enabled: true }, devInteractions: { enabled: false } },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    scopes: ['openid', 'offline_access', 'music_assistant'],
    cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
    // The same lifetimes as the add-on's defaults: 60 min access tokens, 180 days refresh tokens.
    ttl: { AccessToken: 3600, RefreshToken: 180 * 86400, Grant: 180 * 86400 },
    // Every refresh rotates, as Alexa Link's does (the default would not, for this client).
    rotateRefreshToken: () => true,
    ...adapter,
  });
  provider.on('server_error', (_ctx, error) => process.stderr.write(`server_error ${String(error)}\n`));

  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error('client not found');
  let accounts = 0;
  /** A grant and its refresh token, as the authorization_code grant would leave them. */
  const lineage = async (): Promise<string> => {
    const accountId = `user-${accounts++}`;
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addOIDCScope(SCOPE);
    const grantId = await grant.save();
    return new provider.RefreshToken({ accountId, client, grantId, scope: SCOPE, gty: 'authorization_code' }).save();
  };
  const accessToken = async (): Promise<string> => {
    const accountId = `user-${accounts++}`;
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addOIDCScope(SCOPE);
    const grantId = await grant.save();
    return new provider.AccessToken({ accountId, client, grantId, scope: 'music_assistant', gty: 'authorization_code' }).save();
  };

  // The default in-memory adapter is an LRU of 1,000 entries (lib/adapters/memory_adapter.js):
  // a token left idle while ~2,000 others are written is evicted. So the bench asks for fresh
  // lineages right before each run (POST /bench/lineages?n=16, POST /bench/access-token); during a
  // run every lineage is used every few requests and stays. (With rotation, fresh lineages also
  // keep a request cut off at the end of a run from presenting a consumed token in the next one,
  // which oidc-provider rightly answers by revoking the grant.) The /bench/ paths never reach the provider.
  const handle = provider.callback();
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/bench/')) {
      handle(req, res);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/bench/commits') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sqlite?.counts ?? { writes: 0, commits: 0 }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/bench/rows') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sqlite?.rows() ?? {}));
      return;
    }
    const made =
      url.pathname === '/bench/lineages'
        ? Promise.all(Array.from({ length: Number(url.searchParams.get('n') ?? LINEAGES) }, lineage)).then((refreshTokens) => ({ refreshTokens }))
        : accessToken().then((token) => ({ accessToken: token }));
    made.then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  process.stdout.write(`READY ${JSON.stringify({ port })}\n`);
  const stop = (): void => {
    server.close(() => {
      sqlite?.close();
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`oidc baseline failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
