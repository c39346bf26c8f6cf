import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { generateFernetKey } from '../src/crypto/fernet.js';
import { DATABASE_FILE } from '../src/store/index.js';
import { runToExit, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const options = (extra: Record<string, unknown> = {}) => ({
  encryption_key: generateFernetKey(),
  public_url: 'https://alexa.example.net',
  alexa_client_id: 'alexa-client',
  alexa_client_secret: 's'.repeat(40),
  alexa_vendor_id: 'M2AB3CD4EF5GH6',
  ...extra,
});

function addonDir(opts: Record<string, unknown>): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'options.json'), JSON.stringify(opts));
  return dir;
}

describe('the server process', () => {
  it('runs out of the box locally: dev secrets with a loud warning, /healthz answers, SIGTERM stops it cleanly', async () => {
    const dataDir = tempDir();
    const server = await startServer({ DATA_DIR: dataDir });
    try {
      expect(server.output()).toMatch(/WARNING LOCAL DEVELOPMENT RUN/);
      expect(server.output()).toContain('dev-secrets.json');
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
      expect(response.headers.get('x-powered-by')).toBeNull();
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(existsSync(join(dataDir, DATABASE_FILE))).toBe(true);
    expect(existsSync(join(dataDir, `${DATABASE_FILE}-wal`))).toBe(false);
  });

  it('stops with exit code 1 and one line naming a bad option', async () => {
    const result = await runToExit({ DATA_DIR: addonDir(options({ access_token_ttl_minutes: 0 })) });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['Invalid option "access_token_ttl_minutes": must be between 6 and 1440, got 0']);
  });

  it('in the add-on without a key, prints a fresh key once, the !secret line and where the key now is, and stops', async () => {
    const { encryption_key: _, ...rest } = options();
    const result = await runToExit({ DATA_DIR: addonDir(rest) });
    expect(result.code).toBe(1);
    // Everything the process printed holds the key exactly once (the log is kept: docs/development.md).
    const keys = `${result.stdout}${result.stderr}`.match(/[A-Za-z0-9_-]{43}=/g);
    expect(keys).toHaveLength(1);
    expect(result.stderr).toContain(`alexa_link_encryption_key: "${keys![0]}"`);
    expect(result.stderr).toContain('encryption_key: "!secret alexa_link_encryption_key"');
    expect(result.stderr).not.toContain('not stored anywhere');
    expect(result.stderr).toContain('Where this key is now: in this log');
  });

  it('on a first start with the options exactly as config.yaml ships them, prints one block: the options to fill in and a fresh key', async () => {
    // What the Supervisor writes to options.json for a fresh install: config.yaml's options.
    const shipped = (parseYaml(readFileSync(new URL('../config.yaml', import.meta.url), 'utf8'), { version: '1.1' }) as { options: Record<string, unknown> })
      .options;
    const result = await runToExit({ DATA_DIR: addonDir(shipped) });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // One block, no stack trace, no JSON log line.
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toMatch(/^\{/m);
    expect(result.stderr.match(/still empty/g)).toHaveLength(1);
    for (const name of ['encryption_key', 'public_url', 'alexa_client_id', 'alexa_client_secret', 'alexa_vendor_id']) {
      expect(result.stderr).toMatch(new RegExp(`^ {2}- ${name} `, 'm'));
    }
    const keys = `${result.stdout}${result.stderr}`.match(/[A-Za-z0-9_-]{43}=/g);
    expect(keys).toHaveLength(1);
    expect(result.stderr).toContain(`alexa_link_encryption_key: "${keys![0]}"`);
    expect(result.stderr).toContain('encryption_key: "!secret alexa_link_encryption_key"');
    expect(result.stderr.match(/Where this key is now/g)).toHaveLength(1);
  });

  it('refuses to start on a database that the configured key does not open', async () => {
    const dataDir = addonDir(options());
    const first = await startServer({ DATA_DIR: dataDir });
    await first.stop();
    writeFileSync(join(dataDir, 'options.json'), JSON.stringify(options()));
    const result = await runToExit({ DATA_DIR: dataDir, HOST: '127.0.0.1', PUBLIC_PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/None of the 1 configured encryption key\(s\) opens the database/);
  });
});

describe('the Docker health check', () => {
  it('exits 0 while the server is healthy and 1 when nothing answers', async () => {
    const { spawnSync } = await import('node:child_process');
    const dataDir = tempDir();
    const server = await startServer({ DATA_DIR: dataDir });
    const port = new URL(server.url).port;
    const check = () =>
      spawnSync(process.execPath, [new URL('../dist/healthcheck.js', import.meta.url).pathname], { env: { DATA_DIR: dataDir, PUBLIC_PORT: port } }).status;
    try {
      expect(check()).toBe(0);
    } finally {
      await server.stop();
    }
    expect(check()).toBe(1);
  });
});
