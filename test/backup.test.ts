/**
 * A hot backup as the Supervisor takes it: backup_pre (our CLI, a separate process) while Alexa
 * keeps refreshing, a copy of the data folder that honours backup_exclude, backup_post, and a
 * restore into a fresh folder.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_FILE } from '../src/backup.js';
import { introspect, link, refresh, type Linked } from './helpers/link.js';
import { RS_SECRET, startTestServer } from './helpers/oauth-server.js';
import { tempDir } from './helpers/tmp.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const config = parse(readFileSync(new URL('../config.yaml', import.meta.url), 'utf8')) as { backup_pre: string; backup_post: string; backup_exclude: string[] };
const person = (i: number) => ({ id: `${String(i).padStart(4, '0')}${'e'.repeat(28)}`, name: `user${i}` });

/** Supervisor matches backup_exclude with PurePath.match: a bare pattern matches the file name. */
function excluded(name: string): boolean {
  return config.backup_exclude.some((pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`).test(name));
}

/** Runs a backup hook the way the Supervisor does (docker exec in the container): the configured command line. */
function hook(command: string, dataDir: string): Promise<{ code: number | null; output: string }> {
  const [program, script, ...args] = command.split(' ');
  expect(program).toBe('node');
  expect(script).toBe('/app/dist/cli.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('backup and restore', () => {
  it('a snapshot taken under load restores into a working server; every token issued before it works', async () => {
    const source = await startTestServer({ log_level: 'info' });
    const probes: Linked[] = [];
    for (let i = 0; i < 5; i++) probes.push(await link(source, person(i)));
    // Busy clients refresh continuously while the snapshot is taken.
    const busy = await Promise.all([10, 11, 12].map((i) => link(source, person(i))));
    const received = busy.map((linked) => [linked.refreshToken]);
    let running = true;
    const load = Promise.all(busy.map(async (_linked, index) => {
      while (running) {
        const response = await refresh(source, received[index]!.at(-1)!);
        expect(response.status).toBe(200);
        received[index]!.push(response.json!.refresh_token as string);
      }
    }));

    const pre = await hook(config.backup_pre, source.dataDir);
    running = false;
    await load;
    expect(pre.code).toBe(0);
    expect(pre.output).toContain('snapshot written');
    expect(received.every((tokens) => tokens.length > 2)).toBe(true);

    // The Supervisor's copy: everything in the data folder except backup_exclude.
    const restored = tempDir();
    const copied: string[] = [];
    for (const name of readdirSync(source.dataDir)) {
      if (excluded(name)) continue;
      copyFileSync(join(source.dataDir, name), join(restored, name));
      copied.push(name);
    }
    expect(copied).toContain(SNAPSHOT_FILE);
    expect(copied.some((name) => name.startsWith('alexa-link.db'))).toBe(false);
    const post = await hook(config.backup_post, source.dataDir);
    expect(post.code).toBe(0);
    expect(existsSync(join(source.dataDir, SNAPSHOT_FILE))).toBe(false);
    await source.close();

    const target = await startTestServer({ encryption_key: source.options.encryption_key }, restored);
    try {
      expect(target.lines.some((line) => line.includes('Restored the database from the backup snapshot'))).toBe(true);
      expect(target.app.store.integrityCheck()).toEqual(['ok']);
      for (const [i, probe] of probes.entries()) {
        expect((await introspect(target, probe.accessToken, RS_SECRET)).json).toMatchObject({ active: true, sub: person(i).id });
        expect((await refresh(target, probe.refreshToken)).status).toBe(200);
      }
      // Busy clients: their newest token that the snapshot holds works (newer ones are simply unknown, never "reuse").
      for (const tokens of received) {
        let outcome: number | undefined;
        for (const token of [...tokens].reverse()) {
          const response = await refresh(target, token);
          if (response.status === 200) {
            outcome = 200;
            break;
          }
          expect(response.json).toMatchObject({ error: 'invalid_grant', error_description: 'the refresh token is invalid' });
        }
        expect(outcome).toBe(200);
      }
    } finally {
      await target.close();
    }
  });

  it('a damaged snapshot stops start-up with a clear message and is left as it is', async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, SNAPSHOT_FILE), Buffer.alloc(8192, 7));
    await expect(startTestServer({}, dataDir)).rejects.toThrow(/backup snapshot .* is damaged|not a database/);
    expect(readFileSync(join(dataDir, SNAPSHOT_FILE)).equals(Buffer.alloc(8192, 7))).toBe(true);
    expect(existsSync(join(dataDir, 'alexa-link.db'))).toBe(false);
  });
});
