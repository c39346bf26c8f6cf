/**
 * A local stand-in for the Home Assistant Supervisor API. The real Supervisor cannot run here;
 * this one answers the two calls Alexa Link makes (Home Assistant's config, and creating a
 * persistent notification) and records every request so tests can check their shape.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

export interface FakeSupervisor {
  url: string;
  token: string;
  requests: RecordedRequest[];
  /** The listening server, for stand-ins of what else the Supervisor proxies (fake-core-ws.ts). */
  server: Server;
  close: () => Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return text;
  }
}

export function startFakeSupervisor(options: { externalUrl?: string; token?: string } = {}): Promise<FakeSupervisor> {
  const token = options.token ?? 'fake-supervisor-token-0123456789';
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET' && req.url === '/core/api/config') {
      res.end(JSON.stringify({ external_url: options.externalUrl ?? null, internal_url: 'http://homeassistant.local:8123' }));
    } else if (req.method === 'POST' && req.url === '/core/api/services/persistent_notification/create') {
      res.end('[]');
    } else {
      res.writeHead(404).end('{}');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        token,
        requests,
        server,
        close: () =>
          new Promise((done) => {
            // Websocket connections (fake-core-ws.ts) would hold close() open.
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
