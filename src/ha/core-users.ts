/**
 * Home Assistant's users, as Core knows them: its websocket command `config/auth/list`, reached
 * through the Supervisor's proxy (`/core/websocket`) with the add-on's token (config.yaml:
 * `homeassistant_api: true`). Who is an administrator comes from here, never from a request.
 *
 * Core's user info (homeassistant/components/config/auth.py, `_user_info`) has no `is_admin`:
 * a user is an administrator when they are the owner or in the group `system-admin`
 * (homeassistant/auth/const.py, GROUP_ID_ADMIN), and only while their account is active.
 */
import type { RawData } from 'ws';
import { TUNABLES } from '../config/tunables.js';
import type { Logger } from '../log/logger.js';
import type { Roles } from '../panel/roles.js';

export interface CoreUser {
  id: string;
  /** Home Assistant's name of the person; may be empty. */
  name: string;
  isAdmin: boolean;
}

export type UserList = { ok: true; users: CoreUser[] } | { ok: false; reason: string };

const GROUP_ID_ADMIN = 'system-admin';

/** Core's `_user_info` as a user of this add-on needs it; anything of another shape is left out. */
function userOf(value: unknown): CoreUser | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const user = value as Record<string, unknown>;
  if (typeof user.id !== 'string' || user.id === '') return undefined;
  const groups = Array.isArray(user.group_ids) ? user.group_ids : [];
  // Strictly `true`: a missing or odd field never makes anybody an administrator.
  const active = user.is_active === true;
  return {
    id: user.id,
    name: typeof user.name === 'string' ? user.name : '',
    isAdmin: active && (user.is_owner === true || groups.includes(GROUP_ID_ADMIN)),
  };
}

/** A value from Core's message, for a log line: short, whatever was sent. */
const shown = (value: unknown): string => String(value).slice(0, 40);

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * One exchange with Core: auth_required → auth → auth_ok → `config/auth/list` → result. Bounded
 * in time (the whole exchange) and in message size; never throws. The token travels only in the
 * auth message; no reason it returns carries it.
 */
export async function fetchCoreUsers(options: { supervisorUrl: string; token: string; timeoutMs: number; maxBytes: number }): Promise<UserList> {
  let WebSocket: typeof import('ws').WebSocket;
  try {
    // Loaded on first use, as the panel is: most of the time nobody has the panel open.
    ({ WebSocket } = await import('ws'));
  } catch (error) {
    return { ok: false, reason: `no websocket client: ${(error as Error).message}` };
  }
  const url = `${options.supervisorUrl.replace(/^http/, 'ws')}/core/websocket`;
  return new Promise<UserList>((resolve) => {
    let settled = false;
    let socket: InstanceType<typeof WebSocket>;
    const finish = (result: UserList): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `no answer within ${options.timeoutMs} ms` }), options.timeoutMs);
    try {
      socket = new WebSocket(url, { handshakeTimeout: options.timeoutMs, maxPayload: options.maxBytes, perMessageDeflate: false, followRedirects: false });
    } catch (error) {
      clearTimeout(timer);
      resolve({ ok: false, reason: (error as Error).message });
      return;
    }
    // Kept for the socket's whole life: ws emits an error after terminate() while connecting.
    socket.on('error', (error) => finish({ ok: false, reason: error.message }));
    socket.on('close', (code) => finish({ ok: false, reason: `closed (${code}) before the user list` }));
    let stage: 'auth' | 'authenticating' | 'listing' = 'auth';
    socket.on('message', (data, isBinary) => {
      let message: Record<string, unknown>;
      try {
        const parsed: unknown = isBinary ? undefined : JSON.parse(textOf(data));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
        message = parsed as Record<string, unknown>;
      } catch {
        finish({ ok: false, reason: `unreadable message while ${stage === 'listing' ? 'listing users' : 'authenticating'}` });
        return;
      }
      if (stage === 'auth') {
        if (message.type !== 'auth_required') return finish({ ok: false, reason: `expected auth_required, got ${shown(message.type)}` });
        stage = 'authenticating';
        socket.send(JSON.stringify({ type: 'auth', access_token: options.token }));
      } else if (stage === 'authenticating') {
        if (message.type !== 'auth_ok')
          return finish({
            ok: false,
            reason: message.type === 'auth_invalid' ? 'the token was refused (auth_invalid)' : `expected auth_ok, got ${shown(message.type)}`,
          });
        stage = 'listing';
        socket.send(JSON.stringify({ id: 1, type: 'config/auth/list' }));
      } else if (message.id === 1 && message.type === 'result') {
        if (message.success !== true) {
          const error = message.error as { code?: unknown } | undefined;
          return finish({ ok: false, reason: `config/auth/list failed (${shown(error?.code ?? 'no code')})` });
        }
        if (!Array.isArray(message.result)) return finish({ ok: false, reason: 'config/auth/list answered without a list' });
        finish({ ok: true, users: message.result.map(userOf).filter((user) => user !== undefined) });
      }
      // Anything else after the command (an event of another subscription) is not ours.
    });
  });
}

/**
 * The household's roles and names from Core, asked for at most once a minute (a failure is kept
 * for seconds, so a Core that is down is not asked on every page view); callers at the same time
 * share one exchange. Fails closed: without an answer nobody is an administrator.
 */
export class CoreRoles implements Roles {
  #users: { byId: ReadonlyMap<string, CoreUser> | undefined; until: number } | undefined;
  #pending: Promise<ReadonlyMap<string, CoreUser> | undefined> | undefined;

  constructor(
    private readonly fetchUsers: () => Promise<UserList>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Through the Supervisor with its token; the tunables bound time, size and how often. */
  static viaSupervisor(supervisorUrl: string, token: string, logger: Logger): CoreRoles {
    return new CoreRoles(
      () => fetchCoreUsers({ supervisorUrl, token, timeoutMs: TUNABLES.http.supervisorTimeoutMs, maxBytes: TUNABLES.homeAssistant.maxMessageBytes }),
      logger,
    );
  }

  private users(): Promise<ReadonlyMap<string, CoreUser> | undefined> {
    if (this.#users && this.now() < this.#users.until) return Promise.resolve(this.#users.byId);
    this.#pending ??= this.fetchUsers()
      .catch((error: unknown): UserList => ({ ok: false, reason: (error as Error).message }))
      .then((list) => {
        const byId = list.ok ? new Map(list.users.map((user) => [user.id, user])) : undefined;
        const { usersCacheMs, usersFailureCacheMs } = TUNABLES.homeAssistant;
        this.#users = { byId, until: this.now() + (byId ? usersCacheMs : usersFailureCacheMs) };
        this.#pending = undefined;
        if (list.ok) this.logger.debug("Home Assistant's user list read", { users: list.users.length });
        else this.logger.warning("Home Assistant's user list could not be read: nobody counts as an administrator meanwhile", { reason: list.reason });
        return byId;
      });
    return this.#pending;
  }

  async isAdmin(userId: string): Promise<boolean> {
    return (await this.users())?.get(userId)?.isAdmin === true;
  }

  /** Home Assistant's name of each user, by id; empty when Core did not answer. */
  async names(): Promise<ReadonlyMap<string, string>> {
    const byId = await this.users();
    return new Map([...(byId?.values() ?? [])].filter((user) => user.name !== '').map((user) => [user.id, user.name]));
  }
}
