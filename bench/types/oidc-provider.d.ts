/**
 * The small part of panva's oidc-provider v9 (which ships no types) that the baseline server uses.
 * Checked against node_modules/oidc-provider/lib (models/grant.js, models/base_token.js, provider.js).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
  }

  /** What a model instance is stored as (lib/adapters/memory_adapter.js reads these fields). */
  export interface AdapterPayload {
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: number;
    [key: string]: unknown;
  }

  /** The storage interface (lib/adapters/memory_adapter.js): one instance per model. */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface Configuration {
    /** A constructor or a factory called with each model's name; absent: the in-memory LRU. */
    adapter?: (model: string) => Adapter;
    clients?: ClientMetadata[];
    features?: Record<string, { enabled?: boolean } & Record<string, unknown>>;
    findAccount?: (ctx: unknown, sub: string, token?: unknown) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> } | undefined>;
    scopes?: string[];
    cookies?: { keys?: string[] };
    ttl?: Record<string, number | ((...args: unknown[]) => number)>;
    rotateRefreshToken?: boolean | ((ctx: unknown) => boolean | Promise<boolean>);
  }

  export interface Client {
    clientId: string;
  }

  export interface GrantInstance {
    addOIDCScope(scope: string): void;
    save(ttl?: number): Promise<string>;
  }

  export interface TokenInstance {
    save(): Promise<string>;
  }

  export interface TokenInit {
    accountId: string;
    client: Client;
    grantId: string;
    scope?: string;
    gty?: string;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    readonly Grant: new (init: {
      accountId: string;
      clientId: string;
    }) => GrantInstance;
    readonly RefreshToken: new (
      init: TokenInit,
    ) => TokenInstance;
    readonly AccessToken: new (
      init: TokenInit,
    ) => TokenInstance;
    readonly Client: { find(id: string): Promise<Client | undefined> };
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
