/**
 * A stand-in for Home Assistant Core's websocket API behind the fake Supervisor's `/core/websocket`.
 * Neither Core nor the Supervisor can run here; this fakes what they would answer, in their exact
 * message shapes (read from home-assistant/core and home-assistant/supervisor):
 *
 *   server: {"type":"auth_required","ha_version":…}
 *   client: {"type":"auth","access_token":<SUPERVISOR_TOKEN>}
 *   server: {"type":"auth_ok","ha_version":…} | {"type":"auth_invalid","message":…}
 *   client: {"id":1,"type":"config/auth/list"}
 *   server: {"id":1,"type":"result","success":true,"result":[…_user_info]}
 *         | {"id":1,"type":"result","success":false,"error":{"code":"unauthorized","message":…}}
 *
 * The Supervisor checks the token of the auth message (supervisor/api/proxy.py) and answers
 * auth_invalid to any other; Core's `config/auth/list` (components/config/auth.py) needs an
 * administrator, which the Supervisor's own user is. `mode` makes it misbehave as a test needs.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FakeSupervisor } from './fake-supervisor.js';

/** Core's `_user_info` of one user. */
export interface CoreUserInfo {
  id: string;
  username: string | null;
  name: string;
  is_owner: boolean;
  is_active: boolean;
  local_only: boolean;
  system_generated: boolean;
  group_ids: string[];
  credentials: Array<{ type: string }>;
}

/**
 * ok: as Core does; authInvalid: the token is refused; unauthorized: the command fails
 * (success false); garbage: not JSON after auth; silent: the connection opens and nothing is said;
 * refuse: the upgrade is answered 502, as the Supervisor does while Core is down.
 */
export type FakeCoreMode = 'ok' | 'authInvalid' | 'unauthorized' | 'garbage' | 'silent' | 'refuse';

export interface FakeCore {
  users: CoreUserInfo[];
  mode: FakeCoreMode;
  /** Websocket connections opened (one per fetch of the user list). */
  connections: number;
  /** Every message the client sent, parsed. */
  received: unknown[];
  close: () => void;
}

const HA_VERSION = '2026.1.0';

/** A person as Home Assistant's user list shows them; `groups` "system-admin" makes an administrator. */
export function coreUser(id: string, name: string, options: { groups?: string[]; owner?: boolean; active?: boolean } = {}): CoreUserInfo {
  return {
    id,
    username: name.toLowerCase().replace(/\W+/g, ''),
    name,
    is_owner: options.owner ?? false,
    is_active: options.active ?? true,
    local_only: false,
    system_generated: false,
    group_ids: options.groups ?? ['system-users'],
    credentials: [{ type: 'homeassistant' }],
  };
}

/** The Supervisor's own user: system-generated, an administrator, never a person at the panel. */
export const SUPERVISOR_USER: CoreUserInfo = {
  id: '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e',
  username: null,
  name: 'Supervisor',
  is_owner: false,
  is_active: true,
  local_only: false,
  system_generated: true,
  group_ids: ['system-admin'],
  credentials: [],
};

export function attachFakeCore(supervisor: FakeSupervisor, users: CoreUserInfo[]): FakeCore {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  const core: FakeCore = {
    users,
    mode: 'ok',
    connections: 0,
    received: [],
    close: () => {
      for (const socket of sockets) socket.terminate();
      wss.close();
    },
  };
  const send = (socket: WebSocket, message: unknown) => socket.send(JSON.stringify(message));

  supervisor.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url !== '/core/websocket' || core.mode === 'refuse') {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      core.connections++;
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      if (core.mode === 'silent') return;
      let authenticated = false;
      send(ws, { type: 'auth_required', ha_version: HA_VERSION });
      ws.on('message', (data) => {
        let message: { type?: unknown; id?: unknown; access_token?: unknown };
        try {
          message = JSON.parse(String(data)) as typeof message;
        } catch {
          ws.close(1002);
          return;
        }
        core.received.push(message);
        if (!authenticated) {
          if (message.type !== 'auth' || message.access_token !== supervisor.token || core.mode === 'authInvalid') {
            send(ws, { type: 'auth_invalid', message: 'Invalid access' });
            ws.close();
            return;
          }
          authenticated = true;
          send(ws, { type: 'auth_ok', ha_version: HA_VERSION });
          return;
        }
        if (core.mode === 'garbage') {
          ws.send('<html>502 Bad Gateway</html>');
          return;
        }
        if (message.type !== 'config/auth/list') {
          send(ws, { id: message.id, type: 'result', success: false, error: { code: 'unknown_command', message: 'Unknown command.' } });
        } else if (core.mode === 'unauthorized') {
          send(ws, { id: message.id, type: 'result', success: false, error: { code: 'unauthorized', message: 'Unauthorized' } });
        } else {
          send(ws, { id: message.id, type: 'result', success: true, result: core.users });
        }
      });
    });
  });
  return core;
}
